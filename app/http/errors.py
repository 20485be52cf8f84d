"""The API's error shape, `{"error": {"code", "message"}}` with a 4xx status, and the handlers that make
every failure take it (a 500 only for our own bugs, logged)."""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.actions.errors import ActionError
from app.db.engine import unavailable

log = logging.getLogger(__name__)
MAX_JSON_BYTES = 1024 * 1024


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


async def on_api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return error_response(exc.status, exc.code, exc.message, headers)


async def on_action_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ActionError)
    return error_response(exc.status, exc.code, exc.message, exc.headers)


async def on_http_exception(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail), dict(exc.headers or {}))


async def on_database_error(request: Request, exc: Exception) -> Response:
    """The database (or another service the request needs) is away for a moment: restarting, unreachable,
    busy. 503 with Retry-After, so callers that retry (Twilio, relays, the console) do; any other database
    error is ours, a 500."""
    if not unavailable(exc):
        return await on_unexpected(request, exc)
    log.warning("unavailable on %s %s: %r", request.method, request.url.path, exc)
    return error_response(
        503,
        "unavailable",
        "a service this request needs is unavailable; try again shortly",
        {"Retry-After": "5"},
    )


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal", "internal error")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, or a 413 as soon as it passes `limit` bytes (nothing more is read)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiError(413, "too_large", f"request body over {limit} bytes")
    return bytes(body)


async def read_json(request: Request) -> dict[str, Any]:
    """The request's JSON object body, or a 400/413/415 ApiError."""
    ctype = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if ctype not in ("application/json", "") and not ctype.endswith("+json"):
        raise ApiError(415, "unsupported_media_type", "send JSON (Content-Type: application/json)")
    body = await read_body(request, MAX_JSON_BYTES)
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise ApiError(400, "invalid_json", f"request body is not valid JSON: {e}") from e
    if not isinstance(value, dict):
        raise ApiError(400, "invalid_json", "request body must be a JSON object")
    return value


def path_id(request: Request, key: str, name: str | None = None) -> int:
    """The id in the path parameter `key` (400 if not a number, 404 if out of range); `name` for messages,
    by default the key with spaces ("customer_id": "customer id")."""
    value = int_param(request.path_params[key], name or key.replace("_", " "))
    assert value is not None
    return value


def int_param(raw: str | None, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError as e:
        raise ApiError(400, "invalid", f"{name} must be a whole number") from e
    if not 0 < value < 2**62:
        raise ApiError(404 if name.endswith("id") else 400, "not_found", f"no such {name}")
    return value
