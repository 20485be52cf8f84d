"""Ticket actions: the bot's turn (an answer, a clarifying question, or the handoff to a person), an
agent's reply or note, changes an agent makes (status, priority, assignee, queue, tags), and putting
unanswered tickets back in the queue."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import and_, bindparam, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.actions import outbound
from app.actions.common import (
    INSERT_HISTORY,
    LOCKED_TICKET,
    add_message,
    append_message,
    clean_tags,
    history,
    history_row,
    lock_ticket,
    message_event,
    queue_name,
    save_ticket,
    ticket_event,
    touch,
)
from app.actions.context import Context
from app.actions.errors import Invalid, NotFound
from app.bus import Event
from app.domain.models import (
    ACTIVE_STATUSES,
    PRIORITIES,
    TICKET_STATUSES,
    Agent,
    Base,
    Message,
    Queue,
    Ticket,
)
from app.domain.reminders import ReminderError, parse_time
from app.domain.types import utcnow
from app.domain.views import iso, ticket_view

HANDOFF_TEXT = "Let me connect you with a person. An agent will be with you shortly."
# what the handoff's history line and the agents' note say for the bot's reasons
HANDOFF_REASONS = {
    "asked_for_human": "the customer asked for a person",
    "not_helped": "the customer said the bot's answer did not help",
    "low_confidence": "the bot was not sure of the answer",
    "low_confidence_twice": "the bot was not sure of the answer twice in a row",
    "already_answered": "the customer wrote again after the bot's automated answer",
    "empty_kb": "the bot has no FAQ entries",
}
MAX_BODY = 64 * 1024


@dataclass(frozen=True)
class BotState:
    """Where the conversation stands for the bot, read under the ticket's lock."""

    channel: str
    last_bot: str | None  # "answer" or "clarify" when a reply of the bot's is the last the customer got
    answered: bool  # the bot answered this ticket at least once


@dataclass(frozen=True)
class BotStep:
    """What the bot does with a customer's message: "answer" or "clarify" (`body`, with the FAQ entry and
    confidence it rests on), "handoff" (`reason`), or "none" (nothing to answer)."""

    kind: str
    body: str = ""
    entry_id: int | None = None
    confidence: float | None = None
    reason: str = ""


NO_STEP = BotStep("none")


async def bot_turn(
    ctx: Context, ticket_id: int, decide: Callable[[BotState], BotStep], inline: bool = False
) -> BotStep | None:
    """The bot's turn on a ticket that is still the bot's (status new, not waiting): `decide` (pure, the
    bot's policy) sees the conversation's state under the ticket's lock, so two messages answered at once
    see each other's replies; its step is written in the same transaction. None when the ticket is not the
    bot's any more. `inline`: the caller delivers an answer or clarification itself (in the SMS webhook's
    TwiML), so it is not queued for the REST API. The lock, the state and a handoff are Core statements
    (a new conversation's handoff was a quarter of an inbound mail's CPU through the ORM)."""
    async with ctx.db.write() as s:
        ticket, state = await s.run_sync(_bot_view, ticket_id)
        if ticket["status"] != "new" or ticket["queued_at"] is not None:
            return None
        step = decide(state)
        if step.kind == "handoff":
            events = await s.run_sync(_handoff, ticket, step)
        elif step.kind in ("answer", "clarify"):
            events = await _bot_reply(ctx, s, await lock_ticket(s, ticket_id), step, inline)
        else:
            return step
    await ctx.publish(events)
    return step


_M, _H = (Base.metadata.tables[name] for name in ("messages", "history"))
# the last message the customer got, and whether the bot ever answered (if it did, there is a last message)
_LAST_OUT = (
    select(
        _M.c.author,
        _M.c.meta,
        exists().where(_H.c.ticket_id == bindparam("id"), _H.c.kind == "bot.answer"),
    )
    .where(_M.c.ticket_id == bindparam("id"), _M.c.direction == "out", _M.c.internal.is_(False))
    .order_by(_M.c.seq.desc())
    .limit(1)
)


def _bot_view(session: Session, ticket_id: int) -> tuple[dict[str, Any], BotState]:
    """The ticket's row, locked, and where its conversation stands for the bot."""
    c = session.connection()
    row = c.execute(LOCKED_TICKET, {"id": ticket_id}).first()
    if row is None:
        raise NotFound(f"ticket {ticket_id} not found")
    ticket = row._asdict()
    last = c.execute(_LAST_OUT, {"id": ticket_id}).first()
    if last is None:
        return ticket, BotState(ticket["channel"], None, False)
    author, meta, has_answered = last
    last_bot = None
    if author == "bot":
        last_bot = "clarify" if (meta or {}).get("bot") == "clarify" else "answer"
    return ticket, BotState(ticket["channel"], last_bot, bool(has_answered))


