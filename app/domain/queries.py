"""Reads: ticket lists and details, customer search, profiles and timelines, queue figures.
Every value is bound; filters come from allowlists."""

from __future__ import annotations

import re
import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import search
from app.domain.board import Board
from app.domain.models import (
    ACTIVE_STATUSES,
    CHANNELS,
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
from app.domain.views import agent_view, history_view, message_view, ticket_view

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
    waiting: bool = False,
    limit: int = 100,
) -> list[dict[str, Any]]:
    q = select(Ticket).where(visible)
    if waiting:
        q = q.where(waiting_clause())
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


async def search_customers(s: AsyncSession, q: str, limit: int = 50) -> list[Customer]:
    """Customers (never merged-away ones) by name, company, email (whole or its words: `greta`,
    `lind.example`) or phone written any way that includes its country code (`+46 (70) 123-45-67` and
    `0046 70 123 45 67` find +46701234567), newest first; no query: the newest customers. Words go through
    the full-text index (app/domain/search.py); a whole phone number or email also through the identities'
    index, exactly."""
    q = search.clean(q)
    live = Customer.merged_into_id.is_(None)
    if not q:
        rows = await s.execute(select(Customer).where(live).order_by(Customer.id.desc()).limit(limit))
        return list(rows.scalars())
    found = {c.id: c for c in await _exact_identity(s, q, limit)}
    terms = search.parse(q, phone=True)
    if terms is not None:
        found.update((c.id, c) for c in await search.customers(s, terms, limit))
    return [found[cid] for cid in sorted(found, reverse=True)[:limit]]


async def _exact_identity(s: AsyncSession, q: str, limit: int) -> list[Customer]:
    """Customers holding the address `q` is: an email as typed (any case), a phone in E.164 however it was
    written."""
    wanted: list[ColumnElement[bool]] = []
    if "@" in q:
        wanted.append(and_(Identity.kind == "email", Identity.address == q.lower()))
    digits = re.sub(r"\D", "", q)
    if digits.startswith("00"):  # 0046...: the international prefix written out
        digits = digits[2:]
    if len(digits) >= 6 and not re.search(r"[^\d\s()+\-./]", q):
        # a phone written any way that includes its country code: +46 (70) 123-45-67 -> +46701234567
        wanted.append(and_(Identity.kind == "phone", Identity.address == "+" + digits))
        national = digits.lstrip("0")  # a trunk prefix: 070-123 45 67 is +46 70 123 45 67 in Sweden
        if len(national) >= 7 and not q.lstrip().startswith(("+", "00")):
            # or without it: 4155550199 finds +14155550199 (the phones' end, read without the index)
            wanted.append(and_(Identity.kind == "phone", Identity.address.like("%" + national)))
    if not wanted:
        return []
    holders = select(Identity.customer_id).where(or_(*wanted))
    rows = await s.execute(
        select(Customer).where(Customer.merged_into_id.is_(None), Customer.id.in_(holders)).limit(limit)
    )
    return list(rows.scalars())


async def customer_history(
    s: AsyncSession, customer_id: int, visible: ColumnElement[bool], limit: int = 5000
) -> list[dict[str, Any]]:
    """The customer's timeline: lines of no ticket, and those of the tickets `visible` lets through."""
    rows = await s.execute(
        select(HistoryEntry, Message)
        .outerjoin(Message, Message.id == HistoryEntry.message_id)
        .outerjoin(Ticket, Ticket.id == HistoryEntry.ticket_id)
        .where(HistoryEntry.customer_id == customer_id, or_(HistoryEntry.ticket_id.is_(None), visible))
        .order_by(HistoryEntry.at, HistoryEntry.id)
        .limit(limit)
    )
    return [history_view(h, m) for h, m in rows.all()]


def waiting_clause() -> ColumnElement[bool]:
    return and_(
        Ticket.assignee_id.is_(None), Ticket.queued_at.is_not(None), Ticket.status.in_(ACTIVE_STATUSES)
    )


def start_of_day(now: datetime) -> datetime:
    """Today begins at midnight UTC (per-queue business calendars come with SLAs)."""
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


async def agent_loads(s: AsyncSession) -> dict[int, int]:
    rows = await s.execute(
        select(Ticket.assignee_id, func.count())
        .where(Ticket.assignee_id.is_not(None), Ticket.status.in_(ACTIVE_STATUSES))
        .group_by(Ticket.assignee_id)
    )
    return {aid: n for aid, n in rows.all() if aid is not None}


async def list_agents(s: AsyncSession) -> list[dict[str, Any]]:
    loads = await agent_loads(s)
    agents = (
        await s.execute(select(Agent).where(Agent.active.is_(True)).order_by(Agent.name, Agent.id))
    ).scalars()
    out = []
    for agent in agents:
        view = agent_view(agent)
        view["open_tickets"] = loads.get(agent.id, 0)
        view["state"] = _state(agent.presence, agent.capacity, view["open_tickets"])
        out.append(view)
    return out


