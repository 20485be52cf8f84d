"""What every action needs: the database, the bus, and the local subscribers (bot, router).

An action runs one write transaction and returns the events it caused; `Context.commit_events` publishes
them only after the commit, to the bus (every process's sockets) and to this process's subscribers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any

from app.actions.token_cache import TokenCache
from app.bus import Bus, Event
from app.db.engine import Database
from config.settings import Settings

if TYPE_CHECKING:
    from app.actions.agents import Principal
    from app.actions.inbound import InboundWriter

log = logging.getLogger(__name__)

# Called at once for every committed event of this process; returns None when the event is not its
# business, or the work to run in a task of its own. Most events concern no subscriber: deciding that in
# the call, rather than in a task per event and subscriber, keeps three tasks off every chat message.
Subscriber = Callable[[Event], Awaitable[object] | None]


class Context:
    def __init__(self, settings: Settings, db: Database, bus: Bus) -> None:
        self.settings = settings
        self.db = db
        self.bus = bus
        self.subscribers: list[Subscriber] = []
        # called at once, in order, for every committed event of this process (read models such as the board)
        self.observers: list[Callable[[Event], None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        # group commit of inbound messages, while the app runs (app.actions.inbound)
        self.inbound_writer: InboundWriter | None = None
        # who recently seen bearer tokens belong to (app.actions.token_cache)
        self.tokens: TokenCache[Principal] = TokenCache()

    def subscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.append(subscriber)

    async def publish(self, events: Sequence[Event]) -> None:
        """Hand committed events on; never raises (the data is already safe in the database)."""
        if not events:
            return
        for event in events:
            for observer in self.observers:
                try:
                    observer(event)
                except Exception:
                    log.exception("observer %r failed on %s", observer, event.type)
        try:
            await self.bus.publish(events)
        except Exception:
            log.exception("publishing %d events failed", len(events))
        for event in events:
            for subscriber in self.subscribers:
                try:
                    work = subscriber(event)
                except Exception:
                    log.exception("subscriber %r failed on %s", subscriber, event.type)
                    continue
                if work is not None:
                    self.spawn(self._run(subscriber, event, work))

    async def _run(self, subscriber: Subscriber, event: Event, work: Awaitable[object]) -> None:
        try:
            await work
        except Exception:
            log.exception("subscriber %r failed on %s", subscriber, event.type)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=2)
