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
from app.actions.access import check_ticket
from app.actions.agents import Principal
from app.actions.common import SUPERVISORS
from app.actions.context import Context
from app.actions.errors import ActionError
from app.bus import Event
from app.domain import queries
from app.domain.board import Board
from app.domain.models import Ticket
from app.http.frames import FrameError, receive_frame
from app.http.hub import Conn, Hub

AUTH_TIMEOUT_S = 10.0
VIEW_STATES = ("viewing", "replying", "left")
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
        if who is not None:
            ws.state.token_topic = agents.token_topic(frame["token"])
    if who is None:
        await ws.send_json(
            {"type": "error", "code": "unauthorized", "message": 'first frame: {"type":"auth","token":"..."}'}
        )
        await ws.close(code=4401)
    return who


class AgentConn(Conn):
    """An agent's socket: the events of their queues and tickets, and of the tickets they are viewing."""

    def __init__(self, ws: WebSocket, ctx: Context, hub: Hub, who: Principal) -> None:
        super().__init__(ws, "agent", self._render)
        self.ctx = ctx
        self.hub = hub
        self.who = who
        self.viewing: int | None = None
        self.view_state = "viewing"
        self.peers: set[int] = set()  # other agents known to be on the ticket this socket views
        hub.subscribe(self, f"agent:{who.id}", *(f"queue:{q}" for q in sorted(who.queue_ids)))

    async def _render(self, event: Event) -> list[dict[str, Any]]:
        if event.type == "agent.updated" and event.data.get("agent_id") == self.who.id:
            # a supervisor changed this agent's queues: listen to the new ones from now on
            for topic in [t for t in self.topics if t.startswith("queue:")]:
                self.hub.unsubscribe_topic(self, topic)
            self.hub.subscribe(self, *(f"queue:{q}" for q in event.data.get("queue_ids", [])))
        if event.type == "ticket.viewing":
            self._meet(event.data)
        data = {k: v for k, v in event.data.items() if k != "widget"}
        return [{"type": event.type, "seq": event.seq, "data": data}]

    def _meet(self, data: dict[str, Any]) -> None:
        """A newcomer on our ticket has not heard of us yet: announce once more (each side does this once
        per peer, so it ends)."""
        peer = data.get("agent_id")
        if data.get("ticket_id") != self.viewing or peer == self.who.id or not isinstance(peer, int):
            return
        if data.get("state") == "left":
            self.peers.discard(peer)
        elif peer not in self.peers and self.viewing is not None:
            self.peers.add(peer)
            self.ctx.spawn(self._announce(self.ctx, self.viewing, self.view_state))

    async def view(self, ctx: Context, ticket_id: int | None, state: str) -> None:
        """Announce to the other agents on this ticket that this agent views it, replies, or left."""
        if self.viewing is not None and self.viewing != ticket_id:
            await self._announce(ctx, self.viewing, "left")
            self.hub.unsubscribe_topic(self, f"ticket:{self.viewing}")
            self.viewing = None
            self.peers.clear()
        if ticket_id is None or state == "left":
            return
        async with ctx.db.read() as s:
            check_ticket(self.who, await s.get(Ticket, ticket_id), ticket_id)
        self.viewing = ticket_id
        self.view_state = state
        self.hub.subscribe(self, f"ticket:{ticket_id}")
        await self._announce(ctx, ticket_id, state)

    async def _announce(self, ctx: Context, ticket_id: int, state: str) -> None:
        data = {"ticket_id": ticket_id, "agent_id": self.who.id, "agent_name": self.who.name, "state": state}
        await ctx.bus.publish([Event("ticket.viewing", 0, data, (f"ticket:{ticket_id}",))])


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
    conn = AgentConn(ws, ctx, hub, who)
    hub.subscribe(conn, ws.state.token_topic)
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
            elif frame["type"] == "viewing":
                ticket_id, state = frame.get("ticket_id"), frame.get("state", "viewing")
                if (
                    ticket_id is not None and (isinstance(ticket_id, bool) or not isinstance(ticket_id, int))
                ) or (state not in VIEW_STATES):
                    conn.push(FrameError("bad_viewing", "viewing needs a ticket_id and a state").frame())
                    continue
                try:
                    await conn.view(ctx, ticket_id, state)
                except ActionError as e:
                    conn.push({"type": "error", "code": e.code, "message": e.message})
            elif frame["type"] == "ping":
                conn.push({"type": "pong"})
            else:
                conn.push(FrameError("unknown_type", f"unknown frame type {frame['type'][:40]!r}").frame())
    except WebSocketDisconnect:
        pass
    finally:
        if conn.viewing is not None:
            await conn.view(ctx, None, "left")
        app.state.metrics.sockets.labels("agent").dec()
        hub.unsubscribe(conn)
        conn.close()
        writer.cancel()
        schedule_grace(ctx, hub, who.id, hub.agent_disconnected(who.id))


class SupervisorConn(Conn):
    def __init__(self, ws: WebSocket, ctx: Context, board: Board) -> None:
        super().__init__(ws, "supervisor", self._render)
        self.ctx = ctx
        self.board = board
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
            return [
                {"type": "queues", "data": await queries.queue_stats(s, self.board)},
                {"type": "agents", "data": await queries.list_agents(s)},
            ]


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
    conn = SupervisorConn(ws, ctx, ws.app.state.board)
    hub.subscribe(conn, SUPERVISORS, ws.state.token_topic)
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
