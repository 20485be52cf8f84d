"""Errors an action raises for input it refuses; the HTTP and websocket layers turn them into 4xx."""

from __future__ import annotations


class ActionError(Exception):
    status = 400
    code = "invalid"
    headers: dict[str, str] | None = None  # HTTP headers of the answer (e.g. Retry-After)

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class Invalid(ActionError):
    status = 400
    code = "invalid"


class NotFound(ActionError):
    status = 404
    code = "not_found"


class Forbidden(ActionError):
    status = 403
    code = "forbidden"


class Conflict(ActionError):
    status = 409
    code = "conflict"
