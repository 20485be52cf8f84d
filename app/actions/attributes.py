"""Customer attributes admins define (typed: text, number, date, choice), and checking a value against its
definition before it is stored on a customer."""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.actions.context import Context
from app.actions.errors import Conflict, Invalid, NotFound
from app.domain.models import ATTRIBUTE_TYPES, AttributeDef

KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
TEXT_MAX = 1000
CHOICES_MAX = 100


def definition_view(d: AttributeDef) -> dict[str, Any]:
    return {"key": d.key, "label": d.label, "type": d.type, "choices": list(d.choices or [])}


def check_value(d: AttributeDef, value: Any) -> Any:
    """The value to store for attribute `d`, or Invalid. Dates are ISO (YYYY-MM-DD) strings."""
    where = f"attribute {d.key!r} ({d.type})"
    if d.type == "text":
        if not isinstance(value, str) or len(value) > TEXT_MAX:
            raise Invalid(f"{where} takes a text of at most {TEXT_MAX} characters", "bad_attribute")
        return value.replace("\x00", "")
    if d.type == "number":
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise Invalid(f"{where} takes a number", "bad_attribute")
        return value
    if d.type == "date":
        try:
            return (
                date.fromisoformat(value).isoformat() if isinstance(value, str) and len(value) == 10 else None
            )
        except ValueError:
            pass
        raise Invalid(f"{where} takes a date written YYYY-MM-DD", "bad_attribute")
    if value not in (d.choices or []):
        raise Invalid(f"{where} takes one of: {', '.join(d.choices or [])}", "bad_attribute")
    return value


def _label(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip() or len(raw.strip()) > 120:
        raise Invalid("label must be a text of 1 to 120 characters", "bad_label")
    return raw.strip()


def _choices(raw: Any) -> list[str]:
    if (
        not isinstance(raw, list)
        or not raw
        or len(raw) > CHOICES_MAX
        or not all(isinstance(c, str) and 0 < len(c.strip()) <= 120 for c in raw)
    ):
        raise Invalid(f"choices must be a list of 1 to {CHOICES_MAX} texts", "bad_choices")
    out: list[str] = []
    for c in raw:
        if c.strip() not in out:
            out.append(c.strip())
    return out


async def list_definitions(ctx: Context) -> list[dict[str, Any]]:
    async with ctx.db.read() as s:
        rows = await s.execute(select(AttributeDef).order_by(AttributeDef.created_at, AttributeDef.key))
        return [definition_view(d) for d in rows.scalars()]


async def define(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    key = body.get("key")
    if not isinstance(key, str) or not KEY.match(key):
        raise Invalid(
            "key must be lower-case letters, digits and _ (at most 40), starting with a letter", "bad_key"
        )
    kind = body.get("type")
    if kind not in ATTRIBUTE_TYPES:
        raise Invalid(f"type must be one of {', '.join(ATTRIBUTE_TYPES)}", "bad_type")
    unknown = set(body) - {"key", "label", "type", "choices"}
    if unknown:
        raise Invalid(f"unknown fields: {', '.join(sorted(unknown))}", "unknown_field")
    d = AttributeDef(
        key=key,
        label=_label(body.get("label", key)),
        type=kind,
        choices=_choices(body.get("choices")) if kind == "choice" else [],
    )
    try:
        async with ctx.db.write() as s:
            if await s.get(AttributeDef, key) is not None:
                raise Conflict(f"attribute {key!r} is already defined", "exists")
            s.add(d)
    except IntegrityError as e:  # defined at the same moment by another request
        raise Conflict(f"attribute {key!r} is already defined", "exists") from e
    return definition_view(d)


async def redefine(ctx: Context, key: str, body: dict[str, Any]) -> dict[str, Any]:
    """Change the label, or a choice attribute's choices (values already stored stay as they are)."""
    unknown = set(body) - {"label", "choices"}
    if unknown:
        raise Invalid(
            f"only label and choices can change (not {', '.join(sorted(unknown))})", "unknown_field"
        )
    async with ctx.db.write() as s:
        d = await s.get(AttributeDef, key, with_for_update=True)
        if d is None:
            raise NotFound(f"no attribute {key!r}")
        if "label" in body:
            d.label = _label(body["label"])
        if "choices" in body:
            if d.type != "choice":
                raise Invalid(f"attribute {key!r} is a {d.type}, not a choice", "bad_choices")
            d.choices = _choices(body["choices"])
        return definition_view(d)


async def undefine(ctx: Context, key: str) -> None:
    """The definition goes; values already stored on customers stay in their data (and their export)."""
    async with ctx.db.write() as s:
        d = await s.get(AttributeDef, key, with_for_update=True)
        if d is None:
            raise NotFound(f"no attribute {key!r}")
        await s.delete(d)
