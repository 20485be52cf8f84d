"""JSON shapes of the domain objects, shared by the REST API and the websocket events."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from app.domain.models import Agent, Customer, HistoryEntry, Message, Queue


class TicketFields(Protocol):
    """What the views read of a ticket: an ORM `Ticket`, or a row of the tickets table (the chat writer's
    Core path builds its events from rows, without the ORM)."""

    @property
    def id(self) -> int: ...
    @property
    def customer_id(self) -> int: ...
    @property
    def subject(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def priority(self) -> str: ...
    @property
    def queue_id(self) -> int: ...
    @property
    def assignee_id(self) -> int | None: ...
    @property
    def channel(self) -> str: ...
    @property
    def tags(self) -> list[str]: ...
    @property
    def queued_at(self) -> datetime | None: ...
    @property
    def assigned_at(self) -> datetime | None: ...
    @property
    def first_response_at(self) -> datetime | None: ...
    @property
    def resolved_at(self) -> datetime | None: ...
    @property
    def first_response_due_at(self) -> datetime | None: ...
    @property
    def resolution_due_at(self) -> datetime | None: ...
    @property
    def first_response_breached_at(self) -> datetime | None: ...
    @property
    def resolution_breached_at(self) -> datetime | None: ...
    @property
    def pending_until(self) -> datetime | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def version(self) -> int: ...


class MessageFields(Protocol):
    """What the views read of a message: an ORM `Message` or the chat writer's plain record of one."""

    @property
    def id(self) -> int: ...
    @property
    def ticket_id(self) -> int: ...
    @property
    def seq(self) -> int: ...
    @property
    def body(self) -> str: ...
    @property
    def author(self) -> str: ...
    @property
    def agent_id(self) -> int | None: ...
    @property
    def direction(self) -> str: ...
    @property
    def internal(self) -> bool: ...
    @property
    def channel(self) -> str: ...
    @property
    def status(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...


def iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def ticket_view(t: TicketFields, queue_name: str) -> dict[str, Any]:
    return {
        "id": t.id,
        "customer_id": t.customer_id,
        "subject": t.subject,
        "status": t.status,
        "priority": t.priority,
        "queue": queue_name,
        "queue_id": t.queue_id,
        "assignee_id": t.assignee_id,
        "channel": t.channel,
        "tags": list(t.tags or []),
        "waiting": t.queued_at is not None and t.assignee_id is None and t.status in ("new", "open"),
        "queued_at": iso(t.queued_at),
        "assigned_at": iso(t.assigned_at),
        "first_response_at": iso(t.first_response_at),
        "resolved_at": iso(t.resolved_at),
        # a pending ticket wakes up (back to open) then
        "pending_until": iso(t.pending_until) if t.status == "pending" else None,
        # the SLA: when the first response and the resolution are due, and when they were missed
        "sla": {
            "first_response_due_at": iso(t.first_response_due_at),
            "resolution_due_at": iso(t.resolution_due_at),
            "first_response_breached_at": iso(t.first_response_breached_at),
            "resolution_breached_at": iso(t.resolution_breached_at),
        },
        "created_at": iso(t.created_at),
        "updated_at": iso(t.updated_at),
        "version": t.version,
    }


def message_view(m: MessageFields) -> dict[str, Any]:
    return {
        "id": m.id,
        "ticket_id": m.ticket_id,
        "seq": m.seq,
        "body": m.body,
        "author": m.author,
        "agent_id": m.agent_id,
        "direction": m.direction,
        "internal": m.internal,
        "channel": m.channel,
        "status": m.status,
        "created_at": iso(m.created_at),
    }


def widget_message(m: MessageFields, author_name: str | None = None) -> dict[str, Any]:
    """A message as the chat widget sees it (never an internal note)."""
    frame: dict[str, Any] = {
        "type": "message",
        "seq": m.seq,
        "from": m.author,
        "text": m.body,
        "id": m.id,
        "at": iso(m.created_at),
    }
    if author_name:
        frame["author_name"] = author_name
    return frame


def customer_view(c: Customer) -> dict[str, Any]:
    identities = [
        {"id": i.id, "kind": i.kind, "address": i.address, "verified": i.verified} for i in c.identities
    ]
    return {
        "id": c.id,
        "name": c.name,
        "company": c.company or "",
        "tags": list(c.tags or []),
        "attributes": dict(c.attributes or {}),
        "emails": [i.address for i in c.identities if i.kind == "email"],
        "phones": [i.address for i in c.identities if i.kind == "phone"],
        "identities": identities,
        "sms_opt_out": bool(c.sms_opt_out),
        "email_unsubscribed": bool(c.email_unsubscribed),
        "merged_into": c.merged_into_id,
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
    }


def history_view(h: HistoryEntry, message: Message | None) -> dict[str, Any]:
    return {
        "id": h.id,
        "at": iso(h.at),
        "kind": h.kind,
        "channel": h.channel,
        "direction": h.direction,
        "author": h.author,
        "agent_id": h.agent_id,
        "text": message.body if message is not None else h.text,
        "internal": bool(message.internal) if message is not None else False,
        "ticket_id": h.ticket_id,
        "message_id": h.message_id,
        "data": h.data or {},
    }


def agent_view(a: Agent) -> dict[str, Any]:
    return {
        "id": a.id,
        "name": a.name,
        "email": a.email,
        "role": a.role,
        "capacity": a.capacity,
        "phone": a.phone,
        "presence": a.presence,
        "queues": sorted(q.name for q in a.queues),
    }


def queue_names(queues: list[Queue]) -> list[str]:
    return sorted(q.name for q in queues)
