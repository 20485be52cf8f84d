"""Canned responses: saved replies with placeholders, shared by every agent; supervisors edit them."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.actions.context import Context
from app.actions.errors import Conflict, Invalid, NotFound
from app.domain.models import CannedResponse
from app.domain.types import utcnow

SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def view(c: CannedResponse) -> dict[str, Any]:
    return {"id": c.id, "title": c.title, "body": c.body, "shortcut": c.shortcut}


def _clean(fields: dict[str, Any], partial: bool) -> dict[str, Any]:
    unknown = set(fields) - {"title", "body", "shortcut"}
    if unknown:
        raise Invalid(f"unknown fields: {', '.join(sorted(unknown))}", "unknown_field")
    out: dict[str, Any] = {}
    for key, limit in (("title", 120), ("body", 10_000)):
        if key in fields or not partial:
            value = fields.get(key)
            if not isinstance(value, str) or not value.strip() or len(value) > limit:
                raise Invalid(f"{key} must be text of 1 to {limit} characters", f"bad_{key}")
            out[key] = value.strip()
    if "shortcut" in fields:
        shortcut = fields["shortcut"]
        if shortcut in (None, ""):
            out["shortcut"] = None
        elif not isinstance(shortcut, str) or not SHORTCUT.match(shortcut.lower()):
            raise Invalid("shortcut: 1 to 40 of a-z, 0-9, _ and -", "bad_shortcut")
        else:
            out["shortcut"] = shortcut.lower()
    return out


async def list_all(ctx: Context) -> list[dict[str, Any]]:
    async with ctx.db.read() as s:
        rows = await s.execute(select(CannedResponse).order_by(CannedResponse.title, CannedResponse.id))
        return [view(c) for c in rows.scalars()]


async def create(ctx: Context, fields: dict[str, Any], agent_id: int) -> dict[str, Any]:
    values = _clean(fields, partial=False)
    try:
        async with ctx.db.write() as s:
            canned = CannedResponse(**values, created_by=agent_id)
            s.add(canned)
            await s.flush()
            return view(canned)
    except IntegrityError:
        raise Conflict(f"the shortcut {values.get('shortcut')!r} is taken", "shortcut_taken") from None


async def update(ctx: Context, canned_id: int, fields: dict[str, Any]) -> dict[str, Any]:
    values = _clean(fields, partial=True)
    try:
        async with ctx.db.write() as s:
            canned = await s.get(CannedResponse, canned_id)
            if canned is None:
                raise NotFound(f"canned response {canned_id} not found")
            for key, value in values.items():
                setattr(canned, key, value)
            canned.updated_at = utcnow()
            await s.flush()
            return view(canned)
    except IntegrityError:
        raise Conflict(f"the shortcut {values.get('shortcut')!r} is taken", "shortcut_taken") from None


async def delete(ctx: Context, canned_id: int) -> None:
    async with ctx.db.write() as s:
        canned = await s.get(CannedResponse, canned_id)
        if canned is None:
            raise NotFound(f"canned response {canned_id} not found")
        await s.delete(canned)
