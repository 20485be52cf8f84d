"""Pieces every ticket-writing action shares: locking a ticket, numbering its messages, the history line
written in the same transaction, and the events that go out after commit. Each exists twice: for the ORM
(an AsyncSession and a Ticket object) and for the Core paths the hot actions take (a Connection and the
ticket's row as a dict: the chat writer, inbound messages, the bot's handoff)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions.errors import Invalid, NotFound
from app.bus import Event
from app.domain.models import Agent, Base, HistoryEntry, Message, Queue, Ticket
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


_T, _Q, _M, _H = (Base.metadata.tables[name] for name in ("tickets", "queues", "messages", "history"))
# tickets as the events show them (app.domain.views.ticket_view), with their queue's name, locked (FOR UPDATE
# on PostgreSQL; SQLite has one writer); add the WHERE
LOCKED_TICKETS = (
    select(_T, _Q.c.name.label("queue_name")).join(_Q, _Q.c.id == _T.c.queue_id).with_for_update(of=_T)
)
LOCKED_TICKET = LOCKED_TICKETS.where(_T.c.id == bindparam("id"))
_SAVE_TICKET = (
    update(_T)
    .where(_T.c.id == bindparam("tid"))
    .values(
        status=bindparam("status"),
        queued_at=bindparam("queued_at"),
        resolved_at=bindparam("resolved_at"),
        last_seq=bindparam("last_seq"),
        version=bindparam("version"),
        updated_at=bindparam("updated_at"),
    )
)
# statements with every column bound: one compiled form each, cached
_INSERT_MESSAGE = insert(_M).returning(_M.c.id)
INSERT_HISTORY = insert(_H)


def save_ticket(c: Connection, ticket: dict[str, Any]) -> None:
    """Write back what the Core paths change of a ticket's row: its status, its queue and resolution times,
    its message count and version."""
    saved = ("status", "queued_at", "resolved_at", "last_seq", "version", "updated_at")
    c.execute(_SAVE_TICKET, {"tid": ticket["id"], **{k: ticket[k] for k in saved}})


def append_message(
    c: Connection,
    ticket: dict[str, Any],
    at: datetime,
    *,
    body: str,
    author: str,
    direction: str,
    internal: bool = False,
    status: str | None = None,
    external_id: str | None = None,
    meta: dict[str, Any] | None = None,
    channel: str | None = None,
) -> StoredMessage:
    """`add_message` on a ticket's row: the message numbered and inserted, the row's count and version bumped
    (`save_ticket` writes them); its history line is the caller's (`history_row`), to insert with others.
    `channel`: the one it came by, when that is not the ticket's (a mail that joins an SMS conversation); its
    external id is unique on that channel."""
    ticket["last_seq"] += 1
    ticket["version"] += 1
    ticket["updated_at"] = at
    row = {
        "ticket_id": ticket["id"],
        "seq": ticket["last_seq"],
        "body": body,
        "author": author,
        "direction": direction,
        "internal": internal,
        "channel": channel or ticket["channel"],
        "status": status,
        "agent_id": None,
        "created_at": at,
    }
    message_id = c.execute(
        _INSERT_MESSAGE,
        {**row, "external_id": external_id, "meta": meta or {}, "attempts": 0, "next_attempt_at": None},
    ).scalar_one()
    return StoredMessage(id=message_id, **row)


def history_row(
    ticket: dict[str, Any],
    at: datetime,
    kind: str,
    *,
    author: str = "system",
    text: str = "",
    message: StoredMessage | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A history row of a ticket's, for INSERT_HISTORY: `history` on a ticket's row, or with `message`, the
    line `add_message` writes for it."""
    row = {
        "customer_id": ticket["customer_id"],
        "ticket_id": ticket["id"],
        "message_id": None,
        "kind": kind,
        "channel": ticket["channel"],
        "direction": None,
        "author": author,
        "agent_id": None,
        "text": text,
        "data": data or {},
        "at": at,
    }
    if message is not None:
        row.update(
            message_id=message.id,
            channel=message.channel,
            kind="note" if message.internal else "message",
            direction=message.direction,
            author=message.author,
            agent_id=message.agent_id,
        )
    return row


async def lock_agent(s: AsyncSession, agent_id: int) -> Agent:
    """The agent, locked for this transaction; NotFound when there is none."""
    agent = await s.get(Agent, agent_id, with_for_update=True)
    if agent is None:
        raise NotFound(f"agent {agent_id} not found")
    return agent


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


def clean_tags(raw: Any) -> list[str]:
    """Tags as stored on a ticket or a customer: a sorted list of distinct texts of 1 to 64 characters."""
    if (
        not isinstance(raw, list)
        or len(raw) > 100
        or not all(isinstance(t, str) and 0 < len(t) <= 64 for t in raw)
    ):
        raise Invalid("tags must be a list of strings of 1 to 64 characters", "bad_tags")
    return sorted(set(raw))


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


def customer_line(
    customer_id: int, agent_id: int | None, kind: str, text: str, data: dict[str, Any]
) -> HistoryEntry:
    """A line on a customer's timeline that belongs to no ticket (a profile change, a note, a merge), by an
    agent or, without one, the system."""
    return HistoryEntry(
        customer_id=customer_id,
        kind=kind,
        author="agent" if agent_id else "system",
        agent_id=agent_id,
        text=text,
        data=data,
        at=utcnow(),
    )


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
