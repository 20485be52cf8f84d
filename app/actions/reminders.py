"""Reminders: pending tickets that wake up at a set time, and messages scheduled to customers (a renewal, a
payment due) by an agent or by a rule.

One process (the leader) sweeps every `reminder_check_s`: a pending ticket whose `pending_until` has passed
goes back to open (to its agent, or into its queue's line); a reminder that has fallen due goes out on a
ticket of its own (closed: a reply reopens it like any other), unless the customer has opted out of that
channel or has no address on it by then, and then it is skipped with the reason. Each outcome is a line on
the customer's timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions import outbound
from app.actions.chat import default_queue
from app.actions.common import (
    add_message,
    customer_line,
    history,
    lock_ticket,
    message_event,
    queue_name,
    ticket_event,
    touch,
)
from app.actions.context import Context
from app.actions.errors import Conflict, Invalid, NotFound
from app.background import Periodic
from app.bus import Event
from app.domain import reminders as R
from app.domain.models import Customer, Identity, Reminder, Ticket
from app.domain.types import utcnow
from app.domain.views import iso

SWEEP_BATCH = 200
LIST_MAX = 500
ADDRESS_KIND = {"email": "email", "sms": "phone"}
ADDRESS_NAME = {"email": "email address", "sms": "phone number"}


def view(r: Reminder) -> dict[str, Any]:
    return {
        "id": r.id,
        "customer_id": r.customer_id,
        "ticket_id": r.ticket_id,
        "kind": r.kind,
        "channel": r.channel,
        "subject": r.subject,
        "body": r.body,
        "due_at": iso(r.due_at),
        "status": r.status,
        "outcome": r.outcome,
        "agent_id": r.agent_id,
        "rule_id": r.rule_id,
        "sent_ticket_id": r.sent_ticket_id,
        "created_at": iso(r.created_at),
        "done_at": iso(r.done_at),
    }


def refusal(customer: Customer | None, channel: str) -> str:
    """Why this customer may not be sent a reminder on this channel now ("" when they may)."""
    if customer is None:
        return "the customer is gone"
    if channel == "email" and customer.email_unsubscribed:
        return "the customer unsubscribed from email"
    if channel == "sms" and customer.sms_opt_out:
        return "the customer opted out of SMS"
    return ""


async def address(s: AsyncSession, customer_id: int, channel: str) -> str | None:
    """The customer's newest address on the channel (an email, a phone number)."""
    row = await s.execute(
        select(Identity.address)
        .where(Identity.customer_id == customer_id, Identity.kind == ADDRESS_KIND[channel])
        .order_by(Identity.id.desc())
        .limit(1)
    )
    return row.scalar_one_or_none()


async def _live_customer(s: AsyncSession, customer_id: int) -> Customer:
    customer = await s.get(Customer, customer_id)
    if customer is None or customer.merged_into_id is not None:
        raise NotFound(f"customer {customer_id} not found")
    return customer


async def schedule(ctx: Context, customer_id: int, body: Any, agent_id: int | None) -> dict[str, Any]:
    """An agent's reminder to a customer. Refused (409) when the customer has opted out of the channel or
    has no address on it."""
    try:
        req = R.check_request(body, utcnow())
    except R.ReminderError as e:
        raise Invalid(str(e), e.code) from None
    async with ctx.db.write() as s:
        customer = await _live_customer(s, customer_id)
        if req["ticket_id"] is not None:
            ticket = await s.get(Ticket, req["ticket_id"])
            if ticket is None or ticket.customer_id != customer_id:
                raise Invalid(f"ticket {req['ticket_id']} is not this customer's", "bad_ticket_id")
        why = refusal(customer, req["channel"])
        if why:
            raise Conflict(why, "opted_out")
        if await address(s, customer_id, req["channel"]) is None:
            raise Conflict(f"customer {customer_id} has no {ADDRESS_NAME[req['channel']]}", "no_address")
        reminder = Reminder(customer_id=customer_id, agent_id=agent_id, status="scheduled", outcome="", **req)
        s.add(reminder)
        await s.flush()
        s.add(
            customer_line(
                customer_id,
                agent_id,
                "reminder",
                f"{reminder.kind} reminder by {reminder.channel} scheduled for {iso(reminder.due_at)}",
                {"reminder_id": reminder.id},
            )
        )
        return view(reminder)


