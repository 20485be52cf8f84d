"""Pieces every ticket-writing action shares: locking a ticket, numbering its messages, the history line
written in the same transaction, and the events that go out after commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions.errors import NotFound
from app.bus import Event
from app.domain.models import Agent, HistoryEntry, Message, Queue, Ticket
from app.domain.types import utcnow
from app.domain.views import MessageFields, TicketFields, message_view, ticket_view, widget_message

SUPERVISORS = "supervisors"


@dataclass(frozen=True)
class StoredMessage:
    """A message as a Core path stored it (the chat writer, inbound channels, the bot's handoff), as the
    views read it (app.domain.views.MessageFields); a customer's by default."""

    id: int
    ticket_id: int
    seq: int
    body: str
    created_at: datetime
    channel: str
    author: str = "customer"
    agent_id: int | None = None
    direction: str = "in"
    internal: bool = False
    status: str | None = None


async def lock_ticket(s: AsyncSession, ticket_id: int) -> Ticket:
    """The ticket, locked for this transaction (FOR UPDATE on PostgreSQL; SQLite has one writer)."""
    ticket = (
        await s.execute(
            select(Ticket)
            .where(Ticket.id == ticket_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} not found")
    return ticket


async def queue_name(s: AsyncSession, queue_id: int) -> str:
    queue = await s.get(Queue, queue_id)
    return queue.name if queue is not None else ""


def touch(ticket: Ticket) -> None:
    """Every change to a ticket bumps its version: events carry it as their seq."""
    ticket.version += 1
    ticket.updated_at = utcnow()


def history(
    s: AsyncSession,
    ticket: Ticket,
    kind: str,
    *,
    author: str = "system",
    text: str = "",
    agent_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> HistoryEntry:
    entry = HistoryEntry(
        customer_id=ticket.customer_id,
        ticket_id=ticket.id,
        kind=kind,
        channel=ticket.channel,
        author=author,
        agent_id=agent_id,
        text=text,
        data=data or {},
        at=utcnow(),
    )
    s.add(entry)
    return entry


async def add_message(
    s: AsyncSession,
    ticket: Ticket,
    *,
    body: str,
    author: str,
    direction: str,
    internal: bool = False,
    agent_id: int | None = None,
    external_id: str | None = None,
    status: str | None = None,
    meta: dict[str, Any] | None = None,
) -> Message:
    """Append a message to a locked ticket, with its history line."""
    ticket.last_seq += 1
    touch(ticket)
    now = utcnow()
    msg = Message(
        ticket_id=ticket.id,
        seq=ticket.last_seq,
        body=body,
        author=author,
        direction=direction,
        internal=internal,
        channel=ticket.channel,
        external_id=external_id,
        agent_id=agent_id,
        status=status,
        created_at=now,
        meta=meta if meta is not None else {},
    )
    s.add(msg)
    await s.flush()
    s.add(
        HistoryEntry(
            customer_id=ticket.customer_id,
            ticket_id=ticket.id,
            message_id=msg.id,
            kind="note" if internal else "message",
            channel=ticket.channel,
            direction=direction,
            author=author,
            agent_id=agent_id,
            at=now,
        )
    )
    return msg


def ticket_topics(ticket: TicketFields, *extra_agents: int | None) -> tuple[str, ...]:
    topics = [f"queue:{ticket.queue_id}", SUPERVISORS]
    for agent_id in (ticket.assignee_id, *extra_agents):
        if agent_id is not None and f"agent:{agent_id}" not in topics:
            topics.append(f"agent:{agent_id}")
    return tuple(topics)


def ticket_event(
    kind: str, ticket: TicketFields, qname: str, *extra_agents: int | None, **data: Any
) -> Event:
    payload: dict[str, Any] = {"ticket_id": ticket.id, "ticket": ticket_view(ticket, qname), **data}
    if kind == "ticket.assigned":
        payload["assignee_id"] = ticket.assignee_id
    return Event(kind, ticket.version, payload, ticket_topics(ticket, *extra_agents))


def message_event(
    ticket: TicketFields, msg: MessageFields, qname: str, author_name: str | None = None
) -> Event:
    data: dict[str, Any] = {
        "ticket_id": ticket.id,
        "message": message_view(msg),
        "body": msg.body,
        "author": msg.author,
        "internal": msg.internal,
        "ticket": ticket_view(ticket, qname),
    }
    topics = ticket_topics(ticket)
    if not msg.internal:
        data["widget"] = widget_message(msg, author_name)
        topics = (*topics, f"conversation:{ticket.id}")
    return Event("message.created", ticket.version, data, topics)


async def agent_name(s: AsyncSession, agent_id: int | None) -> str | None:
    if agent_id is None:
        return None
    agent = await s.get(Agent, agent_id)
    return agent.name if agent is not None else None
