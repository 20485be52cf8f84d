"""A service's one background task: started in the app's lifespan, cancelled and awaited at its end."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


class BackgroundTask:
    """Subclasses name the task and write `_run`, the loop it runs until stopped."""

    name = "background"
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        raise NotImplementedError


class Periodic(BackgroundTask):
    """A task that runs `once` every `interval_s` (first after one interval) until stopped; a round that
    fails (the database down for a moment) is logged and the next one tried."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s

    async def once(self) -> object:
        raise NotImplementedError

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.once()
            except Exception:
                logging.getLogger(type(self).__module__).warning("%s failed", self.name, exc_info=True)


async def next_batch(queue: asyncio.Queue[T], limit: int) -> list[T]:
    """A group-commit writer's next batch: the next item (waited for), and those already waiting behind it,
    `limit` in all at most."""
    batch = [await queue.get()]
    while len(batch) < limit and not queue.empty():
        batch.append(queue.get_nowait())
    return batch


async def settle(future: asyncio.Future[T], work: Awaitable[T]) -> None:
    """Run `work` and hand its result, or its exception, to `future`, unless that is settled already (its
    waiter went away): how a group-commit writer writes a message alone when its batch failed."""
    try:
        result = await work
    except Exception as e:
        if not future.done():
            future.set_exception(e)
        return
    if not future.done():
        future.set_result(result)
