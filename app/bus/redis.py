"""Redis pub/sub bus: every process publishes to one channel and delivers what it hears to its sockets.

Events a process publishes reach its own sockets through Redis too, so every process sees one order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import redis.asyncio as aioredis

from app.bus.base import Deliver, Event

log = logging.getLogger(__name__)
CHANNEL = "switchboard:events"


class RedisBus:
    def __init__(self, url: str) -> None:
        self._client = aioredis.Redis.from_url(url)
        self._task: asyncio.Task[None] | None = None

    async def start(self, deliver: Deliver) -> None:
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(CHANNEL)
        self._task = asyncio.create_task(self._listen(pubsub, deliver), name="redis-bus")

    async def _listen(self, pubsub: aioredis.client.PubSub, deliver: Deliver) -> None:
        try:
            async for message in pubsub.listen():
                if message.get("type") != "message":
                    continue
                try:
                    event = Event.from_json(message["data"])
                except (ValueError, KeyError, TypeError):
                    log.warning("dropping a malformed bus message")
                    continue
                deliver(event)
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def publish(self, events: Sequence[Event]) -> None:
        if not events:
            return
        async with self._client.pipeline(transaction=False) as pipe:
            for event in events:
                pipe.publish(CHANNEL, event.to_json())
            await pipe.execute()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._client.aclose()
