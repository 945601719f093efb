"""The API's errors: the exception types of its own, their HTTP status, and the handlers that answer them.

Errors always answer ``{"error": "..."}`` with a message that says what to do: 401 (key), 404 (unknown run, job,
project, result, picture or route), 413 (request or picture too large, too many files), 422 (invalid value), 409 (a
run that cannot be loaded, or one a job uses), 503 (the results store cannot be reached), 500 (a bug: logged here
with its traceback, never sent to the client).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from hamacho_core.api.runs import NotFound, RunInUse
from hamacho_core.errors import ConfigError, DataError, HamachoError, ModelFileError
from hamacho_core.store import ResultNotFound, StoreError

__all__ = ["PayloadTooLarge", "Unauthorized", "error_response", "install_error_handlers"]

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
    """``{"error": message}`` with ``status``."""
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _validation_message(error: RequestValidationError) -> str:
    parts = []
    for item in error.errors()[:5]:
        where = ".".join(str(p) for p in item.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where or 'request'}: {item.get('msg', 'invalid')}")
    return "invalid request: " + "; ".join(parts) + " (see /docs for the expected fields)"


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` as ``{"error": message}`` with its status (see the module's docstring)."""
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
