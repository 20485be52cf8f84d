"""`app.db.bulk.Many` stores exactly what `Connection.execute(stmt, [dict, ...])` stores, on SQLite and
PostgreSQL: timestamps, JSON, booleans, NULLs, per-row values that need converting, and updates."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import sqlite

from app.actions.context import Context
from app.db.bulk import Many
from app.domain.types import UTCDateTime, utcnow

META = MetaData()
ROWS = Table(
    "bulk_rows",
    META,
    Column("id", Integer, primary_key=True),
    Column("name", String(50), nullable=False),
    Column("n", Integer),
    Column("flag", Boolean, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("seen", UTCDateTime),  # per row, converted row by row
    Column("data", JSON, nullable=False),
    Column("extra", JSON),  # per row
)


def _rows() -> list[tuple[Any, ...]]:
    now = utcnow()
    return [
        (
            str(i),
            i if i % 2 else None,
            now - timedelta(seconds=i) if i % 3 else None,
            {"i": [i]} if i % 4 else None,
        )
        for i in range(7)
    ]


async def test_many_stores_what_execute_stores(action_ctx: Context) -> None:
    at = utcnow()
    shared = {"flag": True, "at": at, "data": {"k": ["v", 1]}}
    many = Many(insert(ROWS), shared=("flag", "at", "data"), per_row=("name", "n", "seen", "extra"))
    async with action_ctx.db.write() as s:
        await s.run_sync(lambda sync: META.create_all(sync.connection()))
    rows = _rows()
    async with action_ctx.db.write() as s:
        await s.run_sync(
            lambda sync: many(sync.connection(), shared, [(f"many{k}", *rest) for k, *rest in rows])
        )
        await s.execute(
            insert(ROWS),
            [{**shared, "name": f"core{k}", "n": n, "seen": t, "extra": x} for k, n, t, x in rows],
        )
    async with action_ctx.db.read() as s:
        got = {r.name: r for r in (await s.execute(select(ROWS))).all()}
    assert len(got) == 14
    for k, n, seen, extra in rows:
        mine, theirs = got[f"many{k}"], got[f"core{k}"]
        assert tuple(mine)[2:] == tuple(theirs)[2:]  # all but id and name
        assert (mine.n, mine.seen, mine.extra) == (n, seen, extra)
        assert (mine.at, mine.data, mine.flag) == (at, {"k": ["v", 1]}, True)

    bump = Many(
        update(ROWS)
        .where(ROWS.c.name == bindparam("who"))
        .values(n=bindparam("new_n"), at=bindparam("when")),
        shared=("when",),
        per_row=("who", "new_n"),
    )
    later = at + timedelta(hours=1)
    async with action_ctx.db.write() as s:
        await s.run_sync(
            lambda sync: bump(sync.connection(), {"when": later}, [("many0", 100), ("many1", 101)])
        )
    async with action_ctx.db.read() as s:
        changed = {r.name: (r.n, r.at) for r in (await s.execute(select(ROWS).where(ROWS.c.n >= 100))).all()}
    assert changed == {"many0": (100, later), "many1": (101, later)}


def test_the_values_must_match_the_statement() -> None:
    dialect = sqlite.dialect()
    half = Many(
        update(ROWS).where(ROWS.c.name == bindparam("who")).values(n=bindparam("new_n")), (), ("who",)
    )
    with pytest.raises(ValueError, match="bind exactly"):
        half._for(dialect)
    many = Many(insert(ROWS), shared=("flag", "at", "data"), per_row=("name",))
    with create_engine("sqlite://").connect() as c, pytest.raises(ValueError, match="shared values"):
        many(c, {"flag": True, "at": utcnow()}, [("x",)])
