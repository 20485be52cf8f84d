"""Who may see and change what: one set of checks for REST and websockets alike.

Supervisors and admins see every ticket; an agent sees the tickets of their queues and those assigned to
them. Every agent may look customers up (a contact center's agents serve whoever calls).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, true

from app.actions.agents import Principal
from app.actions.errors import NotFound
from app.domain.models import Ticket


def ticket_filter(who: Principal) -> ColumnElement[bool]:
    if who.is_supervisor:
        return true()
    return or_(Ticket.queue_id.in_(sorted(who.queue_ids)), Ticket.assignee_id == who.id)


def can_see_ticket(who: Principal, ticket: Ticket) -> bool:
    return who.is_supervisor or ticket.queue_id in who.queue_ids or ticket.assignee_id == who.id


def check_ticket(who: Principal, ticket: Ticket | None, ticket_id: int) -> Ticket:
    """The ticket if this agent may see it; otherwise the same 404 as for a ticket that does not exist,
    so ids cannot be probed."""
    if ticket is None or not can_see_ticket(who, ticket):
        raise NotFound(f"ticket {ticket_id} not found")
    return ticket
