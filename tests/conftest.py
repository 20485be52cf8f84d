"""Fixtures: a fresh database of each kind (SQLite and PostgreSQL), the actions' context on it, and a live
server on it."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import asyncpg
import pytest
from argon2 import PasswordHasher, profiles

from app.actions import agents, passwords
from app.actions.context import Context
from app.bus import make_bus
from app.db.engine import Database
from app.db.migrate import upgrade
from config.settings import Settings
from tests.receiver import Receiver, receiving
from tests.support import PG_ADMIN, LiveServer, make_settings, running

# tests that take ten seconds and more (a fuzzing run over every operation, clusters of real processes, the
# browser's screenshots): they start first, so that the workers finish together rather than one running a
# long test alone at the end
LONG_FIRST = (
    "tests/security/test_fuzz_api.py",
    "tests/integration/test_cluster.py",
    "tests/integration/test_kill.py",
    "tests/integration/test_slow_sockets.py",
    "tests/integration/test_bus_outage.py",
    "tests/integration/test_imap_serve.py",
    "tests/security/test_authz_matrix.py::test_no_one",
    "tests/integration/test_cli.py::test_agents_password_deactivate_and_activate",
    "tests/e2e/test_screenshots.py",
    "tests/e2e/test_supervisor.py::test_numbers_change_live",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(LONG_FIRST))  # stable: otherwise as collected


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing() -> None:
    """argon2id with its cheapest parameters for the passwords the tests set in process: with the production
    ones each hash and each verify takes 0.16 s, most of a short test's time. A login verifies with the
    parameters stored in the hash, so it stays the real argon2 check; processes the tests start keep the
    production parameters."""
    cheap = PasswordHasher.from_parameters(profiles.CHEAPEST)
    agents._hasher = passwords._hasher = cheap
    agents._dummy_hash.cache_clear()


@pytest.fixture(scope="session")
def db_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A database of each kind migrated to the current schema once per test process: the SQLite file's path
    and the PostgreSQL database's name. A test's database starts as a copy (a file copy; CREATE DATABASE ...
    TEMPLATE), which takes a fraction of the time of running every migration again."""
    path = tmp_path_factory.mktemp("template") / "switchboard.db"
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{path}"))
    name = "sbtemplate_" + uuid.uuid4().hex[:12]
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        asyncio.run(upgrade(f"{_pg_base()}/{name}"))
        yield {"sqlite": str(path), "postgresql": name}
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database of each kind, at the current schema (empty, without one, for tests marked
    empty_db)."""
    empty = request.node.get_closest_marker("empty_db") is not None
    templates = None if empty else request.getfixturevalue("db_templates")
    if request.param == "sqlite":
        path = tmp_path / "switchboard.db"
        if templates is not None:
            copy_sqlite(templates["sqlite"], path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    with fresh_pg_database(template=templates["postgresql"] if templates else None) as url:
        yield url


def copy_sqlite(source: str, target: Path) -> None:
    """A consistent copy of a SQLite database (its write-ahead log included), through SQLite's backup."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def _pg_base() -> str:
    return PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")


@contextmanager
def fresh_pg_database(prefix: str = "sbtest_", template: str | None = None) -> Iterator[str]:
    """A new PostgreSQL database (its asyncpg URL), a copy of `template` if given, dropped at the end."""
    name = prefix + uuid.uuid4().hex[:12]
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    try:
        yield f"{_pg_base()}/{name}"
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
