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
from redis.exceptions import RedisError

from app.bus.base import GAP, Deliver, Event

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
    """Publishing and listening on two connections. A lost connection does not stop the bus: publishing
    fails (the caller logs it; the data is safe in the database) until Redis is back, and the listener
    reconnects with backoff, then tells this process it may have missed events (GAP)."""

    def __init__(self, url: str) -> None:
        url, self.channel = split_channel(url)
        # a Redis that does not answer must not hold up the writes whose events are being published
        self._client = aioredis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        self._listener = aioredis.Redis.from_url(url, socket_connect_timeout=2, health_check_interval=10)
        self._task: asyncio.Task[None] | None = None

    async def start(self, deliver: Deliver) -> None:
        pubsub = await self._subscribe()  # Redis must be there at start: fail loudly if it is not
        self._task = asyncio.create_task(self._listen(pubsub, deliver), name="redis-bus")

    async def _subscribe(self) -> aioredis.client.PubSub:
        pubsub = self._listener.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.channel)
        except BaseException:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
            raise
        return pubsub

    async def _listen(self, pubsub: aioredis.client.PubSub | None, deliver: Deliver) -> None:
        delay = 0.0
        while True:
            try:
                if pubsub is None:
                    pubsub = await self._subscribe()
                    log.warning("event bus connection back; sockets will catch up from the database")
                    deliver(Event(GAP, 0, {}, ()))
                delay = 0.0
                await self._heard(pubsub, deliver)
            except (RedisError, OSError) as e:
                delay = min(5.0, max(0.1, delay * 2))
                log.warning("event bus connection lost (%s); trying again in %.1f s", e, delay)
            finally:
                if pubsub is not None:
                    with contextlib.suppress(Exception):
                        await pubsub.aclose()  # type: ignore[no-untyped-call]
                pubsub = None
            await asyncio.sleep(delay)

    @staticmethod
    async def _heard(pubsub: aioredis.client.PubSub, deliver: Deliver) -> None:
        async for message in pubsub.listen():
            if message.get("type") != "message":
                continue
            try:
                event = Event.from_json(message["data"])
            except (ValueError, KeyError, TypeError):
                log.warning("dropping a malformed bus message")
                continue
            deliver(event)

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
        await self._listener.aclose()
