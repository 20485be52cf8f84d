"""Reading JSON frames from a websocket: size limit, JSON object with a string `type`, clear errors."""

from __future__ import annotations

import json
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect


class FrameError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message

    def frame(self) -> dict[str, Any]:
        return {"type": "error", "code": self.code, "message": self.message}


async def receive_frame(ws: WebSocket, max_bytes: int) -> dict[str, Any]:
    """The next frame as a dict; FrameError for a bad one (the socket stays usable)."""
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    raw = message.get("text")
    if raw is None:
        raw_bytes = message.get("bytes") or b""
        if len(raw_bytes) > max_bytes:
            raise FrameError("too_large", f"frames are limited to {max_bytes} bytes")
        try:
            raw = raw_bytes.decode("utf-8")
        except UnicodeDecodeError:
            raise FrameError("bad_frame", "frames are UTF-8 JSON text") from None
    if len(raw) > max_bytes or len(raw.encode("utf-8", "surrogatepass")) > max_bytes:
        raise FrameError("too_large", f"frames are limited to {max_bytes} bytes")
    try:
        frame = json.loads(raw)
    except ValueError:
        raise FrameError("bad_json", "frames are JSON objects") from None
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise FrameError("bad_frame", 'frames are JSON objects with a string "type"')
    return frame


def opt_str(frame: dict[str, Any], key: str, limit: int = 320) -> str:
    value = frame.get(key)
    return value[:limit] if isinstance(value, str) else ""
