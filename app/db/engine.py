"""The database: one async engine, SQLite tuned for a single-process service (WAL), PostgreSQL as is.

Writes go through `Database.write()`: one transaction that, on SQLite, holds the process's write lock from
its first statement, so concurrent writers queue in the event loop instead of failing with "database is
locked"; on PostgreSQL, rows are locked by the statements themselves (SELECT ... FOR UPDATE).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy.exc
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from app.db.inline import Checkpointer, inline_creator

# what a database that is away for a moment raises: connections refused or reset, a server restarting
# (asyncpg: CannotConnectNowError, a subclass of PostgresConnectionError), the pool's own timeout, SQLite's
# "database is locked" (an OperationalError)
_AWAY: tuple[type[BaseException], ...] = (
    OSError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
)


def unavailable(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) says the database is unreachable for now, rather than a bug."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, _AWAY) or (
            isinstance(cur, sqlalchemy.exc.DBAPIError) and cur.connection_invalidated
        ):
            return True
        if type(cur).__module__.startswith("asyncpg") and type(cur).__name__ in _ASYNCPG_AWAY:
            return True
        cur = cur.__cause__ or cur.__context__
    return False


_ASYNCPG_AWAY = {
    "ConnectionDoesNotExistError",
    "CannotConnectNowError",
    "ConnectionFailureError",
    "InterfaceError",
    "AdminShutdownError",
    "CrashShutdownError",
}


def normalise_url(url: str) -> str:
    """Accept the plain driver names users type and pick the async drivers."""
    u = make_url(url)
    if u.drivername in ("sqlite", "sqlite+pysqlite"):
        u = u.set(drivername="sqlite+aiosqlite")
    elif u.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        u = u.set(drivername="postgresql+asyncpg")
    return u.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _no_autocheckpoint(dbapi_conn: Any, _record: Any) -> None:
    """The serving process's connections leave checkpoints to `Checkpointer`, on its own thread."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA wal_autocheckpoint=0")
    cur.close()


def make_engine(url: str, inline: bool = False) -> AsyncEngine:
    """`inline` (SQLite): the calls run in the event loop's thread (app.db.inline), not aiosqlite's."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        options: dict[str, Any] = {}
        if inline:
            args, kwargs = make_url(url).get_dialect()().create_connect_args(make_url(url))
            options["async_creator"] = inline_creator(tuple(args), dict(kwargs))
        engine = create_async_engine(url, pool_size=8, max_overflow=4, **options)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


class Database:
    """On SQLite every call runs in the event loop's thread (app.db.inline): an indexed read or a write of a
    few rows costs microseconds in SQLite and far more in crossing to a thread and back; writes are one at
    a time (`write()`), and checkpoints, the only step that waits on the disk, run on a thread of their
    own. PostgreSQL goes through asyncpg as it is."""

    def __init__(self, url: str, serving: bool = False) -> None:
        self.url = normalise_url(url)
        self.is_sqlite = make_url(self.url).get_backend_name() == "sqlite"
        self.engine = make_engine(self.url, inline=self.is_sqlite)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.checkpointer: Checkpointer | None = None
        path = make_url(self.url).database if self.is_sqlite else None
        if serving and path and path != ":memory:" and "mode=memory" not in self.url:
            # a serving process checkpoints on a thread of its own: no commit in the loop ever fsyncs
            event.listen(self.engine.sync_engine, "connect", _no_autocheckpoint)
            self.checkpointer = Checkpointer(path)
        self._write_lock = asyncio.Lock()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        if self.is_sqlite:
            async with self._session() as session:
                yield session
        else:
            async with self.sessions() as session:
                yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One write transaction, committed when the block ends without an exception."""
        if self.is_sqlite:
            async with self._write_lock, self._session() as session, session.begin():
                yield session
        else:
            async with self.sessions() as session, session.begin():
                yield session

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[AsyncSession]:
        """SQLite: a session closed where it ends. SQLAlchemy's own `async with` closes it in a task of its
        own (safe from cancellation halfway through a close that waits on the network), which keeps the
        connection, and in `write()` the write lock, for another turn of the event loop or two: under a
        burst of sockets every pooled connection sat waiting for its close. Inline, a close never waits,
        so there is nothing a cancellation could interrupt."""
        session = self.sessions()
        try:
            yield session
        finally:
            await session.close()

    async def ping(self) -> bool:
        from sqlalchemy import text

        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    def start(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.start()

    async def close(self) -> None:
        if self.checkpointer is not None:
            await self.checkpointer.stop()
        await self.engine.dispose()
