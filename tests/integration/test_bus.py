"""The event bus: both backends deliver every published event, in order, to every process's hub."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from app.bus import Event, make_bus
from tests.support import REDIS_URL


def events(n: int, tag: str) -> list[Event]:
    return [
        Event("message.created", i, {"ticket_id": 1, "n": i, "tag": tag}, ("agent:1", "queue:2"))
        for i in range(n)
    ]


async def test_memory_bus_delivers_in_order() -> None:
    bus = make_bus("memory://")
    got: list[Event] = []
    await bus.start(got.append)
    await bus.publish(events(100, "m"))
    assert [e.seq for e in got] == list(range(100))
    assert got[0].topics == ("agent:1", "queue:2")
    await bus.close()


async def test_redis_bus_fans_out_to_every_process_in_order() -> None:
    """Two buses stand for two processes: what either publishes, both receive, in the same order."""
    a, b = make_bus(REDIS_URL), make_bus(REDIS_URL)
    got_a: list[Event] = []
    got_b: list[Event] = []
    await a.start(got_a.append)
    await b.start(got_b.append)
    tag = uuid.uuid4().hex
    try:
        await a.publish(events(50, tag))
        await b.publish(events(50, tag + "b"))
        for _ in range(200):
            if len(got_a) >= 100 and len(got_b) >= 100:
                break
            await asyncio.sleep(0.02)
        for got in (got_a, got_b):
            mine = [e for e in got if e.data["tag"] == tag]
            assert [e.seq for e in mine] == list(range(50))
            assert mine[0] == events(1, tag)[0]
            assert len([e for e in got if e.data["tag"] == tag + "b"]) == 50
    finally:
        await a.close()
        await b.close()


def test_unknown_bus_url_is_refused() -> None:
    with pytest.raises(ValueError, match="memory://"):
        make_bus("kafka://nowhere")
