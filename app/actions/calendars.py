"""Business-hours calendars (admins keep them) and which one a queue counts its time in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions.context import Context
from app.actions.errors import Conflict, Invalid, NotFound
from app.domain import calendar
from app.domain.models import BusinessCalendar, Queue
from app.domain.views import iso

# a queue without a calendar of its own: Monday to Friday, 09:00-17:00 UTC
DEFAULT = calendar.make("UTC", calendar.DEFAULT_HOURS, [])


def view(c: BusinessCalendar) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "timezone": c.timezone,
        "hours": c.hours,
        "holidays": list(c.holidays or []),
        "created_at": iso(c.created_at),
    }


def of(c: BusinessCalendar | None) -> calendar.Calendar:
    if c is None:
        return DEFAULT
    return calendar.make(c.timezone, c.hours or {}, list(c.holidays or []))


def _fields(body: dict[str, Any], creating: bool) -> dict[str, Any]:
    unknown = set(body) - {"name", "timezone", "hours", "holidays"}
    if unknown:
        raise Invalid(f"unknown fields: {', '.join(sorted(unknown))}", "unknown_field")
    out: dict[str, Any] = {}
    try:
        if "name" in body or creating:
            name = body.get("name")
            if not isinstance(name, str) or not name.strip() or len(name) > 120:
                raise calendar.CalendarError("name must be a text of 1 to 120 characters")
            out["name"] = name.strip()
        if "timezone" in body or creating:
            out["timezone"] = calendar.check_timezone(body.get("timezone", "UTC"))
        if "hours" in body or creating:
            out["hours"] = calendar.check_hours(body.get("hours", calendar.DEFAULT_HOURS))
        if "holidays" in body or creating:
            out["holidays"] = calendar.check_holidays(body.get("holidays", []))
    except calendar.CalendarError as e:
        raise Invalid(str(e), "bad_calendar") from e
    return out


async def create(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    fields = _fields(body, creating=True)
    try:
        async with ctx.db.write() as s:
            c = BusinessCalendar(**fields)
            s.add(c)
            await s.flush()
            return view(c)
    except IntegrityError as e:
        raise Conflict(f"a calendar named {fields['name']!r} exists", "exists") from e


async def change(ctx: Context, calendar_id: int, body: dict[str, Any]) -> dict[str, Any]:
    fields = _fields(body, creating=False)
    try:
        async with ctx.db.write() as s:
            c = await s.get(BusinessCalendar, calendar_id, with_for_update=True)
            if c is None:
                raise NotFound(f"calendar {calendar_id} not found")
            for key, value in fields.items():
                setattr(c, key, value)
            await s.flush()
            return view(c)
    except IntegrityError as e:
        raise Conflict("a calendar of that name exists", "exists") from e


async def remove(ctx: Context, calendar_id: int) -> None:
    """Queues that used it go back to the default hours."""
    async with ctx.db.write() as s:
        c = await s.get(BusinessCalendar, calendar_id, with_for_update=True)
        if c is None:
            raise NotFound(f"calendar {calendar_id} not found")
        await s.execute(update(Queue).where(Queue.calendar_id == calendar_id).values(calendar_id=None))
        await s.delete(c)


async def listing(ctx: Context) -> list[dict[str, Any]]:
    async with ctx.db.read() as s:
        rows = await s.execute(select(BusinessCalendar).order_by(BusinessCalendar.id))
        return [view(c) for c in rows.scalars()]


async def set_for_queue(ctx: Context, queue_name: str, calendar_id: Any) -> dict[str, Any]:
    if calendar_id is not None and (isinstance(calendar_id, bool) or not isinstance(calendar_id, int)):
        raise Invalid("calendar_id must be a calendar id or null", "bad_calendar")
    async with ctx.db.write() as s:
        queue = (await s.execute(select(Queue).where(Queue.name == queue_name))).scalar_one_or_none()
        if queue is None:
            raise NotFound(f"no queue named {queue_name!r}")
        if calendar_id is not None and await s.get(BusinessCalendar, calendar_id) is None:
            raise Invalid(f"no calendar {calendar_id}", "unknown_calendar")
        queue.calendar_id = calendar_id
        return {"queue": queue.name, "calendar_id": calendar_id}


async def by_queue(s: AsyncSession) -> dict[int, calendar.Calendar]:
    """Every queue's calendar (the default for those without one)."""
    rows = await s.execute(
        select(Queue.id, BusinessCalendar).outerjoin(
            BusinessCalendar, BusinessCalendar.id == Queue.calendar_id
        )
    )
    return {qid: of(c) for qid, c in rows.all()}


def is_open(calendars: dict[int, calendar.Calendar], queue_id: int, at: datetime) -> bool:
    return calendars.get(queue_id, DEFAULT).is_open(at)
