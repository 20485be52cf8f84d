"""SQLite runs in the event loop's thread (app.db.inline): reads and writes alike, through the same ORM
code; a serving process's commits never checkpoint (no fsync in the loop), its own thread does."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from sqlalchemy import func, insert, select, text

from app.db.engine import Database
from app.db.inline import InlineConnection
from app.db.migrate import upgrade
from app.domain.models import Customer


async def _driver_thread(db: Database) -> int:
    """The thread SQLite runs a statement on, as SQLite itself sees it (a function it calls back)."""
    async with db.read() as s:
        raw = await (await s.connection()).get_raw_connection()
        driver = raw.driver_connection
        assert isinstance(driver, InlineConnection)
        driver._conn.create_function("calling_thread", 0, threading.get_ident)
        return int((await s.execute(text("SELECT calling_thread()"))).scalar_one())


async def test_statements_run_in_the_event_loop_thread(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/inline.db"
    await upgrade(url)
    db = Database(url)
    try:
        assert await _driver_thread(db) == threading.get_ident()
        async with db.write() as s:
            s.add(Customer(name="Inline"))
        async with db.read() as s:
            assert (await s.execute(select(Customer.name))).scalars().all() == ["Inline"]
        # a failing statement raises where it was awaited, and the transaction rolls back
        try:
            async with db.write() as s:
                s.add(Customer(name="Rolled back"))
                await s.flush()
                await s.execute(text("SELECT * FROM no_such_table"))
        except Exception as e:
            assert "no_such_table" in str(e)
        else:
            raise AssertionError("the bad statement did not raise")
        async with db.read() as s:
            assert (await s.execute(select(func.count()).select_from(Customer))).scalar_one() == 1
    finally:
        await db.close()


def _size(path: Path) -> int:
    return path.stat().st_size


async def _fill(db: Database, rows: int) -> None:
    async with db.write() as s:
        await s.execute(insert(Customer), [{"name": "x" * 1000} for _ in range(rows)])


async def test_checkpoints_run_on_their_own_thread_only(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/wal.db"
    path = tmp_path / "wal.db"
    await upgrade(url)
    db = Database(url, serving=True)
    assert db.checkpointer is not None
    db.checkpointer.every_s = 0.05
    try:
        before = _size(path)
        await _fill(db, 4000)  # ~4 MB: past the 1,000 pages at which SQLite would checkpoint by itself
        # not started: no commit copied the log into the database file
        assert _size(path) - before < 1_000_000
        db.start()
        for _ in range(100):
            if _size(path) - before > 3_000_000:
                break
            await asyncio.sleep(0.05)
        assert _size(path) - before > 3_000_000, "the checkpointer did not copy the log"
    finally:
        await db.close()
