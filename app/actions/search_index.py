"""SQLite's full-text index of message texts, kept by a background task rather than an insert trigger:
FTS5 merges its segments when a transaction commits, and on the chat path that took p99 from 23 to 95 ms
at 1,000 messages a second; indexing every quarter second in the background still made it 30 ms. So the
index follows behind: every quarter second, unless messages are arriving faster than BUSY_RATE a second
(chat going on), when it waits for a lull (but falls no further behind than MAX_BACKLOG messages). A search
catches up first (at most SEARCH_CATCH_UP messages), so what an agent finds is current but in a burst.
Messages indexed already are kept current on update and delete by triggers (migration 0012). PostgreSQL
indexes each message as it is written (a generated column).
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text

from app.actions.context import Context
from app.background import BackgroundTask

log = logging.getLogger(__name__)
BATCH = 250
INTERVAL_S = 0.25
BUSY_RATE = 20.0  # messages a second above which indexing waits (chat is going on)
MAX_BACKLOG = 50_000  # ...but never falls further behind than this
SEARCH_CATCH_UP = 2_000

_INDEX = text(
    "INSERT INTO search_messages (rowid, body) "
    "SELECT id, body FROM messages WHERE id > :upto AND id <= :last ORDER BY id"
)
_PROGRESS = text("SELECT upto FROM search_progress WHERE name = 'messages'")
_LAST = text("SELECT coalesce(max(id), 0) FROM messages")
_SAVE = text("UPDATE search_progress SET upto = :last WHERE name = 'messages'")


async def backlog(ctx: Context) -> tuple[int, int]:
    """(the newest message id, how many are not indexed yet)."""
    async with ctx.db.read() as s:
        upto = (await s.execute(_PROGRESS)).scalar_one()
        last = (await s.execute(_LAST)).scalar_one()
    return int(last), max(0, int(last) - int(upto))


async def catch_up(ctx: Context, batch: int = BATCH, rounds: int = 400) -> int:
    """Index the messages written since the last call, `batch` a transaction; how many (0 on PostgreSQL)."""
    if not ctx.db.is_sqlite:
        return 0
    done = 0
    for _ in range(rounds):
        async with ctx.db.read() as s:
            upto = (await s.execute(_PROGRESS)).scalar_one()
            last = (await s.execute(_LAST)).scalar_one()
        if last <= upto:
            break
        async with ctx.db.write() as s:
            upto = (await s.execute(_PROGRESS)).scalar_one()  # under the write lock: another caller may have
            last = min((await s.execute(_LAST)).scalar_one(), upto + batch)
            if last <= upto:
                break
            await s.execute(_INDEX, {"upto": upto, "last": last})
            await s.execute(_SAVE, {"last": last})
        done += last - upto
    return done


class SearchIndexer(BackgroundTask):
    name = "search-index"

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def _run(self) -> None:
        seen: int | None = None
        while True:
            await asyncio.sleep(INTERVAL_S)
            try:
                if not self.ctx.db.is_sqlite:
                    return
                last, behind = await backlog(self.ctx)
                rate = (last - seen) / INTERVAL_S if seen is not None else 0.0
                seen = last
                if behind and (rate < BUSY_RATE or behind > MAX_BACKLOG):
                    await catch_up(self.ctx)
            except Exception:  # the database may be busy or down for a moment: next round
                log.warning("indexing messages for search failed", exc_info=True)