def _state(presence: str, capacity: int, load: int) -> str:
    if presence != "available":
        return "away"
    return "busy" if load >= capacity else "available"


async def queue_stats(s: AsyncSession, board: Board) -> list[dict[str, Any]]:
    """Per queue: waiting tickets, the longest wait and its ticket, agents by state, today's handled tickets,
    median first response, active tickets with a missed SLA target, and its business-hours calendar. The
    ticket figures come from the board (app/domain/board.py), kept current
    as data changes; only the queues and their agents (small tables) are read here."""
    if not board.loaded:
        await board.reload(s)
    now = utcnow()
    figures = board.figures(now)
    loads = board.loads()
    members = await s.execute(
        select(AgentQueue.queue_id, Agent.presence, Agent.capacity, Agent.id)
        .join(Agent, Agent.id == AgentQueue.agent_id)
        .where(Agent.active.is_(True))
    )
    states: dict[int, dict[str, int]] = {}
    for qid, presence, capacity, agent_id in members.all():
        counts = states.setdefault(qid, {"available": 0, "busy": 0, "away": 0})
        counts[_state(presence, capacity, loads.get(agent_id, 0))] += 1
    out = []
    queues = await s.execute(select(Queue.id, Queue.name, Queue.calendar_id).order_by(Queue.name))
    for queue_id, name, calendar_id in queues.all():
        f = figures.get(queue_id, {})
        counts = states.get(queue_id, {"available": 0, "busy": 0, "away": 0})
        out.append(
            {
                "id": queue_id,
                "name": name,
                "waiting": f.get("waiting", 0),
                "longest_wait_s": f.get("longest_wait_s") or 0.0,
                "oldest_ticket_id": f.get("oldest_ticket_id"),
                # available counts every agent present, busy ones (at capacity) included
                "agents_available": counts["available"] + counts["busy"],
                "agents_busy": counts["busy"],
                "agents_away": counts["away"],
                "handled_today": f.get("handled_today", 0),
                "median_first_response_s_today": f.get("median_first_response_s_today"),
                "sla_breached": f.get("sla_breached", 0),
                "calendar_id": calendar_id,
            }
        )
    return out


FRT_BUCKETS = (60, 300, 900, 3600)
SERIES_STEP_S = 600


async def board_stats(s: AsyncSession, hours: int) -> dict[str, Any]:
    """The supervisor board's charts: waiting tickets over the last hours, first-response times today,
    volume by channel today."""
    now = utcnow()
    today = start_of_day(now)
    since = now - timedelta(hours=hours)
    spans = (
        await s.execute(
            select(Ticket.queued_at, Ticket.assigned_at, Ticket.resolved_at).where(
                Ticket.queued_at.is_not(None),
                or_(Ticket.assigned_at.is_(None), Ticket.assigned_at >= since),
                or_(Ticket.resolved_at.is_(None), Ticket.resolved_at >= since),
            )
        )
    ).all()
    series = []
    steps = hours * 3600 // SERIES_STEP_S
    for k in range(steps + 1):
        t = since + timedelta(seconds=k * SERIES_STEP_S)
        n = sum(1 for queued, assigned, resolved in spans if _waiting_at(t, queued, assigned, resolved))
        series.append({"at": t.isoformat(), "waiting": n})
    frts = [
        _seconds(first, queued or created)
        for first, queued, created in (
            await s.execute(
                select(Ticket.first_response_at, Ticket.queued_at, Ticket.created_at).where(
                    Ticket.first_response_at >= today
                )
            )
        ).all()
    ]
    buckets = []
    lower = -1.0
    for upper in (*FRT_BUCKETS, None):
        count = sum(1 for f in frts if f > lower and (upper is None or f <= upper))
        buckets.append({"le_s": upper, "count": count})
        lower = float(upper) if upper is not None else lower
    volume = {channel: 0 for channel in CHANNELS}
    for channel, n in (
        await s.execute(
            select(Ticket.channel, func.count()).where(Ticket.created_at >= today).group_by(Ticket.channel)
        )
    ).all():
        volume[channel] = int(n)
    handled = (await s.execute(select(func.count()).where(Ticket.resolved_at >= today))).scalar_one()
    return {
        "waiting_series": series,
        "first_response_today": {
            "buckets": buckets,
            "median_s": round(statistics.median(frts), 1) if frts else None,
        },
        "volume_by_channel_today": volume,
        "handled_today": int(handled),
    }


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _seconds(later: datetime | None, earlier: datetime | None) -> float:
    if later is None or earlier is None:
        return 0.0
    return max(0.0, (_aware(later) - _aware(earlier)).total_seconds())


def _waiting_at(
    t: datetime, queued: datetime | None, assigned: datetime | None, resolved: datetime | None
) -> bool:
    return (
        queued is not None
        and _aware(queued) <= t
        and (assigned is None or _aware(assigned) > t)
        and (resolved is None or _aware(resolved) > t)
    )
