"""Small shared state kept in the database (e.g. the IMAP cursor), one string per key."""

from __future__ import annotations

from app.actions.context import Context
from app.domain.models import Setting


async def get(ctx: Context, key: str) -> str | None:
    async with ctx.db.read() as s:
        row = await s.get(Setting, key)
        return row.value if row is not None else None


async def put(ctx: Context, key: str, value: str) -> None:
    async with ctx.db.write() as s:
        row = await s.get(Setting, key, with_for_update=True)
        if row is None:
            s.add(Setting(key=key, value=value))
        else:
            row.value = value
