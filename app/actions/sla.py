"""SLAs: first-response and resolution targets per queue and priority, counted in business time of the
queue's calendar from the ticket's creation. The due times are kept on the ticket (recomputed when its queue
or priority changes: SlaClock); a sweep marks the targets missed, raises the priority one step, writes the
breach on the timeline and tells the consoles and the supervisor board (SlaWatch)."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions import calendars
from app.actions.common import history, lock_ticket, queue_name, ticket_event, touch
from app.actions.context import Context
from app.actions.errors import Conflict, Invalid, NotFound
from app.background import Periodic
from app.bus import Event
from app.domain.models import ACTIVE_STATUSES, PRIORITIES, BusinessCalendar, Queue, SlaPolicy, Ticket
from app.domain.types import utcnow
from app.domain.views import iso

# statuses in which the clocks run (pending waits on the customer: resolution still counts, first response
# no longer matters once given)
RUNNING = (*ACTIVE_STATUSES, "pending")
TARGET_MAX_S = 365 * 24 * 3600
SWEEP_BATCH = 200


def view(p: SlaPolicy, qname: str | None) -> dict[str, Any]:
    return {
        "id": p.id,
        "queue": qname,
        "priority": p.priority,
        "first_response_minutes": None if p.first_response_s is None else p.first_response_s / 60,
        "resolution_minutes": None if p.resolution_s is None else p.resolution_s / 60,
        "created_at": iso(p.created_at),
    }


def _minutes(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value * 60 <= TARGET_MAX_S:
        raise Invalid(f"{key} must be a number of minutes (at most a year) or null", "bad_target")
    return round(value * 60)


async def _fields(s: AsyncSession, body: dict[str, Any]) -> dict[str, Any]:
    unknown = set(body) - {"queue", "priority", "first_response_minutes", "resolution_minutes"}
    if unknown:
        raise Invalid(f"unknown fields: {', '.join(sorted(unknown))}", "unknown_field")
    queue_id = None
    if body.get("queue") is not None:
        queue_id = (await s.execute(select(Queue.id).where(Queue.name == str(body["queue"])))).scalar()
        if queue_id is None:
            raise Invalid(f"no queue named {body['queue']!r}", "unknown_queue")
    priority = body.get("priority")
    if priority is not None and priority not in PRIORITIES:
        raise Invalid(f"priority must be one of {', '.join(PRIORITIES)} or null", "bad_priority")
    first, resolution = _minutes(body, "first_response_minutes"), _minutes(body, "resolution_minutes")
    if first is None and resolution is None:
        raise Invalid("a policy needs first_response_minutes or resolution_minutes", "bad_target")
    return {"queue_id": queue_id, "priority": priority, "first_response_s": first, "resolution_s": resolution}


async def _queue_names(s: AsyncSession) -> dict[int, str]:
    return dict((await s.execute(select(Queue.id, Queue.name))).all())


async def create(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    try:
        async with ctx.db.write() as s:
            fields = await _fields(s, body)
            same = select(SlaPolicy.id).where(
                SlaPolicy.queue_id.is_(None)
                if fields["queue_id"] is None
                else SlaPolicy.queue_id == fields["queue_id"],
                SlaPolicy.priority.is_(None)
                if fields["priority"] is None
                else SlaPolicy.priority == fields["priority"],
            )
            if (await s.execute(same)).first() is not None:
                raise Conflict("a policy for this queue and priority exists: change it", "exists")
            p = SlaPolicy(**fields)
            s.add(p)
            await s.flush()
            return view(p, (await _queue_names(s)).get(p.queue_id or 0))
    except IntegrityError as e:
        raise Conflict("a policy for this queue and priority exists: change it", "exists") from e


async def change(ctx: Context, policy_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """The targets of a policy (its queue and priority stay); tickets already open keep their due times
    until their queue or priority changes."""
    unknown = set(body) - {"first_response_minutes", "resolution_minutes"}
    if unknown:
        raise Invalid("only the targets of a policy change (make another for another queue)", "unknown_field")
    async with ctx.db.write() as s:
        p = await s.get(SlaPolicy, policy_id, with_for_update=True)
        if p is None:
            raise NotFound(f"SLA policy {policy_id} not found")
        if "first_response_minutes" in body:
            p.first_response_s = _minutes(body, "first_response_minutes")
        if "resolution_minutes" in body:
            p.resolution_s = _minutes(body, "resolution_minutes")
        return view(p, (await _queue_names(s)).get(p.queue_id or 0))


async def remove(ctx: Context, policy_id: int) -> None:
    async with ctx.db.write() as s:
        p = await s.get(SlaPolicy, policy_id, with_for_update=True)
        if p is None:
            raise NotFound(f"SLA policy {policy_id} not found")
        await s.delete(p)


async def listing(ctx: Context) -> list[dict[str, Any]]:
    async with ctx.db.read() as s:
        names = await _queue_names(s)
        rows = await s.execute(select(SlaPolicy).order_by(SlaPolicy.id))
        return [view(p, names.get(p.queue_id or 0)) for p in rows.scalars()]


def policy_for(policies: list[SlaPolicy], queue_id: int, priority: str) -> SlaPolicy | None:
    """The most specific: queue and priority, queue, priority, then the catch-all."""
    ranked = {
        (queue_id, priority): 0,
        (queue_id, None): 1,
        (None, priority): 2,
        (None, None): 3,
    }
    fitting = [p for p in policies if (p.queue_id, p.priority) in ranked]
    return min(fitting, key=lambda p: ranked[(p.queue_id, p.priority)], default=None)


async def due_times(s: AsyncSession, t: Ticket) -> tuple[datetime | None, datetime | None]:
    policies = list((await s.execute(select(SlaPolicy))).scalars())
    policy = policy_for(policies, t.queue_id, t.priority)
    if policy is None:
        return None, None
    queue = await s.get(Queue, t.queue_id)
    cal = calendars.of(
        await s.get(BusinessCalendar, queue.calendar_id) if queue and queue.calendar_id else None
    )
    first = cal.add(t.created_at, policy.first_response_s) if policy.first_response_s is not None else None
    resolution = cal.add(t.created_at, policy.resolution_s) if policy.resolution_s is not None else None
    return first, resolution


async def refresh(ctx: Context, ticket_id: int) -> bool:
    """The ticket's due times made current (its queue or priority, or the policies, may have changed);
    published when they moved. True when they did."""
    async with ctx.db.read() as s:
        t = await s.get(Ticket, ticket_id)
        if t is None or t.status not in RUNNING:
            return False
        first, resolution = await due_times(s, t)
        if (first, resolution) == (t.first_response_due_at, t.resolution_due_at):
            return False
    async with ctx.db.write() as s:
        t = await lock_ticket(s, ticket_id)
        first, resolution = await due_times(s, t)
        if (first, resolution) == (t.first_response_due_at, t.resolution_due_at):
            return False
        t.first_response_due_at, t.resolution_due_at = first, resolution
        touch(t)
        event = ticket_event("ticket.updated", t, await queue_name(s, t.queue_id), reason="sla")
    await ctx.publish([event])
    return True


def _escalated(priority: str) -> str:
    i = PRIORITIES.index(priority) if priority in PRIORITIES else 1
    return PRIORITIES[min(i + 1, len(PRIORITIES) - 1)]


async def sweep(ctx: Context, now: datetime | None = None) -> int:
    """Mark the targets missed by now: first responses not given, resolutions not reached. Each breach
    raises the priority one step and is a line on the timeline. Returns how many were marked."""
    now = now or utcnow()
    async with ctx.db.read() as s:
        late_first = select(Ticket.id).where(
            Ticket.first_response_due_at < now,
            Ticket.first_response_at.is_(None),
            Ticket.first_response_breached_at.is_(None),
            Ticket.status.in_(ACTIVE_STATUSES),
        )
        late_resolution = select(Ticket.id).where(
            Ticket.resolution_due_at < now,
            Ticket.resolution_breached_at.is_(None),
            Ticket.status.in_(RUNNING),
        )
        ids = set((await s.execute(late_first.limit(SWEEP_BATCH))).scalars())
        ids |= set((await s.execute(late_resolution.limit(SWEEP_BATCH))).scalars())
    marked = 0
    for ticket_id in sorted(ids):
        marked += await _breach(ctx, ticket_id, now)
    return marked


async def _breach(ctx: Context, ticket_id: int, now: datetime) -> int:
    events: list[Event] = []
    async with ctx.db.write() as s:
        t = await lock_ticket(s, ticket_id)
        missed: list[str] = []
        if (
            t.first_response_due_at is not None
            and t.first_response_due_at < now
            and t.first_response_at is None
            and t.first_response_breached_at is None
            and t.status in ACTIVE_STATUSES
        ):
            t.first_response_breached_at = now
            missed.append("first response")
        if (
            t.resolution_due_at is not None
            and t.resolution_due_at < now
            and t.resolution_breached_at is None
            and t.status in RUNNING
        ):
            t.resolution_breached_at = now
            missed.append("resolution")
        if not missed:
            return 0
        before = t.priority
        t.priority = _escalated(before)
        touch(t)
        change = f"; priority {before} -> {t.priority}" if t.priority != before else ""
        history(
            s,
            t,
            "sla.breach",
            text=f"SLA missed: {' and '.join(missed)}{change}",
            data={"missed": missed, "priority": {"from": before, "to": t.priority}},
        )
        qname = await queue_name(s, t.queue_id)
        events.append(ticket_event("ticket.updated", t, qname, reason="sla_breach", missed=missed))
    await ctx.publish(events)
    return len(missed)


class SlaClock:
    """The subscriber: a ticket created, or updated in its queue or priority, gets its due times anew."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def on_event(self, event: Event) -> Awaitable[bool] | None:
        if event.type not in ("ticket.created", "ticket.updated", "ticket.assigned"):
            return None
        if event.data.get("reason") in ("sla", "sla_breach"):
            return None
        ticket = event.data.get("ticket") or {}
        if ticket.get("status") not in RUNNING:
            return None
        return refresh(self.ctx, int(event.data["ticket_id"]))


class SlaWatch(Periodic):
    """The breach sweep, every `interval_s` (by one process)."""

    name = "sla-watch"

    def __init__(self, ctx: Context, interval_s: float) -> None:
        super().__init__(interval_s)
        self.ctx = ctx

    async def once(self) -> int:
        return await sweep(self.ctx)
