"""Fixtures: a fresh database of each kind (SQLite and PostgreSQL), the actions' context on it, and a live
server on it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import pytest

from app.actions.context import Context
from app.bus import make_bus
from app.db.engine import Database
from app.db.migrate import upgrade
from config.settings import Settings
from tests.receiver import Receiver, receiving
from tests.support import PG_ADMIN, LiveServer, make_settings, running


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/switchboard.db"
        return
    with fresh_pg_database() as url:
        yield url


@contextmanager
def fresh_pg_database(prefix: str = "sbtest_") -> Iterator[str]:
    """A new PostgreSQL database (its asyncpg URL), dropped at the end."""
    name = prefix + uuid.uuid4().hex[:12]
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
async def action_ctx(database_url: str) -> AsyncIterator[Context]:
    """What actions run with, on a migrated fresh database and the in-process bus, without the app."""
    await upgrade(database_url)
    db = Database(database_url)
    bus = make_bus("memory://")
    await bus.start(lambda _event: None)
    ctx = Context(Settings(database_url=database_url), db, bus)
    yield ctx
    await ctx.close()
    await bus.close()
    await db.close()


@pytest.fixture
async def server(database_url: str) -> AsyncIterator[LiveServer]:
    async with running(make_settings(database_url)) as live:
        yield live


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on loopback (tests/receiver.py)."""
    with receiving() as r:
        yield r
