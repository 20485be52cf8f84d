"""Dropping a websocket at once, for a peer that stopped reading.

A server closes a websocket by sending a close frame; to a peer that reads nothing the frame never
leaves: uvicorn waits for room in the socket's buffer before every send, close included, and a closed
transport still waits to flush what is buffered. So a socket the hub gave up on (app.http.hub) would stay
open, its writer stuck, for as long as the peer keeps the TCP connection alive. ASGI has no way to say
"drop this connection"; this middleware, next to the server, finds uvicorn's transport behind the
connection's `send` and puts its `abort` into the scope (`DROP`), where the hub can call it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

DROP = "switchboard.drop"  # the scope key of a websocket's `() -> None` that drops it at once


class ExposeDrop:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            transport: Any = getattr(getattr(send, "__self__", None), "transport", None)
            abort = getattr(transport, "abort", None)
            if callable(abort):
                scope[DROP] = abort
        await self.app(scope, receive, send)


def drop_of(scope: Scope) -> Callable[[], None] | None:
    found = scope.get(DROP)
    return found if callable(found) else None
