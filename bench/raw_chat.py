"""The raw-stack reference for bench/chat_path.py and bench/webhooks.py: what uvicorn + Starlette +
SQLite can do with none of Switchboard's work. It speaks just enough of the same protocol for the same
clients: a login that returns a token, an agent socket, widgets whose first message "assigns" them, and
every later message inserted into one SQLite table by a group-commit writer thread (one transaction per
batch, WAL), then acked and sent to the agent socket; a Twilio SMS webhook whose signature is checked
(Twilio's own validator) and whose text goes through the same writer before an empty TwiML answer; and a
raw mail (`/api/email/inbound`) stored as it came through the same writer. No customers, tickets, history,
bot, routing, authorisation or bus.

Run:  python bench/raw_chat.py DB_PATH PORT   (bench/chat_path.py starts it itself)
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from twilio.request_validator import RequestValidator

# bench/webhooks.py signs with this token and this public URL's path
TWILIO_TOKEN = "bench-twilio-token"

AGENTS: set[WebSocket] = set()
PENDING: asyncio.Queue[tuple[str, str, asyncio.Future[int]]] = asyncio.Queue()


def open_db(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, client_id TEXT UNIQUE, body TEXT)"
    )
    return db


def write(db: sqlite3.Connection, rows: list[tuple[str, str]]) -> list[int]:
    db.execute("BEGIN")
    insert = "INSERT INTO messages (client_id, body) VALUES (?, ?)"
    ids = [db.execute(insert, row).lastrowid or 0 for row in rows]
    db.execute("COMMIT")
    return ids


async def writer(db: sqlite3.Connection) -> None:
    while True:
        batch = [await PENDING.get()]
        while not PENDING.empty() and len(batch) < 256:
            batch.append(PENDING.get_nowait())
        ids = await asyncio.to_thread(write, db, [(c, b) for c, b, _ in batch])
        for (_c, _b, future), row_id in zip(batch, ids, strict=True):
            future.set_result(row_id)


async def stored(client_id: str, body: str) -> int:
    """The row id, once the writer committed the batch that holds it."""
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    PENDING.put_nowait((client_id, body, future))
    return await future


async def sms(request: Request) -> Response:
    params = {k: str(v) for k, v in (await request.form()).items()}
    url = str(request.url)
    if not RequestValidator(TWILIO_TOKEN).validate(
        url, params, request.headers.get("X-Twilio-Signature", "")
    ):
        return Response(status_code=403)
    await stored(params["MessageSid"], params.get("Body", ""))
    return Response("<?xml version='1.0' encoding='UTF-8'?><Response />", media_type="application/xml")


async def mail(request: Request) -> JSONResponse:
    """A raw mail, stored as it came (no parsing, no token check)."""
    body = await request.body()
    message_id = await stored(hashlib.sha256(body).hexdigest(), body.decode(errors="replace"))
    return JSONResponse({"message_id": message_id}, status_code=201)


async def token(request: Request) -> JSONResponse:
    return JSONResponse({"token": "raw"})


async def broadcast(frame: dict[str, Any]) -> None:
    text = json.dumps(frame)
    for ws in list(AGENTS):
        await ws.send_text(text)


async def agent(ws: WebSocket) -> None:
    await ws.accept()
    AGENTS.add(ws)
    try:
        while True:
            await ws.receive_text()
    except Exception:
        AGENTS.discard(ws)


async def chat(ws: WebSocket) -> None:
    await ws.accept()
    assigned = False
    try:
        while True:
            frame = json.loads(await ws.receive_text())
            if frame.get("type") == "hello":
                await ws.send_text(json.dumps({"type": "welcome", "visitor_token": "raw"}))
                continue
            if not assigned:
                assigned = True
                await broadcast({"type": "ticket.assigned", "data": {}})
                continue
            await stored(str(frame["client_id"]), str(frame["text"]))
            await ws.send_text(json.dumps({"type": "ack", "client_id": frame["client_id"]}))
            await broadcast({"type": "message.created", "data": {"body": frame["text"]}})
    except Exception:
        pass


def main() -> None:
    db = open_db(sys.argv[1])

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        task = asyncio.get_running_loop().create_task(writer(db))
        yield
        task.cancel()

    app = Starlette(
        routes=[
            Route("/api/auth/token", token, methods=["POST"]),
            Route("/twilio/sms", sms, methods=["POST"]),
            Route("/api/email/inbound", mail, methods=["POST"]),
            WebSocketRoute("/ws/agent", agent),
            WebSocketRoute("/ws/chat", chat),
            Route("/healthz", lambda r: JSONResponse({"status": "ok"})),
        ],
        lifespan=lifespan,
    )
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[2]),
        log_level="warning",
        ws="websockets-sansio",
        ws_per_message_deflate=False,
    )


if __name__ == "__main__":
    main()