async def _bot_reply(
    ctx: Context, s: AsyncSession, ticket: Ticket, step: BotStep, inline: bool
) -> list[Event]:
    """The bot's answer or clarifying question: a message to the customer and its line on their timeline,
    with the FAQ entry and confidence."""
    msg = await add_message(s, ticket, body=step.body, author="bot", direction="out", status="delivered")
    if inline:
        msg.status = "sent"
        msg.meta = {"via": "twiml", "automated": True}
    elif ticket.channel != "chat":
        await outbound.prepare(s, ticket, msg, ctx.settings.support_address, automated=True)
    msg.meta = {**(msg.meta or {}), "bot": step.kind}
    confidence = step.confidence if step.confidence is not None else 0.0
    if step.kind == "answer":
        text = f"FAQ entry {step.entry_id}, confidence {confidence:.2f}"
    else:
        text = f"asked to rephrase: not sure (best FAQ entry {step.entry_id}, confidence {confidence:.2f})"
    history(
        s,
        ticket,
        f"bot.{step.kind}",
        author="bot",
        text=text,
        data={"entry_id": step.entry_id, "confidence": step.confidence, "message_id": msg.id},
    )
    return [message_event(ticket, msg, await queue_name(s, ticket.queue_id), "Bot")]


def _handoff(session: Session, ticket: dict[str, Any], step: BotStep) -> list[Event]:
    """To the queue: the ticket waits for a person, with a line on the timeline saying why, and a message:
    chat shows the customer a notice at once; elsewhere nothing would deliver it, so it is a note for the
    agents."""
    c = session.connection()
    now = utcnow()
    chat = ticket["channel"] == "chat"
    why = HANDOFF_REASONS.get(step.reason, step.reason)
    ticket.update(status="open", queued_at=now, updated_at=now, version=ticket["version"] + 1)
    msg = append_message(
        c,
        ticket,
        now,
        body=HANDOFF_TEXT if chat else f"Handed to a person: {why}",
        author="system",
        direction="out",
        internal=not chat,
        status="delivered" if chat else None,
    )
    save_ticket(c, ticket)
    data = {"reason": step.reason, "confidence": step.confidence, "entry_id": step.entry_id}
    c.execute(
        INSERT_HISTORY,
        [
            history_row(ticket, now, "handoff", author="bot", text=f"handed to a person: {why}", data=data),
            history_row(ticket, now, "message", message=msg),
        ],
    )
    row = SimpleNamespace(**ticket)
    return [
        message_event(row, msg, ticket["queue_name"]),
        ticket_event("ticket.updated", row, ticket["queue_name"], reason="handoff"),
    ]


async def agent_reply(ctx: Context, agent: Agent, ticket_id: int, body: str, internal: bool) -> Message:
    """An agent's reply (delivered through the ticket's channel) or internal note (never sent)."""
    if not body.strip():
        raise Invalid("body must not be empty", "empty")
    if len(body.encode()) > MAX_BODY:
        raise Invalid(f"body is over {MAX_BODY} bytes", "too_large")
    async with ctx.db.write() as s:
        ticket = await lock_ticket(s, ticket_id)
        if internal:
            msg = await add_message(
                s, ticket, body=body, author="agent", direction="out", internal=True, agent_id=agent.id
            )
        else:
            # chat: delivered by the socket fan-out right after commit; other channels queue for app.delivery
            msg = await add_message(
                s, ticket, body=body, author="agent", direction="out", agent_id=agent.id, status="delivered"
            )
            if ticket.channel != "chat":
                await outbound.prepare(s, ticket, msg, ctx.settings.support_address, automated=False)
            if ticket.first_response_at is None:
                ticket.first_response_at = msg.created_at
            if ticket.status in ("new", "pending", "resolved", "closed"):
                old = ticket.status
                ticket.status = "open"
                history(
                    s,
                    ticket,
                    "status",
                    text=f"status {old} -> open",
                    agent_id=agent.id,
                    data={"from": old, "to": "open"},
                )
        qname = await queue_name(s, ticket.queue_id)
        events = [message_event(ticket, msg, qname, agent.name)]
    await ctx.publish(events)
    return msg


