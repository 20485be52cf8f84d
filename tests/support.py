"""Test support: a real Switchboard server on loopback (uvicorn, real sockets) and real websocket and
HTTP clients."""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import uvicorn
import websockets

from app.actions.agents import create_agent
from app.actions.context import Context
from app.actions.faq import import_rows
from app.db.migrate import upgrade
from app.serve import uvicorn_config
from channels.base import InboundMessage
from channels.sms import parse_sms
from config.settings import Settings

PG_ADMIN = os.environ.get("SWITCHBOARD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("SWITCHBOARD_TEST_REDIS", "redis://127.0.0.1:6379/15")

FAQ = [
    ("How do I reset my password?", "Open Settings > Security and choose Reset password."),
    ("I forgot my password", "Open Settings > Security and choose Reset password."),
    ("Can't log in. need a new password", "Open Settings > Security and choose Reset password."),
    ("What are your opening hours?", "We are open 9am to 5pm Monday to Friday."),
    ("When are you open?", "We are open 9am to 5pm Monday to Friday."),
    ("How do I cancel my subscription?", "Go to Billing > Plan and press Cancel plan."),
]

# one TLS context for the tests' HTTP clients: httpx builds (and loads the CA bundle into) a new one for every
# client otherwise, 46 ms each; the servers here are plain HTTP on loopback anyway
TLS = ssl.create_default_context()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """The real app under uvicorn on a free loopback port, in this test's event loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.base = f"http://127.0.0.1:{settings.port}"
        self.ws_base = f"ws://127.0.0.1:{settings.port}"
        self.server = uvicorn.Server(uvicorn_config(settings, log_level="warning"))
        self.task: asyncio.Task[None] | None = None

    @property
    def ctx(self) -> Context:
        ctx: Context = self._app.state.ctx
        return ctx

    @property
    def _app(self) -> Any:
        return self.server.config.app

    async def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve())
        deadline = time.monotonic() + 20
        while not self.server.started:
            if self.task.done():
                self.task.result()
                raise RuntimeError("server stopped during start")
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start in 20 s")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is None:
            return
        done, _ = await asyncio.wait({self.task}, timeout=15)
        if not done:  # say where it is stuck: every task's stack, in the test's report
            stacks = io.StringIO()
            for task in asyncio.all_tasks():
                task.print_stack(limit=8, file=stacks)
            self.task.cancel()
            raise TimeoutError(f"the server did not stop within 15 s; its tasks:\n{stacks.getvalue()}")
        self.task.result()

    async def add_agent(self, email: str, name: str, password: str = "pw-secret-123", **kw: Any) -> int:
        agent = await create_agent(self.ctx, email=email, name=name, password=password, **kw)
        return agent.id

    async def import_faq(self, rows: list[tuple[str, str]] = FAQ) -> None:
        await import_rows(self.ctx, rows, replace=True)
        self._app.state.bot.invalidate()  # reload now rather than within the refresh period

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.base, headers=headers, timeout=15, verify=TLS)

    async def token(self, email: str, password: str = "pw-secret-123") -> tuple[str, int]:
        async with self.client() as c:
            r = await c.post("/api/auth/token", json={"email": email, "password": password})
            r.raise_for_status()
            body = r.json()
            return body["token"], body["agent"]["id"]

    async def agent_socket(self, token: str, status: str | None = "available") -> WS:
        ws = await WS.open(self.ws_base + "/ws/agent")
        await ws.send({"type": "auth", "token": token})
        assert await ws.wait_for(lambda f: f.get("type") == "ready"), ws.frames
        if status:
            await ws.send({"type": "status", "status": status})
            assert await ws.wait_for(lambda f: f.get("type") == "status"), ws.frames
        return ws

    async def widget(self, **hello: Any) -> tuple[WS, dict[str, Any]]:
        ws = await WS.open(self.ws_base + "/ws/chat")
        await ws.send({"type": "hello", **hello})
        welcome = await ws.wait_for(lambda f: f.get("type") == "welcome")
        assert welcome, ws.frames
        return ws, welcome


class WS:
    """A websocket client that keeps every JSON frame it receives."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.frames: list[dict[str, Any]] = []
        self.closed: asyncio.Event = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, url: str) -> WS:
        return cls(await websockets.connect(url, open_timeout=10, max_size=2**22))

    async def _read(self) -> None:
        try:
            async for raw in self.conn:
                self.frames.append(json.loads(raw))
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed.set()

    async def send(self, obj: Any) -> None:
        await self.conn.send(obj if isinstance(obj, str) else json.dumps(obj))

    async def wait_for(
        self,
        pred: Callable[[dict[str, Any]], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - a polling helper: the deadline is the point
        start: int = 0,
    ) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        seen = start
        while True:
            while seen < len(self.frames):
                frame = self.frames[seen]
                seen += 1
                if pred(frame):
                    return frame
            if time.monotonic() > deadline or self._reader.done():
                return None
            await asyncio.sleep(0.01)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f.get("type") == kind]

    async def close(self) -> None:
        await self.conn.close()
        await asyncio.wait_for(self.closed.wait(), 5)


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[LiveServer]:
    """A live server on a database brought to the current schema, stopped at the end."""
    await upgrade(settings.database_url)
    live = LiveServer(settings)
    await live.start()
    try:
        yield live
    finally:
        await live.stop()


def make_settings(database_url: str, **kw: Any) -> Settings:
    return replace(
        Settings(), database_url=database_url, port=free_port(), smtp_port=0, presence_grace_s=1.0, **kw
    )


def sms_text(n: int, sender: str, body: str | None = None) -> InboundMessage:
    """An inbound SMS as Twilio's webhook would bring it, numbered `n` (its MessageSid)."""
    return parse_sms(
        {"MessageSid": f"SM{n:032d}", "AccountSid": "AC" + "0" * 32, "From": sender, "To": "+15005550006",
         "Body": f"text {n}" if body is None else body, "NumMedia": "0"}
    )  # fmt: skip


async def customer_texts(database_url: str) -> list[tuple[str, str]]:
    """What customers sent, as stored: (channel, text) sorted, the text of a mail being its subject."""
    from sqlalchemy import select

    from app.db.engine import Database
    from app.domain.models import Message

    db = Database(database_url)
    try:
        async with db.read() as s:
            rows = (
                await s.execute(
                    select(Message.channel, Message.body, Message.meta).where(Message.author == "customer")
                )
            ).all()
    finally:
        await db.close()
    return sorted(
        (channel, str((meta or {}).get("subject") if channel == "email" else body).strip())
        for channel, body, meta in rows
    )
