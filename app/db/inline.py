"""SQLite in the event loop's own thread, through aiosqlite's API.

aiosqlite runs every call on a thread of its own: a cursor call, a fetch, a commit each cross to that thread
and back through the event loop, about fifty crossings for one inbound message (a customer, a ticket, a
message, its history), each costing more CPU than the statement itself and each a wait behind whatever
else the loop is doing, all of it while the process's write lock is held. An SQLite write on a local file
in WAL mode with synchronous=NORMAL does no fsync at commit (only checkpoints do, and those run on their
own thread: `Checkpointer`), so it is cheaper to run the calls where they are made.

`InlineConnection` is aiosqlite's connection whose calls run where they are awaited (and whose queue to its
thread, which SQLAlchemy's dialect also uses directly, runs each call at once): SQLAlchemy's aiosqlite
dialect drives it unchanged (`async_creator`), and nothing crosses threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable, Generator
from functools import partial
from typing import Any

import aiosqlite

from app.background import BackgroundTask

log = logging.getLogger(__name__)


class _RunNow:
    """Stands in for aiosqlite's queue to its thread: runs the call at once and settles its future."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as e:
            if future is None:
                raise
            future.set_exception(e)
        else:
            if future is not None:
                future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _RunNow()  # type: ignore[assignment]

    def __await__(self) -> Generator[Any, None, aiosqlite.Connection]:
        return self._connect().__await__()  # no thread to start

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Every cursor and connection call comes here: run it, with no future to settle."""
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)


def inline_creator(connect_args: tuple[Any, ...], connect_kwargs: dict[str, Any]) -> Callable[[], Any]:
    """An `async_creator` for create_async_engine: the same sqlite3.connect the dialect would make."""
    kwargs = {**connect_kwargs, "check_same_thread": False}

    async def create() -> aiosqlite.Connection:
        return await InlineConnection(partial(sqlite3.connect, *connect_args, **kwargs))

    return create


class Checkpointer(BackgroundTask):
    """Copies the write-ahead log into the database on a thread of its own, every `every_s` seconds.

    Every connection of the process has automatic checkpoints off (a checkpoint fsyncs, and would otherwise
    run inside whichever commit crossed the threshold, in the event loop). A PASSIVE checkpoint blocks
    neither readers nor writers; the log restarts from its beginning once a checkpoint has caught up."""

    name = "sqlite-checkpoint"

    def __init__(self, path: str, every_s: float = 1.0) -> None:
        self.path = path
        self.every_s = every_s

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            try:
                await asyncio.to_thread(self._checkpoint)
            except sqlite3.Error:
                log.warning("WAL checkpoint failed; trying again", exc_info=True)

    def _checkpoint(self) -> None:
        with contextlib.closing(sqlite3.connect(self.path, timeout=10)) as conn:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
