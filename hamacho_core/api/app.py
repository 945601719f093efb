"""The FastAPI application: ``create_app(workspace, api_key, limits)``.

FastAPI gives the request validation, the multipart parsing and the OpenAPI schema (``/docs``,
``/openapi.json``) that a hand-written server would have to re-implement and keep in step with the code; the
``/docs`` and ``/redoc`` pages load their assets from this server (fastapi-offline), never from a CDN.

Errors always answer ``{"error": "..."}`` with a message that says what to do: 401 (key), 404 (unknown run, job,
project, result, picture or route), 413 (request or picture too large, too many files), 422 (invalid value), 409 (a
run that cannot be loaded, or one a job uses), 503 (the results store cannot be reached), 500 (a bug: logged here
with its traceback, never sent to the client).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartParser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hamacho_core import __version__
from hamacho_core.api.jobs import AppJobBackend, JobBackend
from hamacho_core.api.recording import StoreHandle
from hamacho_core.api.runs import ModelCache, NotFound, RunCatalog, RunInUse
from hamacho_core.api.settings import ApiLimits
from hamacho_core.errors import ConfigError, DataError, HamachoError, ModelFileError
from hamacho_core.store import ResultNotFound, ResultStore, StoreError
from hamacho_core.workspace import default_workspace

__all__ = ["PayloadTooLarge", "Unauthorized", "create_app"]

logger = logging.getLogger("hamacho.api")


class Unauthorized(HamachoError):
    """Missing or wrong API key."""


class PayloadTooLarge(HamachoError):
    """A request, picture or file count over the limits."""


_STATUS: list[tuple[type[HamachoError], int]] = [
    (Unauthorized, 401), (NotFound, 404), (PayloadTooLarge, 413), (ConfigError, 422), (DataError, 422),
    (ModelFileError, 409), (ResultNotFound, 404), (StoreError, 503), (RunInUse, 409)]


def _status_of(error: HamachoError) -> int:
    return next((status for kind, status in _STATUS if isinstance(error, kind)), 400)


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


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


def _validation_message(error: RequestValidationError) -> str:
    parts = []
    for item in error.errors()[:5]:
        where = ".".join(str(p) for p in item.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where or 'request'}: {item.get('msg', 'invalid')}")
    return "invalid request: " + "; ".join(parts) + " (see /docs for the expected fields)"


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HamachoError)
    async def hamacho_error(request: Request, error: HamachoError) -> JSONResponse:
        status = _status_of(error)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return error_response(status, str(error), headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        return error_response(422, _validation_message(error))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        message = str(error.detail)
        if error.status_code == 404 and message == "Not Found":
            message = f"no such endpoint {request.url.path}: see /docs for the API"
        elif error.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}: see /docs for the API"
        return error_response(error.status_code, message, getattr(error, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        logger.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, f"internal error ({type(error).__name__}): the server log has the details; "
                                   "please report it with the request that caused it")


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
    from hamacho_core.api import dataset, doctor, labels, results, routes, run_admin

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
    _install_error_handlers(app)
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
