"""Ticket actions: the bot's answer, the handoff to a person, an agent's reply or note, changes an agent
makes (status, priority, assignee, queue, tags), and putting unanswered tickets back in the queue."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists, select

from app.actions import outbound
from app.actions.common import (
    add_message,
    history,
    lock_ticket,
    message_event,
    queue_name,
    ticket_event,
    touch,
)
from app.actions.context import Context
from app.actions.errors import Invalid
from app.bus import Event
from app.domain.models import ACTIVE_STATUSES, PRIORITIES, TICKET_STATUSES, Agent, Message, Queue, Ticket
from app.domain.types import utcnow
from app.domain.views import ticket_view

HANDOFF_TEXT = "Let me connect you with a person. An agent will be with you shortly."
MAX_BODY = 64 * 1024


async def bot_answer(
    ctx: Context, ticket_id: int, answer: str, entry_id: int | None, confidence: float, inline: bool = False
) -> bool:
    """The bot answers, while the ticket is still the bot's (status new). `inline`: the caller delivers the
    answer itself (in the SMS webhook's TwiML), so it is not queued for the REST API."""
    async with ctx.db.write() as s:
        ticket = await lock_ticket(s, ticket_id)
        if ticket.status != "new" or ticket.queued_at is not None:
            return False
        if ticket.channel != "chat":
            # one automated answer per ticket outside chat: a second question goes to a person
            answered = await s.execute(
                select(Message.id).where(Message.ticket_id == ticket.id, Message.author == "bot").limit(1)
            )
            if answered.first() is not None:
                return False
        msg = await add_message(s, ticket, body=answer, author="bot", direction="out", status="delivered")
        if inline:
            msg.status = "sent"
            msg.meta = {"via": "twiml", "automated": True}
        elif ticket.channel != "chat":
            await outbound.prepare(s, ticket, msg, ctx.settings.support_address, automated=True)
        history(
            s,
            ticket,
            "bot.answer",
            author="bot",
            text=f"FAQ entry {entry_id}, confidence {confidence:.2f}",
            data={"entry_id": entry_id, "confidence": confidence},
        )
        events = [message_event(ticket, msg, await queue_name(s, ticket.queue_id), "Bot")]
    await ctx.publish(events)
    return True


async def handoff(ctx: Context, ticket_id: int, reason: str, confidence: float | None = None) -> bool:
    """The bot steps aside: the ticket joins its queue and waits for an agent (the router takes it)."""
    async with ctx.db.write() as s:
        ticket = await lock_ticket(s, ticket_id)
        if ticket.queued_at is not None or ticket.status not in ("new", "open", "pending"):
            return False
        now = utcnow()
        ticket.status = "open"
        ticket.queued_at = now
        touch(ticket)
        history(
            s,
            ticket,
            "handoff",
            author="bot",
            text=f"handed to a person: {reason}",
            data={"reason": reason, "confidence": confidence},
        )
        # chat shows the notice at once; elsewhere nothing would deliver it, so it is a note for the agents
        chat = ticket.channel == "chat"
        msg = await add_message(
            s,
            ticket,
            body=HANDOFF_TEXT if chat else f"Handed to a person: {reason}",
            author="system",
            direction="out",
            status="delivered" if chat else None,
            internal=not chat,
        )
        qname = await queue_name(s, ticket.queue_id)
        events = [
            message_event(ticket, msg, qname),
            ticket_event("ticket.updated", ticket, qname, reason="handoff"),
        ]
    await ctx.publish(events)
    return True


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
    """PATCH: status, priority, assignee_id, queue, tags. Returns the ticket's view."""
    allowed = {"status", "priority", "assignee_id", "queue", "tags"}
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
        if "priority" in changes:
            if changes["priority"] not in PRIORITIES:
                raise Invalid(f"priority must be one of {', '.join(PRIORITIES)}", "bad_priority")
            if changes["priority"] != ticket.priority:
                notes.append(f"priority {ticket.priority} -> {changes['priority']}")
                ticket.priority = changes["priority"]
        if "tags" in changes:
            tags = changes["tags"]
            if not isinstance(tags, list) or not all(isinstance(t, str) and 0 < len(t) <= 64 for t in tags):
                raise Invalid("tags must be a list of strings of 1 to 64 characters", "bad_tags")
            ticket.tags = sorted(set(tags))
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
