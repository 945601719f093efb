"""The FastAPI application: ``create_app(workspace, api_key, limits)``.

FastAPI gives the request validation, the multipart parsing and the OpenAPI schema (``/docs``,
``/openapi.json``) that a hand-written server would have to re-implement and keep in step with the code; the
``/docs`` and ``/redoc`` pages load their assets from this server (fastapi-offline), never from a CDN.

FastAPI's "bigger applications" layout: the endpoints are in :mod:`~hamacho_core.api.routes`, the errors and their
handlers in :mod:`~hamacho_core.api.errors` (every error answers ``{"error": "..."}`` with a message that says
what to do); this module wires them with the key check and the body limit.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi_offline import FastAPIOffline
from starlette.formparsers import MultiPartParser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hamacho_core import __version__
from hamacho_core.api import dataset, doctor, labels, results, routes, run_admin
from hamacho_core.api.errors import PayloadTooLarge, Unauthorized, error_response, install_error_handlers
from hamacho_core.api.jobs import AppJobBackend, JobBackend
from hamacho_core.api.recording import StoreHandle
from hamacho_core.api.runs import ModelCache, RunCatalog
from hamacho_core.api.settings import ApiLimits
from hamacho_core.store import ResultStore
from hamacho_core.workspace import default_workspace

__all__ = ["PayloadTooLarge", "Unauthorized", "create_app"]

class BodyLimit:
    """ASGI middleware: read the request body into memory up to ``max_bytes``; answer 413 beyond it.

    The body is then replayed to the app, so uploads never touch the disk (multipart parts are spooled in memory
    up to the same size, see ``create_app``).
    """

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body, sent = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = (f"request larger than {self.max_bytes:,} bytes: send fewer or smaller pictures per request, "
                   "or raise HAMACHO_MAX_UPLOAD_BYTES")
        await error_response(413, message, {"Connection": "close"})(scope, receive, send)


_BEARER = HTTPBearer(auto_error=False, description="HAMACHO_API_KEY as a bearer token")


class KeyCheck:
    """Dependency: the bearer key, compared in constant time (no check when the server has no key)."""

    def __init__(self, api_key: str | None):
        self._expected = api_key.encode("utf-8") if api_key else None

    def __call__(self, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]) -> None:
        if self._expected is None:
            return
        given = credentials.credentials.encode("utf-8") if credentials else b""
        if not hmac.compare_digest(given, self._expected):
            raise Unauthorized("missing or wrong API key: send the header `Authorization: Bearer $HAMACHO_API_KEY`")


def create_app(
    workspace: str | Path | None = None,
    api_key: str | None = None,
    limits: ApiLimits | None = None,
    *,
    cache_size: int = 4,
    accelerator: str = "auto",
    jobs: JobBackend | None = None,
    store: ResultStore | None = None,
    record: bool | None = None,
    run_paths: Sequence[str | Path] = (),
) -> FastAPI:
    """Build the API over a workspace.

    Args:
        workspace: the app's workspace folder (default ``HAMACHO_HOME`` or ``./workspace``).
        api_key: bearer key required on everything but ``/health``; None = no key (serve on loopback only).
        limits: input limits (default from the environment, :meth:`ApiLimits.from_env`).
        cache_size: loaded runs kept in memory (least recently used evicted).
        accelerator: device for loaded runs ("cpu" | "gpu" | "auto").
        jobs: the training job system (default: the app's).
        store: the results store (default: ``HAMACHO_DATABASE_URL`` or SQLite in the workspace, opened on first use).
        record: record predictions (default: ``HAMACHO_RECORD_RESULTS``, on unless set to 0).
        run_paths: run folders or results roots served beside the workspace's runs (:class:`RunCatalog`).

    Returns:
        The ASGI application.
    """
    root = Path(workspace).expanduser().resolve() if workspace else default_workspace()
    limits = limits or ApiLimits.from_env()
    # Multipart parts stay in memory up to the request limit (Starlette's default spools them to disk beyond 1 MB).
    MultiPartParser.spool_max_size = max(MultiPartParser.spool_max_size, limits.max_upload_bytes + 1)
    models = ModelCache(cache_size, accelerator)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        models.close()
        app.state.store.close()

    # FastAPIOffline: /docs (Swagger UI) and /redoc load their scripts and styles from this server, not a CDN, so
    # they work offline and on a line network.
    app = FastAPIOffline(title="Hamacho API", version=__version__, lifespan=lifespan,
                         description="Visual anomaly detection: list trained runs, score pictures, start training.")
    app.state.workspace, app.state.limits, app.state.models = root, limits, models
    app.state.jobs = jobs or AppJobBackend(root)
    app.state.store = StoreHandle(root, store, record)
    app.state.runs = RunCatalog(root, run_paths)
    install_error_handlers(app)
    app.include_router(routes.health)
    key = [Depends(KeyCheck(api_key))]
    app.include_router(routes.v1, prefix="/v1", dependencies=key)
    app.include_router(results.router, prefix="/v1", dependencies=key, responses=routes.ERRORS)
    app.include_router(run_admin.router, prefix="/v1", dependencies=key, responses=routes.ERRORS)
    app.include_router(dataset.router, prefix="/v1", dependencies=key, responses=routes.ERRORS)
    app.include_router(labels.router, prefix="/v1", dependencies=key)
    app.include_router(doctor.router, prefix="/v1", dependencies=key)
    app.add_middleware(BodyLimit, max_bytes=limits.max_upload_bytes)
    return app
