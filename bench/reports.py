"""Benchmark: the supervisors' reports (app/domain/reports.py) on a base of a million messages.

Builds, on SQLite (a temporary file) and on PostgreSQL (a fresh database, created and dropped; or the one
`--database-url` names, which must be migrated and empty), `--tickets` tickets (default 100,000) over the
last year with `--messages` messages (default 1,000,000) and their history lines (a line per message, the
ticket's creation, the bot's answers, clarifications and handoffs: about 1.25 million), loaded in bulk
(SQLite executemany, PostgreSQL COPY) and timed apart. About 35% of tickets the bot answers and nobody else
touches; 10% it asks to rephrase and hands off; the rest go to a person, 95% of those resolved.

Then times every report (first_response, resolution, volume, deflection) for the last 30 and 365 days,
grouped by day and by queue: `--repeats` runs each (default 9), p50 and p95, in milliseconds, through
`reports.run` (the SQL and the shaping of its rows, as the API runs it). SQLite is not ANALYZEd (the app
never does); PostgreSQL is, as autovacuum would. `--before` first drops migration 0014's report indexes and
times everything without them, then makes them again (timed) and times everything with them.

Run from the project root:
  .venv/bin/python bench/reports.py [--tickets 100000] [--messages 1000000] [--repeats 9]
      [--only sqlite|postgresql] [--database-url postgresql+asyncpg://...] [--before]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import insert, select

from app.db.engine import Database
from app.db.migrate import upgrade
from app.domain import reports
from app.domain.models import Agent, Queue
from app.domain.types import utcnow

QUEUES = ("general", "billing", "tech", "sales")
CHANNELS = ("chat", "chat", "chat", "chat", "email", "email", "email", "sms", "sms", "voice")
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
# migration 0014's indexes: `--before` drops them first, times, then makes them again and times again
REPORT_INDEXES = {
    "ix_ticket_created": "CREATE INDEX ix_ticket_created ON tickets (created_at, queue_id, channel)",
    "ix_ticket_first_response_report": "CREATE INDEX ix_ticket_first_response_report ON tickets "
    "(first_response_at, created_at, queue_id, channel)",
    "ix_ticket_resolved_report": "CREATE INDEX ix_ticket_resolved_report ON tickets "
    "(resolved_at, created_at, queue_id, channel)",
    "ix_history_bot": "CREATE INDEX ix_history_bot ON history (at, ticket_id, kind, author) "
    "WHERE kind IN ('bot.answer', 'bot.clarify', 'handoff')",
}

TICKET_COLS = [
    "id",
    "customer_id",
    "subject",
    "status",
    "priority",
    "queue_id",
    "assignee_id",
    "channel",
    "tags",
    "queued_at",
    "assigned_at",
    "first_response_at",
    "resolved_at",
    "last_seq",
    "version",
    "created_at",
    "updated_at",
]
MESSAGE_COLS = [
    "id",
    "ticket_id",
    "seq",
    "body",
    "author",
    "direction",
    "internal",
    "channel",
    "agent_id",
    "status",
    "created_at",
    "meta",
    "attempts",
]
HISTORY_COLS = [
    "customer_id",
    "ticket_id",
    "message_id",
    "at",
    "kind",
    "channel",
    "direction",
    "author",
    "agent_id",
    "text",
    "data",
]


def build(n_tickets: int, n_messages: int, now: datetime) -> dict[str, list[tuple[Any, ...]]]:
    """Rows of customers, tickets, messages and history, as tuples in the column orders above."""
    rng = random.Random(11)
    customers = [(i + 1, f"Customer {i}", now) for i in range(n_tickets // 3)]
    tickets, messages, history = [], [], []
    per_ticket = n_messages / n_tickets
    message_id = 0
    for tid in range(1, n_tickets + 1):
        created = now - timedelta(seconds=rng.uniform(0, 365 * 86400))
        customer = rng.randrange(len(customers)) + 1
        channel = rng.choice(CHANNELS)
        queue = rng.randrange(len(QUEUES)) + 1
        roll = rng.random()
        count = max(2, round(rng.gauss(per_ticket, 3)))
        t = {
            "status": "new",
            "assignee_id": None,
            "queued_at": None,
            "assigned_at": None,
            "first_response_at": None,
            "resolved_at": None,
        }
        lines: list[tuple[datetime, str, str]] = [(created, "ticket.created", "system")]
        if roll < 0.35:  # the bot answers, nobody else
            lines.append((created + timedelta(seconds=1), "bot.answer", "bot"))
            authors = ["customer", "bot"] * count
        else:
            if roll < 0.45:
                lines.append((created + timedelta(seconds=1), "bot.clarify", "bot"))
            queued = created + timedelta(seconds=rng.uniform(1, 30))
            lines.append((queued, "handoff", "bot"))
            assigned = queued + timedelta(seconds=rng.expovariate(1 / 120))
            first = assigned + timedelta(seconds=rng.expovariate(1 / 300))
            t.update(
                status="open", queued_at=queued, assigned_at=assigned, assignee_id=1, first_response_at=first
            )
            if rng.random() < 0.95:
                resolved = first + timedelta(seconds=rng.expovariate(1 / 7200))
                t.update(status="resolved", resolved_at=min(resolved, now))
            authors = ["customer", "agent"] * count
        span = ((t["resolved_at"] or created + timedelta(hours=2)) - created).total_seconds()
        for seq in range(1, count + 1):
            message_id += 1
            at = created + timedelta(seconds=span * (seq - 1) / count)
            author = authors[seq - 1]
            out = author != "customer"
            direction, agent, status = (
                ("out", 1 if author == "agent" else None, "delivered") if out else ("in", None, None)
            )
            body = f"message {seq} of ticket {tid}"
            messages.append(
                (message_id, tid, seq, body, author, direction, False, channel, agent, status, at, "{}", 0)
            )
            history.append(
                (
                    customer,
                    tid,
                    message_id,
                    at,
                    "message",
                    channel,
                    "out" if out else "in",
                    author,
                    None,
                    "",
                    "{}",
                )
            )
        for at, kind, author in lines:
            history.append((customer, tid, None, at, kind, channel, None, author, None, "", "{}"))
        times = (t["queued_at"], t["assigned_at"], t["first_response_at"], t["resolved_at"])
        head = (tid, customer, f"ticket {tid}", t["status"], "normal", queue, t["assignee_id"], channel, "[]")
        tickets.append((*head, *times, count, 1, created, created))
    return {"customers": customers, "tickets": tickets, "messages": messages, "history": history}


def _sqlite_value(v: Any) -> Any:
    return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime) else v


def load_sqlite(path: str, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    c = sqlite3.connect(path)
    c.execute("PRAGMA synchronous=OFF")
    for table, cols in _tables():
        data = [tuple(_sqlite_value(v) for v in row) for row in rows[table]]
        marks = ",".join("?" * len(cols))
        c.executemany(f"INSERT INTO {table} ({','.join(cols)}) VALUES ({marks})", data)
    c.commit()
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.close()


async def load_pg(url: str, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    c = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        for table, cols in _tables():
            await c.copy_records_to_table(table, records=rows[table], columns=cols)
        for table in ("customers", "tickets", "messages", "history"):
            await c.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        await c.execute("ANALYZE")
    finally:
        await c.close()


def _tables() -> list[tuple[str, list[str]]]:
    return [
        ("customers", ["id", "name", "created_at"]),
        ("tickets", TICKET_COLS),
        ("messages", MESSAGE_COLS),
        ("history", HISTORY_COLS),
    ]


async def prepare(url: str) -> None:
    await upgrade(url)
    db = Database(url)
    async with db.write() as s:
        have = set((await s.execute(select(Queue.name))).scalars())
        for name in QUEUES:
            if name not in have:
                await s.execute(insert(Queue).values(name=name, created_at=utcnow()))
        if await s.get(Agent, 1) is None:
            await s.execute(
                insert(Agent).values(id=1, email="a@example.com", name="A", password_hash="x", role="agent")
            )
    await db.close()


async def time_reports(url: str, repeats: int) -> dict[str, tuple[float, float]]:
    db = Database(url)
    today = utcnow().date()
    out: dict[str, tuple[float, float]] = {}
    try:
        for name, kind in reports.KINDS.items():
            for days in (30, 365):
                for group in ("day", "queue"):
                    q = {"from": (today - timedelta(days=days - 1)).isoformat(), "group": group}
                    r, _ = reports.parse_range(q, today, db.is_sqlite)
                    await reports.run(db, kind, r, None)  # warm
                    runs = []
                    for _ in range(repeats):
                        t0 = time.perf_counter()
                        await reports.run(db, kind, r, None)
                        runs.append((time.perf_counter() - t0) * 1000)
                    runs.sort()
                    p95 = runs[min(len(runs) - 1, round(0.95 * (len(runs) - 1)))]
                    out[f"{name:15s} {days:3d} days by {group:5s}"] = (statistics.median(runs), p95)
    finally:
        await db.close()
    return out


def show(title: str, figures: dict[str, tuple[float, float]]) -> None:
    print(f"  {title}")
    for label, (p50, p95) in figures.items():
        print(f"    {label}  p50 {p50:8.1f} ms  p95 {p95:8.1f} ms")


async def pg_exec(url: str, *sql: str) -> float:
    c = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        t0 = time.perf_counter()
        for statement in sql:
            await c.execute(statement)
        return time.perf_counter() - t0
    finally:
        await c.close()


def sqlite_exec(path: str, *sql: str) -> float:
    c = sqlite3.connect(path)
    t0 = time.perf_counter()
    for statement in sql:
        c.execute(statement)
    c.commit()
    c.close()
    return time.perf_counter() - t0


DROP = [f"DROP INDEX {name}" for name in REPORT_INDEXES]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=100_000)
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--only", choices=("sqlite", "postgresql"))
    ap.add_argument(
        "--database-url", help="a migrated, empty PostgreSQL database to use instead of a fresh one"
    )
    ap.add_argument("--before", action="store_true", help="first time without migration 0014's indexes")
    args = ap.parse_args()

    t0 = time.perf_counter()
    rows = build(args.tickets, args.messages, utcnow())
    print(
        f"built {len(rows['tickets']):,} tickets, {len(rows['messages']):,} messages, "
        f"{len(rows['history']):,} history lines in memory in {time.perf_counter() - t0:.1f} s"
    )

    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            path = str(Path(tmp) / "reports.db")
            url = f"sqlite+aiosqlite:///{path}"
            asyncio.run(prepare(url))
            t0 = time.perf_counter()
            load_sqlite(path, rows)
            size = Path(path).stat().st_size / 1e6
            print(f"SQLite: loaded in {time.perf_counter() - t0:.1f} s ({size:.0f} MB)")
            if args.before:
                sqlite_exec(path, *DROP)
                show("SQLite, without the report indexes", asyncio.run(time_reports(url, args.repeats)))
                took = sqlite_exec(path, *REPORT_INDEXES.values())
                print(f"  SQLite: report indexes made in {took:.1f} s")
            show("SQLite, as migrated (with 0014's indexes)", asyncio.run(time_reports(url, args.repeats)))

    if args.only in (None, "postgresql"):
        url = args.database_url
        name = None
        if url is None:
            name = "sbbench_" + uuid.uuid4().hex[:10]
            asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
            url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + "/" + name
        try:
            asyncio.run(prepare(url))
            t0 = time.perf_counter()
            asyncio.run(load_pg(url, rows))
            print(f"PostgreSQL: loaded (COPY, then ANALYZE) in {time.perf_counter() - t0:.1f} s")
            if args.before:
                asyncio.run(pg_exec(url, *DROP, "ANALYZE"))
                show("PostgreSQL, without the report indexes", asyncio.run(time_reports(url, args.repeats)))
                took = asyncio.run(pg_exec(url, *REPORT_INDEXES.values(), "ANALYZE"))
                print(f"  PostgreSQL: report indexes made (and ANALYZE) in {took:.1f} s")
            show(
                "PostgreSQL, as migrated (with 0014's indexes)", asyncio.run(time_reports(url, args.repeats))
            )
        finally:
            if name is not None:
                asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _pg_admin(sql: str) -> None:
    c = await asyncpg.connect(PG_ADMIN)
    try:
        await c.execute(sql)
    finally:
        await c.close()


if __name__ == "__main__":
    main()
