"""Redis pub/sub bus: every process publishes to one channel and delivers what it hears to its sockets.

Events a process publishes reach its own sockets through Redis too, so every process sees one order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis.asyncio as aioredis

from app.bus.base import Deliver, Event

log = logging.getLogger(__name__)
CHANNEL = "switchboard:events"


def split_channel(url: str) -> tuple[str, str]:
    """The Redis URL without our own ``channel`` query parameter, and the channel: installations that share
    one Redis server keep their events apart with ``redis://host:6379/0?channel=acme`` (pub/sub channels
    are server-wide, not per database)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    names = [v for k, v in query if k == "channel" and v]
    rest = urlencode([(k, v) for k, v in query if k != "channel"])
    return urlunsplit(parts._replace(query=rest)), f"{CHANNEL}:{names[-1]}" if names else CHANNEL


class RedisBus:
    def __init__(self, url: str) -> None:
        url, self.channel = split_channel(url)
        self._client = aioredis.Redis.from_url(url)
        self._task: asyncio.Task[None] | None = None

    async def start(self, deliver: Deliver) -> None:
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self.channel)
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
                pipe.publish(self.channel, event.to_json())
            await pipe.execute()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._client.aclose()