async def from_rule(
    s: AsyncSession, ticket: Ticket, customer: Customer | None, action: dict[str, Any], rule_id: int
) -> str:
    """A rule's `remind` action on a ticket's customer, in the rule's transaction; what it did, for the
    timeline ("" when the rule's reminder for this customer is scheduled already)."""
    if customer is None:
        return "no customer (skipped)"
    due = R.due_for(action, customer.attributes or {}, utcnow())
    if due is None:
        return f"no {action.get('attribute')} date ahead (reminder skipped)"
    waiting = await s.execute(
        select(Reminder.id).where(
            Reminder.rule_id == rule_id, Reminder.customer_id == customer.id, Reminder.status == "scheduled"
        )
    )
    if waiting.first() is not None:
        return ""
    why = refusal(customer, action["channel"])
    if not why and await address(s, customer.id, action["channel"]) is None:
        why = f"no {ADDRESS_NAME[action['channel']]}"
    if why:
        return f"{R.describe(action)}: {why} (skipped)"
    s.add(
        Reminder(
            customer_id=customer.id,
            ticket_id=ticket.id,
            kind=action["kind"],
            channel=action["channel"],
            subject=action.get("subject", ""),
            body=action["body"],
            due_at=due,
            status="scheduled",
            outcome="",
            rule_id=rule_id,
        )
    )
    return f"{R.describe(action)} (due {iso(due)})"


async def cancel(ctx: Context, reminder_id: int, agent_id: int | None) -> dict[str, Any]:
    async with ctx.db.write() as s:
        reminder = await s.get(Reminder, reminder_id, with_for_update=True)
        if reminder is None:
            raise NotFound(f"reminder {reminder_id} not found")
        if reminder.status != "scheduled":
            raise Conflict(f"reminder {reminder_id} is {reminder.status} already", "not_scheduled")
        reminder.status, reminder.done_at = "cancelled", utcnow()
        reminder.outcome = f"cancelled by agent {agent_id}" if agent_id else "cancelled"
        s.add(
            customer_line(
                reminder.customer_id,
                agent_id,
                "reminder",
                f"{reminder.kind} reminder by {reminder.channel} due {iso(reminder.due_at)} cancelled",
                {"reminder_id": reminder.id},
            )
        )
        await s.flush()
        return view(reminder)


async def for_customer(ctx: Context, customer_id: int) -> list[dict[str, Any]]:
    async with ctx.db.read() as s:
        await _live_customer(s, customer_id)
        rows = await s.execute(
            select(Reminder)
            .where(Reminder.customer_id == customer_id)
            .order_by(Reminder.due_at.desc(), Reminder.id.desc())
            .limit(LIST_MAX)
        )
        return [view(r) for r in rows.scalars()]


async def listing(ctx: Context, status: str | None) -> list[dict[str, Any]]:
    """Every customer's reminders (of one status), the soonest due first."""
    if status is not None and status not in R.STATUSES:
        raise Invalid(f"status must be one of {', '.join(R.STATUSES)}", "bad_status")
    query = select(Reminder).order_by(Reminder.due_at, Reminder.id).limit(LIST_MAX)
    if status is not None:
        query = query.where(Reminder.status == status)
    async with ctx.db.read() as s:
        return [view(r) for r in (await s.execute(query)).scalars()]


async def sweep(ctx: Context, now: datetime | None = None) -> tuple[int, int]:
    """Wake the pending tickets whose time has come and send the reminders due. Returns (woken, sent)."""
    now = now or utcnow()
    async with ctx.db.read() as s:
        sleepers = await s.execute(
            select(Ticket.id)
            .where(Ticket.pending_until <= now, Ticket.status == "pending")
            .order_by(Ticket.pending_until)
            .limit(SWEEP_BATCH)
        )
        wake_ids = list(sleepers.scalars())
        due = await s.execute(
            select(Reminder.id)
            .where(Reminder.status == "scheduled", Reminder.due_at <= now)
            .order_by(Reminder.due_at)
            .limit(SWEEP_BATCH)
        )
        due_ids = list(due.scalars())
    woken = sent = 0
    for ticket_id in wake_ids:
        woken += await wake(ctx, ticket_id, now)
    for reminder_id in due_ids:
        sent += await send(ctx, reminder_id, now)
    return woken, sent


