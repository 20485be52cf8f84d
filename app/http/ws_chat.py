"""`/ws/chat`: the widget's socket.

hello -> welcome -> replay of every message with seq > last_seq -> live messages; the customer's messages
are acked once committed. A connection delivers a conversation's messages in seq order, once: what it
missed between events (or before it subscribed) it reads from the database.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from sqlalchemy import select
from starlette.websockets import WebSocket, WebSocketDisconnect

from app.actions import chat, widget_identity
from app.actions.chat_writer import Author, ChatWriter
from app.actions.context import Context
from app.actions.errors import ActionError
from app.bus import Event
from app.domain.models import Agent, Message
from app.domain.views import widget_message
from app.http.frames import FrameError, opt_str, receive_frame
from app.http.hub import Conn, Hub
from app.http.ratelimit import Window

log = logging.getLogger(__name__)
HELLO_TIMEOUT_S = 30.0
TYPING_EVERY_S = 1.0
CATCH_UP = "_catch_up"


class WidgetConn(Conn):
    def __init__(self, ws: WebSocket, ctx: Context, last_seq: int) -> None:
        super().__init__(ws, "widget", self._render)
        self.ctx = ctx
        self.ticket_id: int | None = None
        self.last_sent = last_seq
        self.typing_at = 0.0

    async def _render(self, event: Event) -> list[dict[str, Any]]:
        if self.ticket_id is None:
            return []
        if event.type == CATCH_UP:
            return await self._from_db(None)
        frame = event.data.get("widget")
        if event.type != "message.created" or not frame or event.data.get("ticket_id") != self.ticket_id:
            return []
        seq = int(frame["seq"])
        if seq <= self.last_sent:
            return []
        frames = await self._from_db(seq - 1) if seq > self.last_sent + 1 else []
        if seq > self.last_sent:
            frames.append(frame)
            self.last_sent = seq
        return frames

    async def _from_db(self, upto: int | None) -> list[dict[str, Any]]:
        assert self.ticket_id is not None
        messages = await chat.replay(self.ctx, self.ticket_id, self.last_sent, upto)
        names = await _agent_names(self.ctx, messages)
        frames = [widget_message(m, names.get(m.agent_id) if m.agent_id else None) for m in messages]
        if messages:
            self.last_sent = max(self.last_sent, messages[-1].seq)
        if upto is not None:
            self.last_sent = max(self.last_sent, upto)
        return frames

    def follow(self, hub: Hub, ticket_id: int) -> None:
        """Listen to the conversation, then read what was committed before we listened."""
        if self.ticket_id == ticket_id:
            return
        self.ticket_id = ticket_id
        hub.subscribe(self, f"conversation:{ticket_id}")
        self.push(Event(CATCH_UP, 0, {}))


async def _agent_names(ctx: Context, messages: list[Message]) -> dict[int | None, str]:
    ids = {m.agent_id for m in messages if m.agent_id is not None}
    if not ids:
        return {}
    async with ctx.db.read() as s:
        rows = await s.execute(select(Agent.id, Agent.name).where(Agent.id.in_(ids)))
        return {aid: name for aid, name in rows.all()}


async def chat_socket(ws: WebSocket) -> None:
    app = ws.app
    ctx: Context = app.state.ctx
    hub: Hub = app.state.hub
    max_bytes = ctx.settings.max_frame_bytes
    await ws.accept()
    app.state.metrics.sockets.labels("widget").inc()
    conn: WidgetConn | None = None
    writer: asyncio.Task[None] | None = None
    try:
        try:
            hello = await asyncio.wait_for(receive_frame(ws, max_bytes), HELLO_TIMEOUT_S)
        except (FrameError, TimeoutError):
            await ws.send_json(
                {"type": "error", "code": "hello_required", "message": 'send {"type":"hello"} first'}
            )
            await ws.close(code=4400)
            return
        if hello.get("type") != "hello":
            await ws.send_json(
                {"type": "error", "code": "hello_required", "message": 'send {"type":"hello"} first'}
            )
            await ws.close(code=4400)
            return
        last_seq = hello.get("last_seq")
        if isinstance(last_seq, bool) or not isinstance(last_seq, int) or last_seq < 0:
            last_seq = 0
        token, name, email = (
            opt_str(hello, "visitor_token", 200) or None,
            opt_str(hello, "name", 200),
            opt_str(hello, "email"),
        )
        user_id, user_hash = opt_str(hello, "user_id", 200), opt_str(hello, "user_hash", 200)
        identified = bool(user_id) and widget_identity.verified(
            ctx.settings.widget_secret, user_id, user_hash
        )
        client = ws.client.host if ws.client else ""
        new_visitors: Window = app.state.new_visitors
        if identified:
            visitor: chat.Visitor | None = await widget_identity.hello_as_user(
                ctx, token, user_id, name, email
            )
        else:
            visitor = await chat.hello(ctx, token, name, email, create=new_visitors.retry_after(client) == 0)
        if visitor is None:
            await ws.send_json(
                {
                    "type": "error",
                    "code": "rate_limited",
                    "message": "too many new conversations from this address; try again in a few minutes",
                }
            )
            await ws.close(code=1013)
            return
        if visitor.token != token and not identified:
            new_visitors.hit(client)
        if visitor.token != hello.get("visitor_token"):
            last_seq = 0  # a new visitor has seen nothing
        conn = WidgetConn(ws, ctx, last_seq)
        await ws.send_json(
            {"type": "welcome", "visitor_token": visitor.token, "conversation_id": visitor.ticket_id}
        )
        writer = asyncio.create_task(conn.writer())
        if (user_id or user_hash) and not identified:
            conn.push(
                {
                    "type": "error",
                    "code": "bad_identity",
                    "message": "user_hash does not sign user_id, or the server has no widget secret: "
                    "you are an anonymous visitor",
                }
            )
        if visitor.ticket_id is not None:
            conn.follow(hub, visitor.ticket_id)
        author = Author(visitor.session_id, visitor.visitor_id, visitor.name)
        await _serve(ws, ctx, hub, conn, author, max_bytes)
    except WebSocketDisconnect:
        pass
    finally:
        app.state.metrics.sockets.labels("widget").dec()
        if conn is not None:
            hub.unsubscribe(conn)
            conn.close()
        if writer is not None:
            writer.cancel()


async def _serve(
    ws: WebSocket, ctx: Context, hub: Hub, conn: WidgetConn, author: Author, max_bytes: int
) -> None:
    metrics = ws.app.state.metrics
    writer: ChatWriter = ws.app.state.chat_writer
    limit = ctx.settings.widget_messages_per_10s
    sent_here = Window(limit, 10.0, keys=1)  # this socket's messages
    while True:
        try:
            frame = await receive_frame(ws, max_bytes)
        except FrameError as e:
            metrics.frame_errors.labels("widget", e.code).inc()
            conn.push(e.frame())
            continue
        metrics.frames_in.labels("widget").inc()
        kind = frame["type"]
        if kind == "message":
            text, client_id = frame.get("text"), frame.get("client_id")
            if not isinstance(text, str) or not isinstance(client_id, str):
                conn.push(FrameError("bad_message", "a message needs string text and client_id").frame())
                continue
            if sent_here.retry_after("") > 0:
                message = f"over {limit} messages in 10 seconds: send it again in a moment"
                conn.push(
                    {"type": "error", "code": "rate_limited", "message": message, "client_id": client_id}
                )
                continue
            sent_here.hit("")
            try:
                sent = await writer.submit(author, conn.ticket_id, text, client_id)
            except ActionError as e:
                conn.push({"type": "error", "code": e.code, "message": e.message, "client_id": client_id})
                continue
            conn.follow(hub, sent.ticket_id)
            conn.push({"type": "ack", "client_id": client_id, "seq": sent.seq, "id": sent.message_id})
        elif kind == "typing":
            now = time.monotonic()
            if conn.ticket_id is not None and now - conn.typing_at >= TYPING_EVERY_S:
                conn.typing_at = now
                # ephemeral: straight to the agents viewing the ticket, nothing stored
                event = Event(
                    "customer.typing", 0, {"ticket_id": conn.ticket_id}, (f"ticket:{conn.ticket_id}",)
                )
                await ctx.bus.publish([event])
        elif kind == "ping":
            conn.push({"type": "pong"})
        else:
            conn.push(FrameError("unknown_type", f"unknown frame type {kind[:40]!r}").frame())
