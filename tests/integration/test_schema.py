"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL, and a
new database has the `general` queue."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text

from app.db.engine import make_engine
from app.db.migrate import upgrade
from app.domain.models import Base
from app.domain.search import include_name


@pytest.mark.empty_db
async def test_migrations_match_models(database_url: str) -> None:
    await upgrade(database_url)
    await upgrade(database_url)  # a second run is a no-op

    def diff(conn: Connection) -> list[object]:
        # the search index's own objects (search_*) are raw SQL in migration 0012, not the models'
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name})
        return list(compare_metadata(ctx, Base.metadata))

    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(diff) == []
            queues = (await conn.execute(text("SELECT name FROM queues"))).scalars().all()
            assert queues == ["general"]
            if engine.dialect.name == "sqlite":
                mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar()
                assert mode == "wal"
    finally:
        await engine.dispose()