async def wake(ctx: Context, ticket_id: int, now: datetime) -> int:
    """A pending ticket whose time has come, open again: its agent's, or waiting in its queue."""
    events: list[Event] = []
    async with ctx.db.write() as s:
        t = await lock_ticket(s, ticket_id)
        if t.status != "pending" or t.pending_until is None or t.pending_until > now:
            return 0
        until, t.pending_until, t.status = t.pending_until, None, "open"
        if t.assignee_id is None:
            t.queued_at = t.queued_at or now
        touch(t)
        history(
            s,
            t,
            "status",
            text=f"woke up: pending until {iso(until)} (pending -> open)",
            data={"pending_until": iso(until)},
        )
        events.append(ticket_event("ticket.updated", t, await queue_name(s, t.queue_id), reason="wake"))
    await ctx.publish(events)
    return 1


async def _queue_for(s: AsyncSession, reminder: Reminder) -> int:
    """The queue of the ticket the reminder is about, else the default one."""
    if reminder.ticket_id is not None:
        about = await s.get(Ticket, reminder.ticket_id)
        if about is not None:
            return about.queue_id
    return (await default_queue(s)).id


async def send(ctx: Context, reminder_id: int, now: datetime) -> int:
    """A reminder that has fallen due: out on a ticket of its own, or skipped with the reason."""
    events: list[Event] = []
    async with ctx.db.write() as s:
        r = await s.get(Reminder, reminder_id, with_for_update=True, populate_existing=True)
        if r is None or r.status != "scheduled" or r.due_at > now:
            return 0
        customer = await s.get(Customer, r.customer_id)
        why = refusal(customer, r.channel)
        to = await address(s, r.customer_id, r.channel) if not why else None
        if not why and to is None:
            why = f"no {ADDRESS_NAME[r.channel]}"
        r.done_at = now
        if why:
            r.status, r.outcome = "skipped", why
            s.add(
                customer_line(
                    r.customer_id,
                    None,
                    "reminder",
                    f"{r.kind} reminder by {r.channel} not sent: {why}",
                    {"reminder_id": r.id},
                )
            )
            return 0
        t = Ticket(
            customer_id=r.customer_id,
            subject=r.subject or f"{r.kind.capitalize()} reminder",
            status="closed",
            priority="normal",
            queue_id=await _queue_for(s, r),
            channel=r.channel,
            tags=["reminder", f"reminder:{r.kind}"],
            last_seq=0,
            version=0,
            created_at=now,
            updated_at=now,
        )
        s.add(t)
        await s.flush()
        msg = await add_message(s, t, body=r.body, author="system", direction="out", status="delivered")
        await outbound.prepare(s, t, msg, ctx.settings.support_address, automated=True)
        msg.meta = {**(msg.meta or {}), "reminder_id": r.id}
        history(
            s,
            t,
            "reminder",
            text=f"{r.kind} reminder sent by {r.channel} to {to}",
            data={"reminder_id": r.id},
        )
        r.status, r.outcome, r.sent_ticket_id = "sent", f"sent to {to}", t.id
        qname = await queue_name(s, t.queue_id)
        events.append(ticket_event("ticket.created", t, qname, reason="reminder"))
        events.append(message_event(t, msg, qname, "Switchboard"))
    await ctx.publish(events)
    return 1


class ReminderWatch(Periodic):
    """The sweep, every `interval_s` (by one process)."""

    name = "reminder-watch"

    def __init__(self, ctx: Context, interval_s: float) -> None:
        super().__init__(interval_s)
        self.ctx = ctx

    async def once(self) -> tuple[int, int]:
        return await sweep(self.ctx)
