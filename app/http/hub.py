"""This process's sockets, by topic, and the delivery of bus events to them.

Each socket has one writer task fed by a bounded queue, so a slow client never stalls the others; one that
falls too far behind is closed (1013) and catches up from the database when it reconnects. One that stopped
reading altogether, so that not even the close frame gets through, is dropped `STUCK_S` later
(app.http.drop).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.websockets import WebSocket, WebSocketState

from app.bus import GAP, Event
from app.http.drop import drop_of
from app.http.metrics import Metrics

log = logging.getLogger(__name__)
QUEUE_LIMIT = 2000
STUCK_S = 2.0  # after falling behind, how long the writer has to close the socket before it is dropped

Render = Callable[[Event], Awaitable[list[dict[str, Any]]]]


class Conn:
    """One socket: what it listens to and how it turns events into frames."""

    def __init__(self, ws: WebSocket, kind: str, render: Render) -> None:
        self.ws = ws
        self.kind = kind
        self.render = render
        self.topics: set[str] = set()
        self.queue: asyncio.Queue[Event | dict[str, Any] | None] = asyncio.Queue(QUEUE_LIMIT)
        self.overflowed = False
        self.finished = False  # the writer is done: the socket is closed or closing

    def push(self, item: Event | dict[str, Any]) -> bool:
        """Queue an event or a frame; False when this one made the socket fall too far behind."""
        if self.overflowed:
            return True
        try:
            self.queue.put_nowait(item)
            return True
        except asyncio.QueueFull:
            self.overflowed = True
            with contextlib.suppress(asyncio.QueueFull):
                self.queue.get_nowait()
                self.queue.put_nowait(None)  # tells the writer to close
            asyncio.get_running_loop().call_later(STUCK_S, self._drop_if_stuck)
            return False

    def _drop_if_stuck(self) -> None:
        """The writer did not get to close the socket: the peer reads nothing, drop the connection."""
        drop = drop_of(self.ws.scope)
        if not self.finished and drop is not None:
            log.info("%s socket reads nothing; dropping the connection", self.kind)
            drop()

    async def writer(self) -> None:
        """Send what is queued, in order. A failure is logged and closes the socket: the client reconnects
        and catches up from the database rather than waiting on a socket that no longer delivers."""
        try:
            await self._write()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s socket writer failed; closing the socket", self.kind)
            with contextlib.suppress(Exception):
                await self.ws.close(code=1011, reason="server error: reconnect")
        finally:
            self.finished = True

    async def _write(self) -> None:
        while True:
            item = await self.queue.get()
            if item is None:
                if self.overflowed:
                    await self.ws.close(code=1013, reason="too slow: reconnect to catch up")
                return
            if isinstance(item, Event) and item.type == GAP:
                await self.ws.close(code=1012, reason="missed events: reconnect to catch up")
                return
            if isinstance(item, Event) and item.type == "auth.revoked":
                await self.ws.send_json({"type": "error", "code": "unauthorized", "message": "signed out"})
                await self.ws.close(code=4401, reason="token revoked")
                return
            frames = [item] if isinstance(item, dict) else await self.render(item)
            for frame in frames:
                if self.ws.application_state != WebSocketState.CONNECTED:
                    return
                await self.ws.send_json(frame)

    def close(self) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)


class Hub:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self._by_topic: dict[str, set[Conn]] = {}
        self._agents: dict[int, int] = {}  # agent id -> open sockets in this process
        self._agent_gen: dict[int, int] = {}
        self.listeners: list[Callable[[Event], None]] = []

    def subscribe(self, conn: Conn, *topics: str) -> None:
        for topic in topics:
            conn.topics.add(topic)
            self._by_topic.setdefault(topic, set()).add(conn)

    def unsubscribe_topic(self, conn: Conn, topic: str) -> None:
        conn.topics.discard(topic)
        subs = self._by_topic.get(topic)
        if subs is not None:
            subs.discard(conn)
            if not subs:
                del self._by_topic[topic]

    def unsubscribe(self, conn: Conn) -> None:
        for topic in conn.topics:
            subs = self._by_topic.get(topic)
            if subs is not None:
                subs.discard(conn)
                if not subs:
                    del self._by_topic[topic]
        conn.topics.clear()

    def deliver(self, event: Event) -> None:
        """Called by the bus for every event, on every process. After a gap in the bus (GAP) every socket
        of this process is closed (1012): its client reconnects and catches up from the database."""
        self.metrics.events.labels(event.type).inc()
        seen: set[Conn] = set()
        topics = list(self._by_topic) if event.type == GAP else event.topics
        for topic in topics:
            for conn in self._by_topic.get(topic, ()):
                if conn not in seen:
                    seen.add(conn)
                    if not conn.push(event):
                        self.metrics.dropped.inc()
        for listener in self.listeners:
            listener(event)

    # presence bookkeeping: the sockets each agent has open in this process
    def agent_connected(self, agent_id: int) -> None:
        self._agents[agent_id] = self._agents.get(agent_id, 0) + 1
        self._agent_gen[agent_id] = self._agent_gen.get(agent_id, 0) + 1

    def agent_disconnected(self, agent_id: int) -> int:
        """Returns a generation number; the agent is gone for good if it is unchanged after the grace."""
        self._agents[agent_id] = max(0, self._agents.get(agent_id, 0) - 1)
        self._agent_gen[agent_id] = self._agent_gen.get(agent_id, 0) + 1
        return self._agent_gen[agent_id]

    def agent_gone(self, agent_id: int, generation: int) -> bool:
        return self._agents.get(agent_id, 0) == 0 and self._agent_gen.get(agent_id) == generation

    def online_agents(self) -> list[int]:
        """The agents with at least one socket open in this process."""
        return [agent_id for agent_id, n in self._agents.items() if n > 0]

    def agent_online(self, agent_id: int) -> bool:
        return self._agents.get(agent_id, 0) > 0
