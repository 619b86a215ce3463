"""API errors: each has a stable `code`; the handlers turn them into `{"detail", "code"}`.

An unreachable Redis (scale-out mode) is a 503 `store_unavailable` with `Retry-After`.
Unexpected exceptions become a 500 that carries only the request's id (the one in its
`x-request-id` and its log records): never the exception's text, never a stack trace.
"""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from infra import logs

log = logging.getLogger("switchyard.server")


class ApiError(Exception):
    status = 400
    code = "bad_request"
    headers: dict[str, str] | None = None

    def __init__(self, detail: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class Unprocessable(ApiError):
    status = 422
    code = "invalid_request"


UNPARSEABLE_BODY = "Request body is not valid JSON: not UTF-8, or nested too deeply."
STORE_UNAVAILABLE = "The shared store (Redis) is unreachable; retry shortly. Nothing was lost."


def _validation_detail(exc: RequestValidationError) -> tuple[str, str]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return "Request body is not valid JSON.", "invalid_json"
    parts = []
    for e in errors[:5]:
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
        if e.get("type") == "extra_forbidden":
            parts.append(f"unknown field '{where}'")
        else:
            parts.append(f"{where or 'body'}: {e.get('msg', 'invalid')}")
    return "Invalid request: " + "; ".join(parts), "invalid_request"


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail, "code": exc.code}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail, code = _validation_detail(exc)
        return JSONResponse({"detail": detail, "code": code}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # FastAPI answers a body json.loads fails on with anything but JSONDecodeError (invalid UTF-8,
        # nesting past the parser's recursion limit) with a bare 400: it is malformed JSON like any other.
        if isinstance(exc.__cause__, UnicodeDecodeError | RecursionError):
            return JSONResponse({"detail": UNPARSEABLE_BODY, "code": "invalid_json"}, status_code=422)
        codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
        return JSONResponse(
            {"detail": exc.detail, "code": codes.get(exc.status_code, "http_error")},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    async def store_unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("Redis unreachable: %s %s (%s)", request.method, request.url.path, type(exc).__name__)
        return JSONResponse(
            {"detail": STORE_UNAVAILABLE, "code": "store_unavailable"}, status_code=503, headers={"Retry-After": "1"}
        )

    app.add_exception_handler(RedisConnectionError, store_unavailable)
    app.add_exception_handler(RedisTimeoutError, store_unavailable)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The id `server.middleware.RequestId` gave the request (a new one in an app without it).
        request_id = logs.request_id.get() or uuid.uuid4().hex
        log.exception("unhandled error", extra={"request_id": request_id, "path": request.url.path})
        return JSONResponse(
            {"detail": "Internal server error.", "code": "internal_error", "request_id": request_id},
            status_code=500,
            headers={"x-request-id": request_id},
        )
