"""Reports for supervisors: figures over a date range, grouped by day, week, queue or channel, each one
GROUP BY query (percentiles included) that returns one row per group, never the tickets themselves.

Every report counts a ticket on the UTC day of the event it is about:
- `first_response`: tickets whose first response by a person (an agent's reply; a voice call put through)
  falls in the range; the figure is first_response_at - created_at, in seconds, from the ticket's creation
  (the bot's answers are no response; business hours do not count until SLAs bring them). A ticket with no
  response is in no row.
- `resolution`: tickets resolved (or closed) in the range; resolved_at - created_at in seconds.
- `volume`: tickets created in the range (`created`), and tickets resolved in the range (`resolved`).
- `deflection`: tickets created in the range that the bot took a turn on (a `bot.answer` or `bot.clarify`
  line, or the bot's own `handoff` line, on the ticket's history): `handled`; of those, `answered` (at least
  one `bot.answer`), `handed_off` (a `handoff` line, or ever queued for, assigned to or answered by a
  person), and `deflected` = answered and never handed off; `rate` = deflected / handled.
- `csat`: satisfaction surveys answered in the range (on the day answered; grouped by the survey's queue,
  channel, or agent, the person who resolved the ticket): `answered`, `average` score (1 to 5) and
  `satisfied_pct`, the share of 4 and 5 stars in percent.
- `sla`: tickets created in the range with an SLA target, on the day created; for first response and for
  resolution apart: `*_targets` (tickets with that target), `*_met` (done by the due time), `*_breached`
  (marked missed by the sweep, done after the due time, or not done and the due time has passed) and
  `*_attainment_pct` = met / (met + breached) in percent. A target still running (not due yet, not done)
  is in neither, and so is a first response never given to a ticket resolved or closed before its due
  time (the sweep does not count it either: the target no longer applied).

Durations: count, median and 90th percentile (linear interpolation between the closest ranks, like
PostgreSQL's percentile_cont: percentile_cont itself there; on SQLite, which has none, the same figure from
row_number() and count() windows per group), and the mean.

A new report kind is one more `Kind` in `KINDS`: its columns, the groupings it offers, and a function that
builds its query from `Range`; the API and the CSV take it from there (the board's picker names it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    String,
    case,
    cast,
    create_engine,
    func,
    literal,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from app.actions.errors import Invalid
from app.db.engine import Database
from app.domain.models import CHANNELS, Agent, CsatSurvey, HistoryEntry, Queue, Ticket
from app.domain.types import utcnow

GROUPS = ("day", "week", "queue", "channel")
CSAT_GROUPS = (*GROUPS, "agent")
NO_AGENT = "(no agent)"
DEFAULT_DAYS = 30
MAX_DAYS = 366
# the history lines the deflection report reads: the bot's turns and every handoff
BOT_LINES = ("bot.answer", "bot.clarify", "handoff")


@dataclass(frozen=True)
class Range:
    """What a report is asked for: UTC days `start`..`end` (both included), the grouping, and filters."""

    start: date
    end: date
    group: str = "day"
    queue_id: int | None = None
    channel: str | None = None
    sqlite: bool = True
    now: datetime | None = None  # when the SLA report asks "is it due yet" (None: the moment it runs)

    @property
    def since(self) -> datetime:
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)

    @property
    def until(self) -> datetime:
        """The first instant after the range."""
        return datetime(self.end.year, self.end.month, self.end.day, tzinfo=UTC) + timedelta(days=1)


@dataclass(frozen=True)
class Kind:
    name: str
    title: str
    columns: tuple[str, ...]
    build: Callable[[Range], Select[Any]]
    doc: str
    groups: tuple[str, ...] = GROUPS


# ---------------------------------------------------------------------------------------- parameters


def parse_range(
    query: Mapping[str, str], today: date, sqlite: bool, groups: tuple[str, ...] = GROUPS
) -> tuple[Range, str | None]:
    """`from`, `to` (ISO dates, UTC; default the last 30 days to today), `group` (one of `groups`, the
    report's), `channel` from a query string; the queue's name is handed back for the caller to find.
    Invalid (400) for anything wrong."""
    try:
        end = date.fromisoformat(query["to"]) if query.get("to") else today
        start = (
            date.fromisoformat(query["from"]) if query.get("from") else end - timedelta(days=DEFAULT_DAYS - 1)
        )
    except (ValueError, OverflowError) as e:
        raise Invalid("from and to must be dates, YYYY-MM-DD", "bad_date") from e
    if end < start:
        raise Invalid("to is before from", "bad_range")
    if (end - start).days + 1 > MAX_DAYS:
        raise Invalid(f"at most {MAX_DAYS} days at a time", "range_too_long")
    if end >= date.max - timedelta(days=7) or start <= date.min + timedelta(days=7):
        raise Invalid("from and to must be dates, YYYY-MM-DD", "bad_date")
    group = query.get("group") or "day"
    if group not in groups:
        raise Invalid(f"group must be one of {', '.join(groups)}", "bad_group")
    channel = query.get("channel") or None
    if channel is not None and channel not in CHANNELS:
        raise Invalid(f"channel must be one of {', '.join(CHANNELS)}", "bad_channel")
    queue = query.get("queue") or None
    return Range(start, end, group, None, channel, sqlite), queue


# ---------------------------------------------------------------------------------------- SQL pieces


def _key(r: Range, at: Any, of: Any = Ticket) -> ColumnElement[Any]:
    """The group a row of `of` (Ticket, CsatSurvey) falls in: its day or week (Monday) of `at` as
    YYYY-MM-DD, its queue, its channel (its agent: surveys only)."""
    if r.group == "queue":
        return of.queue_id.expression  # type: ignore[no-any-return]
    if r.group == "channel":
        return of.channel.expression  # type: ignore[no-any-return]
    if r.group == "agent":
        return of.agent_id.expression  # type: ignore[no-any-return]
    if r.sqlite:  # stored as naive UTC text, "YYYY-MM-DD HH:MM:SS.ffffff"
        if r.group == "day":
            return func.substr(at, 1, 10, type_=String)
        return func.date(at, "-6 days", "weekday 1", type_=String)
    utc = func.timezone("UTC", at)
    if r.group == "week":
        utc = func.date_trunc("week", utc)
    return func.to_char(utc, "YYYY-MM-DD", type_=String)


def _seconds(r: Range, later: Any, earlier: Any) -> ColumnElement[float]:
    if r.sqlite:
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return cast(func.extract("epoch", later - earlier), Float)


def _filters(r: Range, of: Any = Ticket) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if r.queue_id is not None:
        out.append(of.queue_id == r.queue_id)
    if r.channel is not None:
        out.append(of.channel == r.channel)
    return out


def _in_range(r: Range, at: Any) -> list[ColumnElement[bool]]:
    return [at >= r.since, at < r.until]


def _durations(r: Range, at: Any, value: ColumnElement[float]) -> Select[Any]:
    """Per group of tickets with `at` in the range: count, median, p90 and mean of `value`."""
    inner = (
        select(_key(r, at).label("k"), value.label("v")).where(*_in_range(r, at), *_filters(r)).subquery("d")
    )
    if not r.sqlite:
        return select(
            inner.c.k,
            func.count(),
            func.percentile_cont(0.5).within_group(inner.c.v),
            func.percentile_cont(0.9).within_group(inner.c.v),
            func.avg(inner.c.v),
        ).group_by(inner.c.k)
    ranked = select(
        inner.c.k,
        inner.c.v,
        (func.row_number().over(partition_by=inner.c.k, order_by=inner.c.v) - 1).label("rn"),
        func.count().over(partition_by=inner.c.k).label("n"),
    ).subquery("ranked")

    def percentile(p: float) -> ColumnElement[Any]:
        # percentile_cont: the value at (n - 1) * p counting from 0, between the two closest ranks
        pos = (ranked.c.n - 1) * p
        low = cast(pos, Integer)
        frac = pos - low
        return func.sum(
            case(
                (ranked.c.rn == low, ranked.c.v * (1 - frac)),
                (ranked.c.rn == low + 1, ranked.c.v * frac),
                else_=0.0,
            )
        )

    return select(ranked.c.k, func.count(), percentile(0.5), percentile(0.9), func.avg(ranked.c.v)).group_by(
        ranked.c.k
    )


# ---------------------------------------------------------------------------------------- the reports


def first_response(r: Range) -> Select[Any]:
    value = _seconds(r, Ticket.first_response_at, Ticket.created_at)
    return _durations(r, Ticket.first_response_at, value)


def resolution(r: Range) -> Select[Any]:
    return _durations(r, Ticket.resolved_at, _seconds(r, Ticket.resolved_at, Ticket.created_at))


def volume(r: Range) -> Select[Any]:
    created = select(
        _key(r, Ticket.created_at).label("k"), literal(1).label("c"), literal(0).label("r")
    ).where(*_in_range(r, Ticket.created_at), *_filters(r))
    resolved = select(
        _key(r, Ticket.resolved_at).label("k"), literal(0).label("c"), literal(1).label("r")
    ).where(*_in_range(r, Ticket.resolved_at), *_filters(r))
    both = union_all(created, resolved).subquery("v")
    return select(both.c.k, func.sum(both.c.c), func.sum(both.c.r)).group_by(both.c.k)


def deflection(r: Range) -> Select[Any]:
    h = HistoryEntry

    # the kinds as literals, not parameters: so the databases can use the partial index on those lines

    def seen(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.max(case((condition, 1), else_=0))

    # a ticket's lines are written after it was created: those before the range are no ticket's in it
    # grouped by ticket_id + 0, which no index orders: SQLite would otherwise walk every history line in
    # ticket order (ix_history_ticket_id) rather than read the range of bot lines (ix_history_bot)
    tid = (h.ticket_id + 0).label("tid")
    lines = (
        select(
            tid,
            seen(h.author == "bot").label("bot"),
            seen(h.kind == "bot.answer").label("answered"),
            seen(h.kind == "handoff").label("handoff"),
        )
        .where(h.kind.in_([literal_column(f"'{k}'") for k in BOT_LINES]), h.at >= r.since)
        .group_by(tid)
        .subquery("lines")
    )
    person = (
        (lines.c.handoff == 1)
        | Ticket.queued_at.is_not(None)
        | Ticket.assigned_at.is_not(None)
        | Ticket.first_response_at.is_not(None)
    )
    per_ticket = (
        select(
            _key(r, Ticket.created_at).label("k"),
            lines.c.answered.label("answered"),
            case((person, 1), else_=0).label("person"),
        )
        .join(lines, lines.c.tid == Ticket.id)
        .where(lines.c.bot == 1, *_in_range(r, Ticket.created_at), *_filters(r))
        .subquery("t")
    )
    deflected = case(((per_ticket.c.answered == 1) & (per_ticket.c.person == 0), 1), else_=0)
    return select(
        per_ticket.c.k,
        func.count(),
        func.sum(per_ticket.c.answered),
        func.sum(per_ticket.c.person),
        func.sum(deflected),
    ).group_by(per_ticket.c.k)


def csat(r: Range) -> Select[Any]:
    c = CsatSurvey
    answers = (
        select(_key(r, c.answered_at, c).label("k"), c.score.label("score"))
        .where(*_in_range(r, c.answered_at), c.score.is_not(None), *_filters(r, c))
        .subquery("a")
    )
    a = answers.c
    return select(a.k, func.count(), func.avg(a.score), func.sum(case((a.score >= 4, 1), else_=0))).group_by(
        a.k
    )


def _target(due: Any, done: Any, breached_at: Any, now: datetime, moot: Any = None) -> tuple[Any, Any]:
    """Per ticket with a target: (met, breached) as 1/0. Breached: marked by the sweep, done late, or not
    done and overdue (unless `moot`: the target stopped applying before its due time); met: done by the
    due time and not marked."""
    overdue = done.is_(None) & (due < now)
    if moot is not None:
        overdue = overdue & ~moot
    late = breached_at.is_not(None) | (done > due) | overdue
    breached = case((due.is_(None), 0), (late, 1), else_=0)
    met = case((due.is_(None), 0), (late, 0), (done <= due, 1), else_=0)
    return met, breached


def sla(r: Range) -> Select[Any]:
    t = Ticket
    now = r.now or utcnow()
    # a first response never given to a ticket resolved (or closed) before it was due: no longer owed
    resolved_first = t.resolved_at.is_not(None) & (t.resolved_at <= t.first_response_due_at)
    fr_met, fr_breached = _target(
        t.first_response_due_at, t.first_response_at, t.first_response_breached_at, now, resolved_first
    )
    res_met, res_breached = _target(t.resolution_due_at, t.resolved_at, t.resolution_breached_at, now)
    per_ticket = (
        select(
            _key(r, t.created_at).label("k"),
            case((t.first_response_due_at.is_not(None), 1), else_=0).label("fr"),
            fr_met.label("fr_met"),
            fr_breached.label("fr_breached"),
            case((t.resolution_due_at.is_not(None), 1), else_=0).label("res"),
            res_met.label("res_met"),
            res_breached.label("res_breached"),
        )
        .where(
            t.first_response_due_at.is_not(None) | t.resolution_due_at.is_not(None),
            *_in_range(r, t.created_at),
            *_filters(r),
        )
        .subquery("s")
    )
    p = per_ticket.c
    return select(
        p.k,
        func.sum(p.fr),
        func.sum(p.fr_met),
        func.sum(p.fr_breached),
        func.sum(p.res),
        func.sum(p.res_met),
        func.sum(p.res_breached),
    ).group_by(p.k)


DURATION_COLUMNS = ("count", "median_s", "p90_s", "mean_s")
CSAT_COLUMNS = ("answered", "average", "satisfied_pct")
SLA_COLUMNS = tuple(
    f"{target}_{figure}"
    for target in ("first_response", "resolution")
    for figure in ("targets", "met", "breached", "attainment_pct")
)
KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "first_response",
            "First response time",
            DURATION_COLUMNS,
            first_response,
            "seconds from a ticket's creation to its first response by a person (an agent's reply or a call "
            "put through; the bot's answers are no response), for the tickets first answered in the range "
            "on the day of that response; tickets with no response are left out",
        ),
        Kind(
            "resolution",
            "Resolution time",
            DURATION_COLUMNS,
            resolution,
            "seconds from a ticket's creation to its resolution, for the tickets resolved or closed in the "
            "range, on the day of the resolution",
        ),
        Kind(
            "volume",
            "Volume",
            ("created", "resolved"),
            volume,
            "tickets created in the range (on the day created), and tickets resolved or closed in the "
            "range (on the day resolved)",
        ),
        Kind(
            "deflection",
            "Bot deflection",
            ("handled", "answered", "handed_off", "deflected", "rate"),
            deflection,
            "of the tickets created in the range that the bot took a turn on (handled), those it answered, "
            "those handed to a person (a handoff, or ever queued for, assigned to or answered by a person) "
            "and those it answered and never handed off (deflected); rate is deflected / handled",
        ),
        Kind(
            "csat",
            "Customer satisfaction",
            CSAT_COLUMNS,
            csat,
            "satisfaction surveys answered in the range, on the day answered: how many, the average score "
            "(1 to 5 stars) and the share of 4 and 5 stars in percent; also by agent (who resolved the "
            "ticket)",
            CSAT_GROUPS,
        ),
        Kind(
            "sla",
            "SLA attainment",
            SLA_COLUMNS,
            sla,
            "tickets created in the range with an SLA target, on the day created; for first response and "
            "resolution: targets, met (done by the due time), breached (marked missed, done late, or "
            "overdue and not done) and attainment = met / (met + breached) in percent; targets still "
            "running count in neither",
        ),
    )
}


def shape(
    kind: Kind,
    r: Range,
    raw: list[tuple[Any, ...]],
    queue_names: dict[int, str],
    agent_names: dict[int, str] | None = None,
) -> list[dict[str, Any]]:
    """The query's rows as {key, figures...}, one for every day, week, channel or queue asked about (those
    with nothing in them too: zeros, and no durations), in order; by agent, the agents with figures, by
    name (the surveys of no agent, one deleted since among them, as "(no agent)")."""
    found: dict[str, dict[str, Any]] = {}
    agents = _agent_labels(agent_names or {})
    for row in raw:
        key = row[0]
        if r.group == "queue":
            key = queue_names.get(int(key), str(key))
        elif r.group == "agent":
            key = NO_AGENT if key is None else agents.get(int(key), f"agent {key}")
        found[str(key)] = _figures(kind, row[1:])
    out = []
    for key in _keys(r, queue_names, found):
        out.append({"key": key, **found.get(key, _figures(kind, None))})
    return out


def _figures(kind: Kind, values: tuple[Any, ...] | None) -> dict[str, Any]:
    if kind.columns == DURATION_COLUMNS:
        if values is None:
            return {"count": 0, "median_s": None, "p90_s": None, "mean_s": None}
        count, median, p90, mean = values
        return {"count": int(count), "median_s": _s(median), "p90_s": _s(p90), "mean_s": _s(mean)}
    if kind.name == "volume":
        created, resolved = values or (0, 0)
        return {"created": int(created or 0), "resolved": int(resolved or 0)}
    if kind.name == "csat":
        n, avg, happy = values or (0, None, 0)
        n = int(n or 0)
        return {
            "answered": n,
            "average": round(float(avg), 2) if n and avg is not None else None,
            "satisfied_pct": _pct(int(happy or 0), n),
        }
    if kind.name == "sla":
        fr, fr_met, fr_breached, res, res_met, res_breached = (int(v or 0) for v in values or (0,) * 6)
        return {
            "first_response_targets": fr,
            "first_response_met": fr_met,
            "first_response_breached": fr_breached,
            "first_response_attainment_pct": _pct(fr_met, fr_met + fr_breached),
            "resolution_targets": res,
            "resolution_met": res_met,
            "resolution_breached": res_breached,
            "resolution_attainment_pct": _pct(res_met, res_met + res_breached),
        }
    handled, answered, person, deflected = values or (0, 0, 0, 0)
    handled, deflected = int(handled or 0), int(deflected or 0)
    return {
        "handled": handled,
        "answered": int(answered or 0),
        "handed_off": int(person or 0),
        "deflected": deflected,
        "rate": round(deflected / handled, 4) if handled else None,
    }


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _agent_labels(names: dict[int, str]) -> dict[int, str]:
    """Agents by name; two of one name told apart by their id."""
    seen: dict[str, int] = {}
    for name in names.values():
        seen[name] = seen.get(name, 0) + 1
    return {i: name if seen[name] == 1 else f"{name} (#{i})" for i, name in names.items()}


def _s(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)


def _keys(r: Range, queue_names: dict[int, str], found: dict[str, Any]) -> list[str]:
    if r.group == "day":
        wanted = [(r.start + timedelta(days=i)).isoformat() for i in range((r.end - r.start).days + 1)]
    elif r.group == "week":
        monday = r.start - timedelta(days=r.start.weekday())
        wanted = [(monday + timedelta(weeks=i)).isoformat() for i in range((r.end - monday).days // 7 + 1)]
    elif r.group == "channel":
        wanted = [r.channel] if r.channel else list(CHANNELS)
    elif r.group == "agent":
        wanted = []
    else:
        ids = [r.queue_id] if r.queue_id is not None else sorted(queue_names)
        wanted = [queue_names[i] for i in ids if i in queue_names]
    return wanted + sorted(set(found) - set(wanted))


# ---------------------------------------------------------------------------------------- running one


async def run(db: Database, kind: Kind, r: Range, queue: str | None) -> tuple[Range, list[dict[str, Any]]]:
    """The report's rows. On SQLite the query runs on a thread of its own, on a connection of its own (WAL:
    a reader waits for no writer), not inline in the event loop as the rest of the app's SQLite calls do:
    a year's figures take tens of milliseconds that the chat path should not wait for."""
    if db.is_sqlite and _sqlite_file(db.url):
        return await asyncio.to_thread(_run_sync, db.url, kind, r, queue)
    async with db.read() as s:
        names = {int(i): str(n) for i, n in (await s.execute(QUEUE_NAMES)).all()}
        r = _with_queue(r, queue, names)
        raw = [tuple(row) for row in (await s.execute(kind.build(r))).all()]
        agents = (
            {int(i): str(n) for i, n in (await s.execute(AGENT_NAMES)).all()} if r.group == "agent" else {}
        )
    return r, shape(kind, r, raw, names, agents)


QUEUE_NAMES = select(Queue.id, Queue.name)
AGENT_NAMES = select(Agent.id, Agent.name)


def _with_queue(r: Range, queue: str | None, names: dict[int, str]) -> Range:
    if queue is None:
        return r
    for queue_id, name in names.items():
        if name == queue:
            return replace(r, queue_id=queue_id)
    raise Invalid(f"no queue named {queue!r}", "unknown_queue")


def _sqlite_file(url: str) -> bool:
    path = make_url(url).database
    return bool(path) and path != ":memory:" and "mode=memory" not in url


def _run_sync(url: str, kind: Kind, r: Range, queue: str | None) -> tuple[Range, list[dict[str, Any]]]:
    engine = create_engine(make_url(url).set(drivername="sqlite"), poolclass=NullPool)
    try:
        with engine.connect() as c:
            names = {int(i): str(n) for i, n in c.execute(QUEUE_NAMES).all()}
            r = _with_queue(r, queue, names)
            raw = [tuple(row) for row in c.execute(kind.build(r)).all()]
            agents = {int(i): str(n) for i, n in c.execute(AGENT_NAMES).all()} if r.group == "agent" else {}
    finally:
        engine.dispose()
    return r, shape(kind, r, raw, names, agents)
