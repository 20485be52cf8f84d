"""A service's one background task: started in the app's lifespan, cancelled and awaited at its end."""

from __future__ import annotations

import asyncio
import contextlib


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
