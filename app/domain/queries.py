"""Reads: ticket lists and details, customer search, profiles and timelines, queue figures.
Every value is bound; filters come from allowlists."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.models import (
    ACTIVE_STATUSES,
    TICKET_STATUSES,
    Agent,
    AgentQueue,
    Customer,
    HistoryEntry,
    Identity,
    Message,
    Queue,
    Ticket,
)
from app.domain.types import utcnow
from app.domain.views import history_view, message_view, ticket_view

MAX_LIST = 200


class BadFilter(ValueError):
    pass


async def queue_names(s: AsyncSession) -> dict[int, str]:
    return {q.id: q.name for q in (await s.execute(select(Queue))).scalars()}


async def list_tickets(
    s: AsyncSession,
    visible: ColumnElement[bool],
    *,
    status: str | None = None,
    queue: str | None = None,
    assignee: int | None = None,
    customer: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    q = select(Ticket).where(visible)
    if status:
        wanted = status.split(",")
        if not set(wanted) <= set(TICKET_STATUSES):
            raise BadFilter(f"status must be among {', '.join(TICKET_STATUSES)}")
        q = q.where(Ticket.status.in_(wanted))
    names = await queue_names(s)
    if queue:
        ids = [i for i, n in names.items() if n == queue]
        if not ids:
            return []
        q = q.where(Ticket.queue_id == ids[0])
    if assignee is not None:
        q = q.where(Ticket.assignee_id == assignee)
    if customer is not None:
        q = q.where(Ticket.customer_id == customer)
    rows = await s.execute(q.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(min(limit, MAX_LIST)))
    return [ticket_view(t, names.get(t.queue_id, "")) for t in rows.scalars()]


async def ticket_messages(s: AsyncSession, ticket_id: int) -> list[dict[str, Any]]:
    rows = await s.execute(select(Message).where(Message.ticket_id == ticket_id).order_by(Message.seq))
    return [message_view(m) for m in rows.scalars()]


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search_customers(s: AsyncSession, q: str, limit: int = 50) -> list[Customer]:
    q = q.replace("\x00", "").strip()[:200]  # PostgreSQL text holds no NUL
    base = select(Customer).where(Customer.merged_into_id.is_(None))
    if q:
        like = f"%{_escape_like(q.lower())}%"
        conditions = [
            func.lower(Customer.name).like(like, escape="\\"),
            Customer.id.in_(
                select(Identity.customer_id).where(func.lower(Identity.address).like(like, escape="\\"))
            ),
        ]
        digits = re.sub(r"\D", "", q)
        if len(digits) >= 6 and not re.search(r"[A-Za-z@]", q):
            # a phone written any way that includes its country code: +46 (70) 123-45-67 -> +46701234567
            conditions.append(
                Customer.id.in_(
                    select(Identity.customer_id).where(
                        Identity.kind == "phone", Identity.address == "+" + digits
                    )
                )
            )
        base = base.where(or_(*conditions))
    rows = await s.execute(base.order_by(Customer.id.desc()).limit(limit))
    return list(rows.scalars())


async def customer_history(s: AsyncSession, customer_id: int, limit: int = 5000) -> list[dict[str, Any]]:
    rows = await s.execute(
        select(HistoryEntry, Message)
        .outerjoin(Message, Message.id == HistoryEntry.message_id)
        .where(HistoryEntry.customer_id == customer_id)
        .order_by(HistoryEntry.at, HistoryEntry.id)
        .limit(limit)
    )
    return [history_view(h, m) for h, m in rows.all()]


async def queue_stats(s: AsyncSession) -> list[dict[str, Any]]:
    now = utcnow()
    waiting_rows = await s.execute(
        select(Ticket.queue_id, func.count(), func.min(Ticket.queued_at))
        .where(
            Ticket.assignee_id.is_(None), Ticket.queued_at.is_not(None), Ticket.status.in_(ACTIVE_STATUSES)
        )
        .group_by(Ticket.queue_id)
    )
    waiting = {qid: (n, oldest) for qid, n, oldest in waiting_rows.all()}
    presence = (
        await s.execute(
            select(AgentQueue.queue_id, Agent.presence, func.count())
            .join(Agent, Agent.id == AgentQueue.agent_id)
            .where(Agent.active.is_(True))
            .group_by(AgentQueue.queue_id, Agent.presence)
        )
    ).all()
    counts: dict[int, dict[str, int]] = {}
    for qid, state, n in presence:
        counts.setdefault(qid, {})[state] = n
    out = []
    for queue in (await s.execute(select(Queue).order_by(Queue.name))).scalars():
        n, oldest = waiting.get(queue.id, (0, None))
        out.append(
            {
                "id": queue.id,
                "name": queue.name,
                "waiting": n,
                "longest_wait_s": _age(now, oldest),
                "agents_available": counts.get(queue.id, {}).get("available", 0),
                "agents_away": counts.get(queue.id, {}).get("away", 0),
            }
        )
    return out


def _age(now: datetime, then: Any) -> float:
    if then is None:
        return 0.0
    if isinstance(then, str):  # SQLite hands aggregates back untyped
        then = datetime.fromisoformat(then)
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    age: float = (now - then).total_seconds()
    return round(max(0.0, age), 3)