async def update_ticket(
    ctx: Context, agent: Agent, ticket_id: int, changes: dict[str, Any]
) -> dict[str, Any]:
    """PATCH: status, priority, assignee_id, queue, tags, pending_until (when a pending ticket wakes up; null:
    never). Returns the ticket's view."""
    allowed = {"status", "priority", "assignee_id", "queue", "tags", "pending_until"}
    unknown = set(changes) - allowed
    if unknown:
        raise Invalid(f"unknown fields: {', '.join(sorted(unknown))}", "unknown_field")
    events: list[Event] = []
    async with ctx.db.write() as s:
        ticket = await lock_ticket(s, ticket_id)
        before_assignee = ticket.assignee_id
        notes: list[str] = []
        if "status" in changes:
            status = changes["status"]
            if status not in TICKET_STATUSES:
                raise Invalid(f"status must be one of {', '.join(TICKET_STATUSES)}", "bad_status")
            if status != ticket.status:
                notes.append(f"status {ticket.status} -> {status}")
                if status in ("resolved", "closed"):
                    ticket.resolved_at = ticket.resolved_at or utcnow()
                else:
                    ticket.resolved_at = None
                ticket.status = status
                if status != "pending":
                    ticket.pending_until = None
        if "pending_until" in changes:
            until = _wake_time(changes["pending_until"])
            if until is not None and ticket.status != "pending":
                raise Invalid("pending_until is for a pending ticket: set status pending too", "not_pending")
            if until != ticket.pending_until:
                notes.append(f"pending until {iso(until)}" if until else "pending with no wake-up time")
                ticket.pending_until = until
        if "priority" in changes:
            if changes["priority"] not in PRIORITIES:
                raise Invalid(f"priority must be one of {', '.join(PRIORITIES)}", "bad_priority")
            if changes["priority"] != ticket.priority:
                notes.append(f"priority {ticket.priority} -> {changes['priority']}")
                ticket.priority = changes["priority"]
        if "tags" in changes:
            ticket.tags = clean_tags(changes["tags"])
            notes.append("tags " + ", ".join(ticket.tags))
        if "queue" in changes:
            name = changes["queue"]
            queue = (await s.execute(select(Queue).where(Queue.name == str(name)))).scalar_one_or_none()
            if queue is None:
                raise Invalid(f"no queue named {name!r}", "unknown_queue")
            if queue.id != ticket.queue_id:
                notes.append(f"queue {await queue_name(s, ticket.queue_id)} -> {queue.name}")
                ticket.queue_id = queue.id
                if "assignee_id" not in changes and ticket.assignee_id is not None:
                    # a transfer to another queue puts the ticket back in line there
                    changes = {**changes, "assignee_id": None}
        if "assignee_id" in changes:
            target = changes["assignee_id"]
            if target is not None:
                if isinstance(target, bool) or not isinstance(target, int):
                    raise Invalid("assignee_id must be an agent id or null", "bad_assignee")
                other = await s.get(Agent, target)
                if other is None or not other.active:
                    raise Invalid(f"no agent {target}", "unknown_agent")
            if target != ticket.assignee_id:
                ticket.assignee_id = target
                ticket.assigned_at = utcnow() if target is not None else None
                if target is None and ticket.status in ACTIVE_STATUSES:
                    ticket.queued_at = ticket.queued_at or utcnow()
                notes.append(f"assignee {before_assignee} -> {target}")
        if not notes:
            return ticket_view(ticket, await queue_name(s, ticket.queue_id))
        touch(ticket)
        history(
            s,
            ticket,
            "update",
            author="agent",
            agent_id=agent.id,
            text="; ".join(notes),
            data={k: v for k, v in changes.items()},
        )
        qname = await queue_name(s, ticket.queue_id)
        if ticket.assignee_id != before_assignee and ticket.assignee_id is not None:
            events.append(ticket_event("ticket.assigned", ticket, qname, before_assignee))
        else:
            events.append(
                ticket_event("ticket.updated", ticket, qname, before_assignee, freed_agent_id=before_assignee)
            )
        view = events[-1].data["ticket"]
    await ctx.publish(events)
    return dict(view)


def _wake_time(raw: Any) -> datetime | None:
    if raw is None:
        return None
    try:
        return parse_time(raw, "pending_until", utcnow())
    except ReminderError as e:
        raise Invalid(str(e), e.code) from None


async def requeue_unanswered(ctx: Context, agent_id: int) -> int:
    """An agent went away: tickets they were given but never answered go back to the queue."""
    events: list[Event] = []
    async with ctx.db.write() as s:
        answered = exists().where(
            and_(
                Message.ticket_id == Ticket.id,
                Message.author == "agent",
                Message.agent_id == agent_id,
                Message.internal.is_(False),
                Message.created_at >= Ticket.assigned_at,
            )
        )
        tickets = (
            (
                await s.execute(
                    select(Ticket)
                    .where(Ticket.assignee_id == agent_id, Ticket.status.in_(ACTIVE_STATUSES), ~answered)
                    .with_for_update()
                )
            )
            .scalars()
            .all()
        )
        for ticket in tickets:
            ticket.assignee_id = None
            ticket.assigned_at = None
            ticket.queued_at = ticket.queued_at or utcnow()
            touch(ticket)
            history(
                s,
                ticket,
                "requeue",
                text="back to the queue: the agent went away before answering",
                data={"agent_id": agent_id},
            )
            events.append(
                ticket_event(
                    "ticket.updated", ticket, await queue_name(s, ticket.queue_id), agent_id, reason="requeue"
                )
            )
    await ctx.publish(events)
    return len(events)
