"""The supervisor board's figures, kept current as data changes instead of counted on every request.

Every event about a ticket carries the ticket as it was after the change, with its version. The board
keeps, per process and in memory, only the live part: the active tickets (waiting ones and agents'
loads) and today's resolutions and first responses. It applies every event it sees, from this process
(at once, before the request that caused it answers) and from the others (through the bus), and an older
version never overwrites a newer one, so the order and repeats of events do not matter. Every sweep
(app/routing/sweeper.py) and at start-up it is reloaded from the database with indexed queries that read
only those rows, which repairs whatever a lost event left out, and starts a new day at midnight UTC.

`GET /api/queues` then costs a few dictionary walks and two small queries (queues and agents), whatever
the number of tickets in the database.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.bus import Event
from app.domain.models import ACTIVE_STATUSES, Ticket
from app.domain.types import utcnow


@dataclass(frozen=True)
class LiveTicket:
    version: int
    queue_id: int
    assignee_id: int | None
    queued_at: datetime | None
    waiting: bool
    resolved_at: datetime | None
    first_response_s: float | None  # when the first response was today: seconds from queued/created
    changed: float  # time.monotonic() of the last change here
    breached: bool = False  # active, and an SLA target of it was missed


RELOAD_SLICE = 500
# the fields of an event's ticket that the figures are made of
_FIGURED = (
    "queue_id",
    "assignee_id",
    "status",
    "queued_at",
    "created_at",
    "first_response_at",
    "resolved_at",
    "sla",
)


def _parse(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _seconds(later: datetime, earlier: datetime) -> float:
    return max(0.0, (later - earlier).total_seconds())


class Board:
    def __init__(self) -> None:
        self._tickets: dict[int, LiveTicket] = {}
        self._day: date = utcnow().date()
        self.loaded = False
        # figures as of the last change: (day, per queue: waiting, oldest, ticket, handled, median), loads
        self._cache: tuple[date, dict[int, dict[str, Any]], dict[int, int]] | None = None
        # per ticket, the day and the event fields its entry was last figured from (events only)
        self._fields: dict[int, tuple[date, tuple[Any, ...]]] = {}

    # ------------------------------------------------------------------ keeping it current

    def apply(self, event: Event) -> None:
        """Take the ticket snapshot an event carries, if it is newer than what the board has."""
        data = event.data.get("ticket")
        if not isinstance(data, dict) or not isinstance(data.get("id"), int):
            return
        version = data.get("version")
        if not isinstance(version, int):
            return
        ticket_id: int = data["id"]
        known = self._tickets.get(ticket_id)
        if known is not None and known.version >= version:
            return
        fields = tuple(data.get(k) for k in _FIGURED)
        if known is not None and self._fields.get(ticket_id) == (self._day, fields):
            # a change the figures do not see (a message on a ticket, say): only the version moves on
            self._tickets[ticket_id] = LiveTicket(
                version,
                known.queue_id,
                known.assignee_id,
                known.queued_at,
                known.waiting,
                known.resolved_at,
                known.first_response_s,
                time.monotonic(),
                known.breached,
            )
            return
        try:
            queued = _parse(data.get("queued_at"))
            created = _parse(data.get("created_at"))
            first = _parse(data.get("first_response_at"))
            resolved = _parse(data.get("resolved_at"))
        except ValueError:
            return
        sla = data.get("sla") or {}
        breached = bool(sla.get("first_response_breached_at") or sla.get("resolution_breached_at"))
        self._fields[ticket_id] = (self._day, fields)
        self._cache = None
        self._tickets[ticket_id] = self._live(
            version,
            int(data.get("queue_id") or 0),
            data.get("assignee_id"),
            str(data.get("status")),
            queued,
            created,
            first,
            resolved,
            breached,
        )

    def _live(
        self,
        version: int,
        queue_id: int,
        assignee_id: int | None,
        status: str,
        queued: datetime | None,
        created: datetime | None,
        first: datetime | None,
        resolved: datetime | None,
        breached: bool = False,
    ) -> LiveTicket:
        active = status in ACTIVE_STATUSES
        today = self._day
        frt = None
        if first is not None and first.date() == today and (queued or created) is not None:
            frt = _seconds(first, queued or created)  # type: ignore[arg-type]
        resolved_today = resolved if resolved is not None and resolved.date() == today else None
        if not active and frt is None and resolved_today is None:
            # neither live nor part of today's figures; keep its version so an older event cannot revive it
            return LiveTicket(version, queue_id, None, None, False, None, None, time.monotonic())
        waiting = active and assignee_id is None and queued is not None
        return LiveTicket(
            version,
            queue_id,
            assignee_id if active else None,
            queued if waiting else None,
            waiting,
            resolved_today,
            frt,
            time.monotonic(),
            breached and active,
        )

    async def reload(self, s: AsyncSession) -> None:
        """Read the live rows again (active tickets, today's resolutions and first responses). Tickets the
        board changed after the reload began keep the board's version when it is newer; those it knew but
        the database no longer lists as live are dropped unless an event touched them meanwhile."""
        started = time.monotonic()
        now = utcnow()
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        columns = (
            Ticket.id,
            Ticket.version,
            Ticket.queue_id,
            Ticket.assignee_id,
            Ticket.status,
            Ticket.queued_at,
            Ticket.created_at,
            Ticket.first_response_at,
            Ticket.resolved_at,
            Ticket.first_response_breached_at,
            Ticket.resolution_breached_at,
        )
        if now.date() != self._day:
            self._day = now.date()
        fresh: dict[int, LiveTicket] = {}
        for where in (
            # active and waiting or assigned: the bot's own conversations count in no figure
            Ticket.status.in_(ACTIVE_STATUSES)
            & (Ticket.queued_at.is_not(None) | Ticket.assignee_id.is_not(None)),
            Ticket.resolved_at >= midnight,
            Ticket.first_response_at >= midnight,
        ):
            # in slices, letting the event loop run between them: the live rows can number thousands (events
            # that arrive meanwhile go to the board as it is, and win below when they are newer)
            result = await s.stream(select(*columns).where(where))
            async for part in result.partitions(RELOAD_SLICE):
                for row in part:
                    fresh[row.id] = self._live(
                        row.version,
                        row.queue_id,
                        row.assignee_id,
                        row.status,
                        row.queued_at,
                        row.created_at,
                        row.first_response_at,
                        row.resolved_at,
                        row.first_response_breached_at is not None or row.resolution_breached_at is not None,
                    )
                await asyncio.sleep(0)
        old, self._tickets = self._tickets, fresh
        self._cache = None
        self._fields = {}
        for ticket_id, mine in old.items():
            theirs = fresh.get(ticket_id)
            if mine.changed >= started and (theirs is None or mine.version > theirs.version):
                fresh[ticket_id] = mine  # an event newer than what the reload read
        self.loaded = True

    # ------------------------------------------------------------------ reading it

    def figures(self, now: datetime) -> dict[int, dict[str, Any]]:
        """Per queue id: waiting, longest_wait_s, oldest_ticket_id, handled_today, median first response,
        active tickets with a missed SLA target.
        Counted once per change of the board, not per request."""
        cached = self._summary(now.date())
        out: dict[int, dict[str, Any]] = {}
        for queue_id, q in cached.items():
            oldest = q["oldest"]
            out[queue_id] = {
                "waiting": q["waiting"],
                "oldest_ticket_id": q["oldest_ticket_id"],
                "longest_wait_s": round(_seconds(now, oldest), 3) if oldest is not None else 0.0,
                "handled_today": q["handled_today"],
                "median_first_response_s_today": q["median_first_response_s_today"],
                "sla_breached": q["sla_breached"],
            }
        return out

    def loads(self) -> dict[int, int]:
        """Open tickets per agent."""
        self._summary(utcnow().date())
        assert self._cache is not None
        return dict(self._cache[2])

    def _summary(self, today: date) -> dict[int, dict[str, Any]]:
        if self._cache is not None and self._cache[0] == today:
            return self._cache[1]
        out: dict[int, dict[str, Any]] = {}
        frts: dict[int, list[float]] = {}
        loads: dict[int, int] = {}
        for ticket_id, t in self._tickets.items():
            q = out.setdefault(
                t.queue_id,
                {
                    "waiting": 0,
                    "oldest": None,
                    "oldest_ticket_id": None,
                    "handled_today": 0,
                    "sla_breached": 0,
                },
            )
            if t.breached:
                q["sla_breached"] += 1
            if t.waiting and t.queued_at is not None:
                q["waiting"] += 1
                if q["oldest"] is None or (t.queued_at, ticket_id) < (q["oldest"], q["oldest_ticket_id"]):
                    q["oldest"], q["oldest_ticket_id"] = t.queued_at, ticket_id
            if t.resolved_at is not None and t.resolved_at.date() == today:
                q["handled_today"] += 1
            if t.first_response_s is not None and today == self._day:
                frts.setdefault(t.queue_id, []).append(t.first_response_s)
            if t.assignee_id is not None:
                loads[t.assignee_id] = loads.get(t.assignee_id, 0) + 1
        for queue_id, q in out.items():
            frt = frts.get(queue_id)
            q["median_first_response_s_today"] = round(statistics.median(frt), 1) if frt else None
        self._cache = (today, out, loads)
        return out
