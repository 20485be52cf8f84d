"""Events and the bus interface.

An event says what changed (its type), to whom it matters (topics such as `agent:7`, `queue:2`,
`conversation:41`, `supervisors`) and carries ids plus a sequence number: the ticket's version for ticket
events. The bus only fans events out to every process's sockets; a client that missed events catches up
from the database, never from the bus.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Event:
    type: str
    seq: int
    data: dict[str, Any]
    topics: tuple[str, ...] = field(default=())

    def to_json(self) -> str:
        return json.dumps({"type": self.type, "seq": self.seq, "data": self.data, "topics": self.topics})

    @classmethod
    def from_json(cls, raw: str | bytes) -> Event:
        d = json.loads(raw)
        return cls(type=d["type"], seq=int(d["seq"]), data=d["data"], topics=tuple(d["topics"]))


# Called for every event on every process, in publish order; must not block.
Deliver = Callable[[Event], None]

# Delivered by a bus, to its own process only, when it may have lost events (its connection dropped and
# came back): whatever was built from events may be stale, and its clients must catch up from the database.
GAP = "bus.gap"


class Bus(Protocol):
    async def start(self, deliver: Deliver) -> None: ...

    async def publish(self, events: Sequence[Event]) -> None: ...

    async def close(self) -> None: ...


def make_bus(url: str) -> Bus:
    if url.startswith("memory://"):
        from app.bus.memory import MemoryBus

        return MemoryBus()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from app.bus.redis import RedisBus

        return RedisBus(url)
    raise ValueError(f"unknown bus URL {url!r}: use memory:// or redis://host:port/db")
