"""Merging two tickets of one customer (the other's messages join this one's thread, the other is closed
pointing here), and splitting a message off into a ticket of its own."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions.common import history, lock_ticket, queue_name, ticket_event, touch
from app.actions.context import Context
from app.actions.errors import Invalid, NotFound
from app.bus import Event
from app.domain.models import Attachment, Call, ChatSession, HistoryEntry, Message, Ticket
from app.domain.types import utcnow

MERGED_TAG = "merged"


async def _move(s: AsyncSession, messages: list[Message], source: Ticket, target: Ticket) -> list[int]:
    """Messages to the target's thread, numbered after its last, in the order they were written; their
    attachments and timeline lines follow them. Returns their ids."""
    ids = [m.id for m in messages]
    for m in sorted(messages, key=lambda m: (m.created_at, m.seq)):
        target.last_seq += 1
        m.ticket_id, m.seq = target.id, target.last_seq
    if ids:
        await s.flush()  # the seqs first: (ticket_id, seq) is unique
        await s.execute(update(Attachment).where(Attachment.message_id.in_(ids)).values(ticket_id=target.id))
        await s.execute(
            update(HistoryEntry)
            .where(HistoryEntry.message_id.in_(ids), HistoryEntry.ticket_id == source.id)
            .values(ticket_id=target.id)
        )
    return ids


async def merge(ctx: Context, agent_id: int, target_id: int, source_id: int) -> dict[str, Any]:
    """Move every message of `source` into `target` (same customer), with its calls and chat visitor;
    `source` is closed, tagged merged, and its timeline says where it went."""
    if target_id == source_id:
        raise Invalid("a ticket cannot be merged into itself", "same_ticket")
    events: list[Event] = []
    async with ctx.db.write() as s:
        first, second = sorted((target_id, source_id))  # locks always taken in one order
        locked = {first: await lock_ticket(s, first), second: await lock_ticket(s, second)}
        target, source = locked[target_id], locked[source_id]
        if target.customer_id != source.customer_id:
            raise Invalid(
                "only tickets of one customer can be merged (merge the customers first)", "other_customer"
            )
        if MERGED_TAG in (source.tags or []) and source.status == "closed":
            raise Invalid(f"ticket {source_id} was merged already", "merged_already")
        messages = list(
            (
                await s.execute(select(Message).where(Message.ticket_id == source.id).order_by(Message.seq))
            ).scalars()
        )
        moved = await _move(s, messages, source, target)
        await s.execute(update(Call).where(Call.ticket_id == source.id).values(ticket_id=target.id))
        await s.execute(
            update(ChatSession).where(ChatSession.ticket_id == source.id).values(ticket_id=target.id)
        )
        target.tags = sorted(set(target.tags or []) | set(source.tags or []))
        responses = [t for t in (target.first_response_at, source.first_response_at) if t is not None]
        target.first_response_at = min(responses) if responses else None
        freed = source.assignee_id
        # closed, not resolved: its conversation goes on in the target (the reports count no resolution)
        source.status, source.queued_at = "closed", None
        source.tags = sorted(set(source.tags or []) | {MERGED_TAG})
        touch(target)
        touch(source)
        data = {"into": target.id, "from": source.id, "messages": len(moved)}
        history(
            s,
            target,
            "ticket.merged",
            author="agent",
            agent_id=agent_id,
            text=f"ticket #{source.id} merged into this one ({_count(len(moved))})",
            data=data,
        )
        history(
            s,
            source,
            "ticket.merged",
            author="agent",
            agent_id=agent_id,
            text=f"merged into ticket #{target.id}",
            data=data,
        )
        await s.flush()
        events.append(
            ticket_event(
                "ticket.updated", target, await queue_name(s, target.queue_id), reason="merged", **data
            )
        )
        events.append(
            ticket_event(
                "ticket.updated",
                source,
                await queue_name(s, source.queue_id),
                freed,
                freed_agent_id=freed,
                reason="merged",
                **data,
            )
        )
        view = dict(events[0].data["ticket"])
    await ctx.publish(events)
    return view


async def split(ctx: Context, agent_id: int, ticket_id: int, message_id: Any) -> dict[str, Any]:
    """A customer's message (about something else) becomes a ticket of its own: same customer, channel and
    queue, waiting for a person; the agent replies there."""
    if isinstance(message_id, bool) or not isinstance(message_id, int):
        raise Invalid("message_id must be the id of a message of this ticket", "bad_message")
    events: list[Event] = []
    async with ctx.db.write() as s:
        source = await lock_ticket(s, ticket_id)
        msg = await s.get(Message, message_id, with_for_update=True)
        if msg is None or msg.ticket_id != source.id:
            raise NotFound(f"ticket {ticket_id} has no message {message_id}")
        if msg.author != "customer":
            raise Invalid("only a customer's message can start a ticket of its own", "not_customer")
        if source.last_seq <= 1:
            raise Invalid("the ticket has one message: nothing to split off", "single_message")
        now = utcnow()
        new = Ticket(
            customer_id=source.customer_id,
            subject=" ".join(msg.body.split())[:80] or source.subject,
            status="new",
            priority=source.priority,
            queue_id=source.queue_id,
            channel=msg.channel,
            tags=[],
            queued_at=now,
            last_seq=0,
            version=0,
            created_at=now,
            updated_at=now,
        )
        s.add(new)
        await s.flush()
        await _move(s, [msg], source, new)
        touch(new)
        touch(source)
        data = {"from": source.id, "into": new.id, "message_id": msg.id}
        history(
            s,
            new,
            "ticket.created",
            author="agent",
            agent_id=agent_id,
            text=f"split off ticket #{source.id}",
            data=data,
        )
        history(
            s,
            source,
            "ticket.split",
            author="agent",
            agent_id=agent_id,
            text=f"a message split off into ticket #{new.id}",
            data=data,
        )
        await s.flush()
        events.append(
            ticket_event("ticket.created", new, await queue_name(s, new.queue_id), reason="split", **data)
        )
        events.append(
            ticket_event(
                "ticket.updated", source, await queue_name(s, source.queue_id), reason="split", **data
            )
        )
        view = dict(events[0].data["ticket"])
    await ctx.publish(events)
    return view


def _count(n: int) -> str:
    return f"{n} message" if n == 1 else f"{n} messages"


async def merged_into(s: AsyncSession, ticket_id: int) -> int | None:
    """Where a merged ticket went (from its timeline)."""
    rows = await s.execute(
        select(HistoryEntry.data)
        .where(HistoryEntry.ticket_id == ticket_id, HistoryEntry.kind == "ticket.merged")
        .order_by(HistoryEntry.id.desc())
    )
    for data in rows.scalars():
        if data and data.get("from") == ticket_id:
            return int(data["into"])
    return None
