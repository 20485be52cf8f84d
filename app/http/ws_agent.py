"""`/ws/agent` and `/ws/supervisor`: first frame `{"type":"auth","token"}` (tokens never go in URLs).

Agents hear the events of their queues and their own tickets and set their presence; a dropped agent stays
available for a grace period, then goes away and their unanswered tickets go back to the queue.
Supervisors get a `queues` snapshot whenever a queue or an agent's state changes.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from app.actions import agents, tickets
from app.actions.agents import Principal
from app.actions.common import SUPERVISORS
from app.actions.context import Context
from app.actions.errors import ActionError
from app.bus import Event
from app.domain import queries
from app.http.frames import FrameError, receive_frame
from app.http.hub import Conn, Hub

AUTH_TIMEOUT_S = 10.0
SNAPSHOT_EVERY_S = 0.25
REFRESH = "_refresh"


async def _authenticate(ws: WebSocket, ctx: Context) -> Principal | None:
    try:
        frame = await asyncio.wait_for(receive_frame(ws, 4096), AUTH_TIMEOUT_S)
    except (FrameError, TimeoutError):
        frame = {}
    who = None
    if frame.get("type") == "auth" and isinstance(frame.get("token"), str):
        who = await agents.authenticate(ctx, frame["token"])
    if who is None:
        await ws.send_json(
            {"type": "error", "code": "unauthorized", "message": 'first frame: {"type":"auth","token":"..."}'}
        )
        await ws.close(code=4401)
    return who


async def agent_render(event: Event) -> list[dict[str, Any]]:
    data = {k: v for k, v in event.data.items() if k != "widget"}
    return [{"type": event.type, "seq": event.seq, "data": data}]


def schedule_grace(ctx: Context, hub: Hub, agent_id: int, generation: int) -> None:
    async def later() -> None:
        await asyncio.sleep(ctx.settings.presence_grace_s)
        if hub.agent_gone(agent_id, generation):
            await agents.set_presence(ctx, agent_id, "away")
            await tickets.requeue_unanswered(ctx, agent_id)

    ctx.spawn(later())


async def agent_socket(ws: WebSocket) -> None:
    app = ws.app
    ctx: Context = app.state.ctx
    hub: Hub = app.state.hub
    await ws.accept()
    try:
        who = await _authenticate(ws, ctx)
    except WebSocketDisconnect:
        return
    if who is None:
        return
    conn = Conn(ws, "agent", agent_render)
    hub.subscribe(conn, f"agent:{who.id}", *(f"queue:{q}" for q in sorted(who.queue_ids)))
    hub.agent_connected(who.id)
    app.state.metrics.sockets.labels("agent").inc()
    writer = asyncio.create_task(conn.writer())
    conn.push(
        {"type": "ready", "agent": {"id": who.id, "name": who.name, "email": who.email, "role": who.role}}
    )
    try:
        while True:
            try:
                frame = await receive_frame(ws, ctx.settings.max_frame_bytes)
            except FrameError as e:
                conn.push(e.frame())
                continue
            if frame["type"] == "status":
                try:
                    await agents.set_presence(ctx, who.id, str(frame.get("status")))
                except ActionError as e:
                    conn.push({"type": "error", "code": e.code, "message": e.message})
                    continue
                conn.push({"type": "status", "status": frame.get("status")})
            elif frame["type"] == "ping":
                conn.push({"type": "pong"})
            else:
                conn.push(FrameError("unknown_type", f"unknown frame type {frame['type'][:40]!r}").frame())
    except WebSocketDisconnect:
        pass
    finally:
        app.state.metrics.sockets.labels("agent").dec()
        hub.unsubscribe(conn)
        conn.close()
        writer.cancel()
        schedule_grace(ctx, hub, who.id, hub.agent_disconnected(who.id))


class SupervisorConn(Conn):
    def __init__(self, ws: WebSocket, ctx: Context) -> None:
        super().__init__(ws, "supervisor", self._render)
        self.ctx = ctx
        self._last = 0.0
        self._pending = False

    async def _render(self, event: Event) -> list[dict[str, Any]]:
        if event.type != REFRESH and time.monotonic() - self._last < SNAPSHOT_EVERY_S:
            if not self._pending:  # coalesce a burst into one snapshot shortly after
                self._pending = True
                asyncio.get_running_loop().call_later(SNAPSHOT_EVERY_S, self.push, Event(REFRESH, 0, {}))
            return []
        self._pending = False
        self._last = time.monotonic()
        async with self.ctx.db.read() as s:
            return [{"type": "queues", "data": await queries.queue_stats(s)}]


async def supervisor_socket(ws: WebSocket) -> None:
    app = ws.app
    ctx: Context = app.state.ctx
    hub: Hub = app.state.hub
    await ws.accept()
    try:
        who = await _authenticate(ws, ctx)
    except WebSocketDisconnect:
        return
    if who is None:
        return
    if not who.is_supervisor:
        await ws.send_json({"type": "error", "code": "forbidden", "message": "supervisors and admins only"})
        await ws.close(code=4403)
        return
    conn = SupervisorConn(ws, ctx)
    hub.subscribe(conn, SUPERVISORS)
    app.state.metrics.sockets.labels("supervisor").inc()
    writer = asyncio.create_task(conn.writer())
    conn.push(Event(REFRESH, 0, {}))
    try:
        while True:
            try:
                frame = await receive_frame(ws, 4096)
            except FrameError as e:
                conn.push(e.frame())
                continue
            if frame["type"] == "ping":
                conn.push({"type": "pong"})
    except WebSocketDisconnect:
        pass
    finally:
        app.state.metrics.sockets.labels("supervisor").dec()
        hub.unsubscribe(conn)
        conn.close()
        writer.cancel()
