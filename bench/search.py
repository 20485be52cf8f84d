"""Benchmark: search (`GET /api/search`, `GET /api/customers?q=`) over a big base.

Builds `--customers` customers (default 100,000; each an email, 70% a phone too, names with and without
accents, companies) and `--messages` messages (default 1,000,000) over tickets of ten messages in four
queues: words drawn from a 5,000-word vocabulary by Zipf's law, "order" in a third of the messages, an
order number (a nearly unique word) in a third. On SQLite (a temporary file) and, with `--database-url`, on
PostgreSQL (a fresh database made on that URL's server, dropped at the end).

How: the schema up to the migration before search (0011); the rows loaded in bulk (sqlite3 executemany,
asyncpg COPY) and timed; then migration 0012 run on the full base, timed: it builds the indexes over the
rows already there, which is what upgrading a full installation costs. Then 2,000 messages written in
batches of 50 with the index current (what the triggers, or the generated column, add to a write). Then
each kind of query, `--queries` different ones a round, through the functions the API calls
(queries.search_customers, search.tickets) in a read session as the API opens one: as a supervisor, and
for "agent" kinds as an agent of one of the four queues. Prints p50/p95 per kind, the median of
`--rounds` rounds; figures, not a verdict.

Run from the project root:
  .venv/bin/python bench/search.py [--customers 100000] [--messages 1000000] [--queries 40] [--rounds 3]
      [--database-url postgresql+asyncpg://127.0.0.1/test] [--skip-sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
import unicodedata
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from alembic import command
from sqlalchemy import ColumnElement, Connection, insert, true
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.actions.access import ticket_filter
from app.actions.agents import Principal
from app.db.engine import Database, make_engine
from app.db.migrate import alembic_config
from app.domain import queries, search
from app.domain.models import Message

QUEUES = 4  # the base migration makes `general` (id 1); three more are added
FIRST = [
    "Åsa",
    "Anna",
    "Björn",
    "Bruno",
    "Carla",
    "Chloé",
    "Dag",
    "Daniel",
    "Elin",
    "Émile",
    "Erik",
    "Eva",
    "Filip",
    "Frida",
    "Gustav",
    "Hanna",
    "Håkan",
    "Ida",
    "Ingrid",
    "Jesús",
    "José",
    "Johan",
    "Karin",
    "Kjell",
    "Lars",
    "Léa",
    "Linnea",
    "Magnus",
    "Maja",
    "Malin",
    "Mats",
    "Nils",
    "Noël",
    "Ola",
    "Olivia",
    "Oskar",
    "Per",
    "Petra",
    "Rasmus",
    "Renée",
    "Rut",
    "Sara",
    "Sören",
    "Stina",
    "Sven",
    "Tove",
    "Ulf",
    "Viktor",
    "Zoë",
    "Zoltán",
    "Åke",
    "Örjan",
    "Øystein",
]
ENDINGS = ("son", "berg", "ström", "qvist", "lund", "gren", "dahl", "sjö", "holm", "mark", "ez", "ová")
SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ne",
    "ru",
    "sa",
    "ti",
    "vo",
    "be",
    "da",
    "fi",
    "go",
    "ha",
    "ju",
    "pe",
    "ri",
    "su",
    "te",
    "va",
    "zo",
    "lin",
    "an",
    "er",
    "ot",
]
COMMON = ["order", "please", "thanks", "hello", "delivery", "invoice", "refund", "account"]


def fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()


@dataclass
class Base:
    """What was generated, and samples of it to query for."""

    names: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    companies: list[str] = field(default_factory=list)
    order_numbers: list[str] = field(default_factory=list)
    tail_words: list[str] = field(default_factory=list)
    last_names: list[str] = field(default_factory=list)


def vocabulary(rng: random.Random) -> list[str]:
    words: set[str] = set()
    while len(words) < 5000:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(sorted(words), key=lambda w: rng.random())  # sorted first: sets iterate by hash


def customers_rows(n: int, rng: random.Random, words: list[str], base: Base) -> Iterator[tuple[Any, ...]]:
    """(id, name, company, email, phone or None)"""
    lasts = [(w[:1].upper() + w[1:] + rng.choice(ENDINGS)) for w in words[:3000]]
    companies = [
        f"{w.capitalize()} {rng.choice(('AB', 'GmbH', 'Ltd', 'SA', 'Oy'))}" for w in words[3000:4000]
    ]
    domains = [f"{w}.example" for w in words[4000:4500]]
    for i in range(1, n + 1):
        first, last = rng.choice(FIRST), rng.choice(lasts)
        email = f"{fold(first)}.{fold(last)}{i}@{rng.choice(domains)}"
        phone = f"+4670{i:07d}" if rng.random() < 0.7 else None
        company = rng.choice(companies) if rng.random() < 0.5 else ""
        if i % max(1, n // 200) == 0:
            base.names.append(f"{first} {last}")
            base.emails.append(email)
            base.last_names.append(last)
            if phone:
                base.phones.append(f"+46 70 {phone[5:8]} {phone[8:10]} {phone[10:]}")
            if company:
                base.companies.append(company.split()[0])
        yield i, f"{first} {last}", company, email, phone


def message_bodies(n: int, rng: random.Random, words: list[str], base: Base) -> Iterator[str]:
    weights = [1 / (rank + 1) for rank in range(len(words))]
    cum = list(_accumulate(weights))
    base.tail_words = words[-200:]
    for i in range(n):
        body = rng.choices(words, cum_weights=cum, k=rng.randint(8, 30))
        if rng.random() < 1 / 3:
            body.insert(rng.randrange(len(body) + 1), "order")
        if rng.random() < 1 / 3:
            number = f"A{rng.randrange(10**8):08d}"
            body.append(number)
            if i % 5000 == 0:
                base.order_numbers.append(number)
        if rng.random() < 0.2:
            body.insert(0, rng.choice(COMMON))
        yield " ".join(body).capitalize() + "."


def _accumulate(values: list[float]) -> Iterator[float]:
    total = 0.0
    for v in values:
        total += v
        yield total


@dataclass
class Plan:
    customers: int
    messages: int
    seed: int = 7

    @property
    def tickets(self) -> int:
        return max(1, self.messages // 10)


def generate(plan: Plan, base: Base) -> tuple[list[tuple[Any, ...]], Iterator[list[tuple[Any, ...]]]]:
    """The customers (all) and the messages (in chunks), with the tickets they belong to."""
    rng = random.Random(plan.seed)
    words = vocabulary(rng)
    people = list(customers_rows(plan.customers, rng, words, base))
    bodies = message_bodies(plan.messages, rng, words, base)

    def chunks() -> Iterator[list[tuple[Any, ...]]]:
        chunk: list[tuple[Any, ...]] = []
        for i, body in enumerate(bodies):
            chunk.append((i + 1, i // 10 + 1, i % 10 + 1, body, "customer" if i % 2 == 0 else "agent"))
            if len(chunk) == 50_000:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    return people, chunks()


def ticket_rows(plan: Plan) -> Iterator[tuple[Any, ...]]:
    """(id, customer_id, subject, queue_id)"""
    rng = random.Random(plan.seed + 1)
    for t in range(1, plan.tickets + 1):
        subject = f"{rng.choice(COMMON).capitalize()} {rng.choice(('question', 'issue', 'problem'))} {t}"
        yield t, rng.randint(1, plan.customers), subject, (t % QUEUES) + 1


NOW = datetime.now(UTC)


def at(i: int, n: int) -> datetime:
    """Row i of n, spread over the last 365 days, in order."""
    return NOW - timedelta(days=365) + timedelta(seconds=365 * 86400 * i / max(1, n))


# -- loading ---------------------------------------------------------------------------------------------


def _migrate(conn: Connection, url: str, revision: str) -> None:
    cfg = alembic_config(url)
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, revision)


async def migrate(url: str, revision: str, foreign_keys: bool = True) -> None:
    engine = make_engine(url) if foreign_keys else create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_migrate, url, revision)
    finally:
        await engine.dispose()


def load_sqlite(path: str, plan: Plan, base: Base) -> None:
    def ts(d: datetime) -> str:
        return d.replace(tzinfo=None).isoformat(sep=" ")

    people, chunks = generate(plan, base)
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous=OFF")
    with db:
        db.executemany(
            "INSERT INTO queues (id, name, created_at) VALUES (?, ?, ?)",
            [(q, f"queue{q}", ts(NOW)) for q in range(2, QUEUES + 1)],
        )
        db.executemany(
            "INSERT INTO customers (id, name, company, created_at, sms_opt_out, email_unsubscribed, tags,"
            " attributes) VALUES (?, ?, ?, ?, 0, 0, '[]', '{}')",
            ((i, name, company, ts(at(i, plan.customers))) for i, name, company, _, _ in people),
        )
        identities = [(i, "email", email) for i, _, _, email, _ in people]
        identities += [(i, "phone", phone) for i, _, _, _, phone in people if phone]
        db.executemany(
            "INSERT INTO identities (customer_id, kind, address, verified, created_at)"
            f" VALUES (?, ?, ?, 1, '{ts(NOW)}')",
            identities,
        )
        db.executemany(
            "INSERT INTO tickets (id, customer_id, subject, queue_id, status, priority, channel, tags,"
            " last_seq, version, created_at, updated_at) VALUES (?, ?, ?, ?, 'resolved', 'normal', 'email',"
            " '[]', 10, 1, ?, ?)",
            ((*row, ts(at(row[0], plan.tickets)), ts(at(row[0], plan.tickets))) for row in ticket_rows(plan)),
        )
        for chunk in chunks:
            db.executemany(
                "INSERT INTO messages (id, ticket_id, seq, body, author, direction, internal, channel,"
                " created_at, meta, attempts) VALUES (?, ?, ?, ?, ?, 'in', 0, 'email', ?, '{}', 0)",
                ((*row, ts(at(row[0], plan.messages))) for row in chunk),
            )
    db.close()


async def load_pg(dsn: str, plan: Plan, base: Base) -> None:
    people, chunks = generate(plan, base)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.executemany(
            "INSERT INTO queues (id, name, created_at) VALUES ($1, $2, $3)",
            [(q, f"queue{q}", NOW) for q in range(2, QUEUES + 1)],
        )
        await conn.copy_records_to_table(
            "customers",
            records=[
                (i, name, company, at(i, plan.customers), False, False, "[]", "{}")
                for i, name, company, *_ in people
            ],
            columns=[
                "id",
                "name",
                "company",
                "created_at",
                "sms_opt_out",
                "email_unsubscribed",
                "tags",
                "attributes",
            ],
        )
        identities = [(i, "email", email, True, NOW) for i, _, _, email, _ in people]
        identities += [(i, "phone", phone, True, NOW) for i, _, _, _, phone in people if phone]
        await conn.copy_records_to_table(
            "identities",
            records=identities,
            columns=["customer_id", "kind", "address", "verified", "created_at"],
        )
        await conn.copy_records_to_table(
            "tickets",
            records=[
                (
                    *row,
                    "resolved",
                    "normal",
                    "email",
                    "[]",
                    10,
                    1,
                    at(row[0], plan.tickets),
                    at(row[0], plan.tickets),
                )
                for row in ticket_rows(plan)
            ],
            columns=[
                "id",
                "customer_id",
                "subject",
                "queue_id",
                "status",
                "priority",
                "channel",
                "tags",
                "last_seq",
                "version",
                "created_at",
                "updated_at",
            ],
        )
        for chunk in chunks:
            await conn.copy_records_to_table(
                "messages",
                records=[(*row, "in", False, "email", at(row[0], plan.messages), "{}", 0) for row in chunk],
                columns=[
                    "id",
                    "ticket_id",
                    "seq",
                    "body",
                    "author",
                    "direction",
                    "internal",
                    "channel",
                    "created_at",
                    "meta",
                    "attempts",
                ],
            )
        for table in ("customers", "identities", "tickets", "messages", "queues"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


# -- timing ----------------------------------------------------------------------------------------------


async def writes(db: Database, plan: Plan, seqs: dict[int, int], tag: str) -> float:
    """ms per message, 2,000 messages in batches of 50 (one transaction each) on existing tickets."""
    rng = random.Random(tag)
    t0 = time.perf_counter()
    for batch in range(40):
        rows = []
        for _ in range(50):
            tid = rng.randint(1, plan.tickets)
            seqs[tid] = seqs.get(tid, 10) + 1
            rows.append(
                {
                    "ticket_id": tid,
                    "seq": seqs[tid],
                    "body": f"Hello again, where is my order {tag}{batch:04d}{len(rows):02d}? Thanks",
                    "author": "customer",
                    "direction": "in",
                    "internal": False,
                    "channel": "chat",
                    "created_at": NOW,
                    "meta": {},
                }
            )
        async with db.write() as s:
            await s.execute(insert(Message), rows)
    return (time.perf_counter() - t0) * 1000 / 2000


Query = Callable[[Any, str], Awaitable[int]]


def kinds(base: Base, rng: random.Random, n: int) -> list[tuple[str, Query, list[str]]]:
    supervisor: ColumnElement[bool] = true()
    agent = ticket_filter(Principal(10**6, "bench", "bench@example.com", "agent", frozenset({2})))

    async def customers(s: Any, q: str) -> int:
        return len(await queries.search_customers(s, q))

    def tickets(visible: ColumnElement[bool]) -> Query:
        async def run(s: Any, q: str) -> int:
            return len(await search.tickets(s, q, visible, 20))

        return run

    def pick(values: list[str]) -> list[str]:
        return [rng.choice(values) for _ in range(n)]

    prefixes = [fold(last)[:4] for last in base.last_names]
    two = [f"{rng.choice(COMMON)} {rng.choice(COMMON)}" for _ in range(n)]
    starts = [w[:2] for w in base.tail_words]
    return [
        ("customer: full name", customers, pick(base.names)),
        ("customer: name prefix (4)", customers, pick(prefixes)),
        ("customer: first name prefix (2)", customers, pick([fold(f)[:2] for f in FIRST])),
        ("customer: company", customers, pick(base.companies)),
        ("customer: email", customers, pick(base.emails)),
        ("customer: email domain", customers, pick([e.split("@")[1] for e in base.emails])),
        ("customer: phone, any format", customers, pick(base.phones)),
        ("customer: no hit", customers, [f"zzyzx{i}" for i in range(n)]),
        ("ticket: common word (1/3)", tickets(supervisor), ["order"] * n),
        ("ticket: common word, agent", tickets(agent), ["order"] * n),
        ("ticket: two common words", tickets(supervisor), two),
        ("ticket: uncommon word", tickets(supervisor), pick(base.tail_words)),
        ("ticket: rare word (order no.)", tickets(supervisor), pick(base.order_numbers)),
        ("ticket: rare word, agent", tickets(agent), pick(base.order_numbers)),
        ("ticket: prefix of 2 letters", tickets(supervisor), pick(starts)),
        ("ticket: no hit", tickets(supervisor), [f"zzyzx{i}" for i in range(n)]),
    ]


def p(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


async def time_queries(
    db: Database, base: Base, n: int, rounds: int
) -> dict[str, tuple[float, float, float]]:
    """kind -> (p50, p95, mean hits), medians over the rounds."""
    out: dict[str, list[tuple[float, float, float]]] = {}
    for r in range(rounds):
        for name, run, values in kinds(base, random.Random(r), n):
            ms, hits = [], []
            for q in values:
                t0 = time.perf_counter()
                async with db.read() as s:
                    hits.append(await run(s, q))
                ms.append((time.perf_counter() - t0) * 1000)
            out.setdefault(name, []).append((statistics.median(ms), p(ms, 0.95), statistics.mean(hits)))
    return {
        name: tuple(statistics.median(x[i] for x in rows) for i in range(3))  # type: ignore[misc]
        for name, rows in out.items()
    }


async def run_one(
    label: str, url: str, plan: Plan, args: argparse.Namespace, load: Callable[[Base], Any]
) -> None:
    print(f"\n== {label}: {plan.customers:,} customers, {plan.tickets:,} tickets, {plan.messages:,} messages")
    await migrate(url, "0011")
    base = Base()
    t0 = time.perf_counter()
    result = load(base)
    if asyncio.iscoroutine(result):
        await result
    print(f"load (bulk, no search index yet)   {time.perf_counter() - t0:7.1f} s")
    seqs: dict[int, int] = {}
    db = Database(url)
    try:
        print(f"writes without the index           {await writes(db, plan, seqs, 'B'):7.3f} ms per message")
    finally:
        await db.close()
    t0 = time.perf_counter()
    await migrate(url, "0012")  # this revision, whatever comes after it
    if url.startswith("sqlite"):  # what the migration wrote, out of the WAL (else the next commit pays)
        with sqlite3.connect(make_url(url).database or "") as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    print(f"migration 0012 (index the base)    {time.perf_counter() - t0:7.1f} s")
    # the later ones, untimed, so that the models match; on SQLite without foreign keys: 0013 rebuilds
    # `queues`, which SQLite refuses with them on once tickets refer to queues
    await migrate(url, "head", foreign_keys=False)
    db = Database(url)
    try:
        print(f"writes with the index current      {await writes(db, plan, seqs, 'C'):7.3f} ms per message")
        await time_queries(db, base, 5, 1)  # warm the caches
        figures = await time_queries(db, base, args.queries, args.rounds)
    finally:
        await db.close()
    print(f"{'query kind':34s} {'p50 ms':>8s} {'p95 ms':>8s} {'hits':>6s}", end="   ")
    print(f"({args.queries} queries a kind, median of {args.rounds} rounds)")
    for name, (p50, p95, hits) in figures.items():
        print(f"{name:34s} {p50:8.2f} {p95:8.2f} {hits:6.1f}")


def file_mb(path: str) -> float:
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p)) / 1e6


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=40, help="queries of each kind a round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--database-url",
        help="a PostgreSQL server to make a fresh database on, e.g. postgresql+asyncpg://127.0.0.1/test",
    )
    ap.add_argument("--skip-sqlite", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the databases (to look at them)")
    args = ap.parse_args()
    plan = Plan(args.customers, args.messages)
    if not args.skip_sqlite:
        tmp = tempfile.mkdtemp(prefix="sbbench_")
        path = str(Path(tmp) / "search.db")
        try:
            await run_one(
                "SQLite", f"sqlite+aiosqlite:///{path}", plan, args, lambda b: load_sqlite(path, plan, b)
            )
            print(f"database file {file_mb(path):.0f} MB")
        finally:
            if args.keep:
                print(f"kept {path}")
            else:
                shutil.rmtree(tmp)
    if args.database_url:
        admin = make_url(args.database_url).set(drivername="postgresql")
        name = "sbbench_" + uuid.uuid4().hex[:10]
        conn = await asyncpg.connect(admin.render_as_string(hide_password=False))
        await conn.execute(f'CREATE DATABASE "{name}"')
        try:
            url = make_url(args.database_url).set(drivername="postgresql+asyncpg", database=name)
            dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
            await run_one(
                "PostgreSQL",
                url.render_as_string(hide_password=False),
                plan,
                args,
                lambda b: load_pg(dsn, plan, b),
            )
            size = await conn.fetchval("SELECT pg_database_size($1)", name)
            print(f"database size {size / 1e6:.0f} MB")
        finally:
            if args.keep:
                print(f"kept database {name}")
            else:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
