"""The in-process bus: publish hands each event straight to this process's sockets."""

from __future__ import annotations

from collections.abc import Sequence

from app.bus.base import Deliver, Event


class MemoryBus:
    def __init__(self) -> None:
        self._deliver: Deliver | None = None

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver

    async def publish(self, events: Sequence[Event]) -> None:
        if self._deliver is None:
            return
        for event in events:
            self._deliver(event)

    async def close(self) -> None:
        self._deliver = None
