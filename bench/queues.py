"""Benchmark: `GET /api/queues` (the supervisor board's queue figures) with many tickets in the database.

Seeds a SQLite database with `--tickets` tickets (default 100,000) over the last 60 days in 4 queues:
about 95% resolved, 3% open with an agent, 2% waiting, a few hundred of them today; then starts
`switchboard serve` on it and times `--requests` sequential requests of `GET /api/queues` as a supervisor,
against `GET /healthz` (one `SELECT 1` through the same server: the floor of any request) and `GET /api/me`
(the floor of a signed-in request) in the same run.
Prints p50/p99 of both; figures, not a verdict.
Run from the project root:  .venv/bin/python bench/queues.py [--tickets 100000] [--requests 300]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from datetime import timedelta

import httpx
from _server import serving
from sqlalchemy import insert, select

from app.db.engine import Database
from app.domain.models import Agent, Customer, Queue, Ticket
from app.domain.types import utcnow

QUEUES = ("general", "billing", "tech", "sales")
PASSWORD = "pw-bench-123456"


async def seed(url: str, n: int) -> None:
    rng = random.Random(7)
    db = Database(url)
    now = utcnow()
    async with db.write() as s:
        queues = {q.name: q.id for q in (await s.execute(select(Queue))).scalars()}
        agents = list((await s.execute(select(Agent.id))).scalars())
        customers = n // 5
        for start in range(0, customers, 10_000):
            await s.execute(
                insert(Customer),
                [
                    {"name": f"Customer {i}", "created_at": now}
                    for i in range(start, min(customers, start + 10_000))
                ],
            )
        first_customer = int(
            (await s.execute(select(Customer.id).order_by(Customer.id).limit(1))).scalar_one()
        )
        rows = []
        for i in range(n):
            created = now - timedelta(seconds=rng.uniform(0, 60 * 86400))
            if i % 250 == 0:
                created = now - timedelta(seconds=rng.uniform(0, 3600))  # a few hundred today
            roll = rng.random()
            queued = created + timedelta(seconds=rng.uniform(1, 60))
            row = {
                "customer_id": first_customer + rng.randrange(customers),
                "subject": f"ticket {i}",
                "queue_id": queues[QUEUES[i % len(QUEUES)]],
                "channel": ("chat", "email", "sms", "voice")[i % 4],
                "tags": [],
                "priority": "normal",
                "created_at": created,
                "updated_at": created,
                "queued_at": queued,
                "assigned_at": None,
                "assignee_id": None,
                "first_response_at": None,
                "resolved_at": None,
                "status": "open",
            }
            if roll < 0.95:
                first = queued + timedelta(seconds=rng.uniform(10, 900))
                row.update(
                    status="resolved",
                    assignee_id=rng.choice(agents),
                    assigned_at=queued,
                    first_response_at=first,
                    resolved_at=first + timedelta(seconds=rng.uniform(60, 7200)),
                )
            elif roll < 0.98:
                row.update(assignee_id=rng.choice(agents), assigned_at=queued)
            rows.append(row)
        for start in range(0, n, 10_000):
            await s.execute(insert(Ticket), rows[start : start + 10_000])
    await db.close()


def timed(http: httpx.Client, path: str, headers: dict[str, str], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = http.get(path, headers=headers)
        out.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, r.text
    return out


def p(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=300)
    args = ap.parse_args()
    before = [
        [
            "agents",
            "add",
            "--email",
            f"a{i}@example.com",
            "--name",
            f"Agent {i}",
            "--password",
            PASSWORD,
            "--queues",
            ",".join(QUEUES),
            "--capacity",
            "1000",
        ]
        for i in range(20)
    ]
    before.append(
        [
            "agents",
            "add",
            "--email",
            "super@example.com",
            "--name",
            "Sup",
            "--password",
            PASSWORD,
            "--role",
            "supervisor",
            "--queues",
            ",".join(QUEUES),
        ]
    )
    with serving(before=before) as server:
        url = server.env["SWITCHBOARD_DATABASE_URL"]
        t0 = time.perf_counter()
        asyncio.run(seed(url, args.tickets))
        print(f"seeded {args.tickets} tickets in {time.perf_counter() - t0:.1f} s")
        # the rows were written behind the server's back: the next sweep (every 10 s) reloads the board
        time.sleep(11)
        with httpx.Client(base_url=server.base, timeout=30) as http:
            r = http.post("/api/auth/token", json={"email": "super@example.com", "password": PASSWORD})
            headers = {"Authorization": f"Bearer {r.json()['token']}"}
            body = http.get("/api/queues", headers=headers).json()["items"]
            print(
                "queues:",
                ", ".join(
                    f"{q['name']} waiting {q['waiting']} handled today {q['handled_today']}" for q in body
                ),
            )
            timed(http, "/api/queues", headers, 20)  # warm up
            rounds = []
            for _ in range(3):
                floor = timed(http, "/healthz", {}, args.requests)
                me = timed(http, "/api/me", headers, args.requests)
                queues = timed(http, "/api/queues", headers, args.requests)
                rounds.append((floor, me, queues))
            names = ("GET /healthz (floor)", "GET /api/me (signed in)", "GET /api/queues")
            for i, name in enumerate(names):
                p50 = statistics.median(statistics.median(r[i]) for r in rounds)
                p99 = statistics.median(p(r[i], 0.99) for r in rounds)
                print(f"{name:22s} p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  (median of 3 rounds)")


if __name__ == "__main__":
    main()
