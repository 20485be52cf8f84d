"""The supervisors' reports (`GET /api/reports/{kind}` and `.csv`) on SQLite and PostgreSQL: exact figures
for a hand-made set of tickets (the same answers from percentile_cont and from SQLite's window functions),
grouped by day, week, queue and channel; the CSV; who may ask; bad parameters; deflection as the bot
really writes it, over chat and email; satisfaction (by agent too) and SLA attainment."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select

from app.domain.models import CsatSurvey, Customer, HistoryEntry, Queue, Ticket
from app.domain.types import utcnow
from tests.support import LiveServer

MON = datetime(2025, 3, 3, tzinfo=UTC)  # a Monday
TUE = MON + timedelta(days=1)
NEXT_MON = MON + timedelta(days=7)
RANGE = "from=2025-03-03&to=2025-03-10"


def at(day: datetime, hour: int) -> datetime:
    return day + timedelta(hours=hour)


async def seed(server: LiveServer) -> None:
    """Tickets with known times (seconds after creation): first response, resolution; and the bot's lines."""
    async with server.ctx.db.write() as s:
        customer = Customer(name="Carla")
        general = (await s.execute(select(Queue).where(Queue.name == "general"))).scalar_one_or_none()
        general = general or Queue(name="general")
        billing, odd = Queue(name="billing"), Queue(name="=HYPERLINK(1)")
        s.add_all([customer, general, billing, odd])
        await s.flush()
        q = {"general": general.id, "billing": billing.id}

        def ticket(queue: str, channel: str, created: datetime, **times: Any) -> Ticket:
            fields = {k: created + timedelta(seconds=v) for k, v in times.items()}
            t = Ticket(
                customer_id=customer.id,
                queue_id=q[queue],
                channel=channel,
                tags=[],
                status="resolved" if "resolved_at" in fields else "open",
                created_at=created,
                updated_at=created,
                **fields,
            )
            s.add(t)
            return t

        ticket("general", "chat", at(MON, 10), first_response_at=60, resolved_at=600)
        ticket("general", "email", at(MON, 11), first_response_at=120, resolved_at=1200)
        ticket("billing", "email", at(MON, 12), first_response_at=300, resolved_at=3000)
        ticket("billing", "sms", at(TUE, 9), first_response_at=30)
        ticket("general", "chat", at(TUE, 10))  # no response: in no response figure
        ticket("general", "chat", at(NEXT_MON, 8), first_response_at=90, resolved_at=100)
        # the bot's tickets: answered and left alone (deflected); answered then handed off; only asked to
        # rephrase; answered but then given to an agent; a voice ticket the bot never spoke on
        bot = [
            (ticket("general", "chat", at(TUE, 13)), [("bot.answer", "bot")]),
            (
                ticket("general", "email", at(TUE, 14), queued_at=5),
                [("bot.answer", "bot"), ("handoff", "bot")],
            ),
            (ticket("general", "sms", at(TUE, 15)), [("bot.clarify", "bot")]),
            (ticket("billing", "chat", at(TUE, 16), assigned_at=50), [("bot.answer", "bot")]),
            (ticket("general", "voice", at(TUE, 17), queued_at=1), [("handoff", "system")]),
        ]
        await s.flush()
        for t, lines in bot:
            for i, (kind, author) in enumerate(lines):
                s.add(
                    HistoryEntry(
                        customer_id=customer.id,
                        ticket_id=t.id,
                        kind=kind,
                        channel=t.channel,
                        author=author,
                        at=t.created_at + timedelta(seconds=1 + i),
                    )
                )


async def supervisor(server: LiveServer) -> str:
    await server.add_agent("sue@example.com", "Sue", role="supervisor")
    return (await server.token("sue@example.com"))[0]


async def get(server: LiveServer, token: str, path: str) -> dict[str, Any]:
    async with server.client(token) as api:
        r = await api.get(path)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


def by_key(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["key"]: {k: v for k, v in row.items() if k != "key"} for row in report["rows"]}


def dur(count: int, median: float | None, p90: float | None, mean: float | None) -> dict[str, Any]:
    return {"count": count, "median_s": median, "p90_s": p90, "mean_s": mean}


async def test_figures_by_day_week_queue_and_channel(server: LiveServer) -> None:
    await seed(server)
    token = await supervisor(server)
    frt = await get(server, token, f"/api/reports/first_response?{RANGE}")
    assert (frt["kind"], frt["from"], frt["to"], frt["group"]) == (
        "first_response",
        "2025-03-03",
        "2025-03-10",
        "day",
    )
    rows = by_key(frt)
    assert list(rows) == [f"2025-03-{d:02d}" for d in range(3, 11)]  # every day, empty ones too
    assert rows["2025-03-03"] == dur(3, 120.0, 264.0, 160.0)  # 60, 120, 300: p90 at 1.8 of 0..2
    assert rows["2025-03-04"] == dur(1, 30.0, 30.0, 30.0)  # the ticket with no response is not counted
    assert rows["2025-03-05"] == dur(0, None, None, None)
    assert rows["2025-03-10"] == dur(1, 90.0, 90.0, 90.0)

    rows = by_key(await get(server, token, f"/api/reports/first_response?{RANGE}&group=queue"))
    assert rows["general"] == dur(3, 90.0, 114.0, 90.0)  # 60, 90, 120
    assert rows["billing"] == dur(2, 165.0, 273.0, 165.0)  # 30, 300
    assert rows["=HYPERLINK(1)"] == dur(0, None, None, None)
    rows = by_key(await get(server, token, f"/api/reports/first_response?{RANGE}&group=channel"))
    assert rows == {
        "chat": dur(2, 75.0, 87.0, 75.0),
        "email": dur(2, 210.0, 282.0, 210.0),
        "sms": dur(1, 30.0, 30.0, 30.0),
        "voice": dur(0, None, None, None),
    }
    rows = by_key(
        await get(server, token, f"/api/reports/first_response?{RANGE}&group=channel&queue=billing")
    )
    assert rows["email"] == dur(1, 300.0, 300.0, 300.0) and rows["chat"]["count"] == 0
    rows = by_key(await get(server, token, f"/api/reports/first_response?{RANGE}&group=week&channel=chat"))
    assert rows == {"2025-03-03": dur(1, 60.0, 60.0, 60.0), "2025-03-10": dur(1, 90.0, 90.0, 90.0)}

    rows = by_key(await get(server, token, f"/api/reports/resolution?{RANGE}"))
    assert rows["2025-03-03"] == dur(3, 1200.0, 2640.0, 1600.0)  # 600, 1200, 3000
    assert rows["2025-03-04"]["count"] == 0 and rows["2025-03-10"] == dur(1, 100.0, 100.0, 100.0)
    # the range ends with its last day: a day before leaves the next Monday out
    rows = by_key(
        await get(server, token, "/api/reports/resolution?from=2025-03-03&to=2025-03-09&group=week")
    )
    assert rows == {"2025-03-03": dur(3, 1200.0, 2640.0, 1600.0)}

    rows = by_key(await get(server, token, f"/api/reports/volume?{RANGE}"))
    assert rows["2025-03-03"] == {"created": 3, "resolved": 3}
    assert rows["2025-03-04"] == {"created": 7, "resolved": 0}
    assert rows["2025-03-10"] == {"created": 1, "resolved": 1}
    rows = by_key(await get(server, token, f"/api/reports/volume?{RANGE}&group=channel"))
    assert rows == {
        "chat": {"created": 5, "resolved": 2},
        "email": {"created": 3, "resolved": 2},
        "sms": {"created": 2, "resolved": 0},
        "voice": {"created": 1, "resolved": 0},
    }
    rows = by_key(await get(server, token, f"/api/reports/volume?{RANGE}&group=queue"))
    assert rows["general"] == {"created": 8, "resolved": 3} and rows["billing"] == {
        "created": 3,
        "resolved": 1,
    }

    rows = by_key(await get(server, token, f"/api/reports/deflection?{RANGE}"))
    tuesday = {"handled": 4, "answered": 3, "handed_off": 2, "deflected": 1, "rate": 0.25}
    assert rows["2025-03-04"] == tuesday
    assert rows["2025-03-03"] == {"handled": 0, "answered": 0, "handed_off": 0, "deflected": 0, "rate": None}
    rows = by_key(await get(server, token, f"/api/reports/deflection?{RANGE}&group=channel"))
    assert rows["chat"] == {"handled": 2, "answered": 2, "handed_off": 1, "deflected": 1, "rate": 0.5}
    assert rows["voice"]["handled"] == 0  # a handoff with no turn of the bot's
    # a range starting after a ticket was created leaves its lines out with it
    rows = by_key(await get(server, token, "/api/reports/deflection?from=2025-03-05&to=2025-03-10"))
    assert sum(r["handled"] for r in rows.values()) == 0


async def test_csv(server: LiveServer) -> None:
    await seed(server)
    token = await supervisor(server)
    async with server.client(token) as api:
        r = await api.get(f"/api/reports/first_response.csv?{RANGE}&group=queue")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == (
        'attachment; filename="first_response-by-queue-2025-03-03-to-2025-03-10.csv"'
    )
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["queue", "count", "median_s", "p90_s", "mean_s"]
    assert ["general", "3", "90.0", "114.0", "90.0"] in rows
    assert ["billing", "2", "165.0", "273.0", "165.0"] in rows
    assert ["'=HYPERLINK(1)", "0", "", "", ""] in rows  # a spreadsheet shows it, never runs it
    async with server.client(token) as api:
        r = await api.get(f"/api/reports/deflection.csv?{RANGE}")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["day", "handled", "answered", "handed_off", "deflected", "rate"]
    assert ["2025-03-04", "4", "3", "2", "1", "0.25"] in rows and len(rows) == 9


async def test_who_may_ask_and_bad_parameters(server: LiveServer) -> None:
    token = await supervisor(server)
    await server.add_agent("ana@example.com", "Ana")
    ana, _ = await server.token("ana@example.com")
    async with server.client(ana) as api:
        for path in ("/api/reports/volume", "/api/reports/volume.csv", "/api/reports/deflection"):
            r = await api.get(path)
            assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    async with server.client() as api:
        assert (await api.get("/api/reports/volume")).status_code == 401
    async with server.client(token) as api:
        # the default: the last 30 days to today, by day
        body = (await api.get("/api/reports/volume")).json()
        today = utcnow().date()
        assert (body["from"], body["to"]) == ((today - timedelta(days=29)).isoformat(), today.isoformat())
        assert len(body["rows"]) == 30
        for query, code in (
            ("from=2025-01-01&to=2026-01-02", "range_too_long"),
            ("from=2025-03-10&to=2025-03-03", "bad_range"),
            ("from=yesterday", "bad_date"),
            ("to=9999-12-31", "bad_date"),
            ("from=0001-01-01&to=0001-01-02", "bad_date"),
            ("group=month", "bad_group"),
            ("channel=fax", "bad_channel"),
            ("queue=nowhere", "unknown_queue"),
        ):
            for suffix in ("", ".csv"):
                r = await api.get(f"/api/reports/first_response{suffix}?{query}")
                assert r.status_code == 400, (query, r.text)
                assert r.json()["error"]["code"] == code, (query, r.text)
        r = await api.get("/api/reports/nps")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        assert (await api.get("/api/reports/volume?from=2025-01-01&to=2025-12-31")).status_code == 200
        # the OpenAPI document reads every report's docstring
        paths = (await api.get("/openapi.json")).json()["paths"]
        assert "from" in str(paths["/api/reports/deflection.csv"]["get"]["parameters"])


def faq_mail(sender: str, text: str, n: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@example.com"
    msg["Subject"] = text
    msg["Message-ID"] = f"<reports-{n}@example.org>"
    msg.set_content(text)
    return msg.as_bytes()


async def test_deflection_as_the_bot_writes_it(server: LiveServer) -> None:
    """The bot answers a known question over chat and over email: both deflected; then the chat customer
    asks for a person: handed off, no longer deflected."""
    token = await supervisor(server)
    await server.import_faq()

    async def today() -> dict[str, Any]:
        return by_key(await get(server, token, "/api/reports/deflection?group=channel"))

    async def until(check: Any) -> dict[str, Any]:
        rows: dict[str, Any] = {}
        for _ in range(200):
            rows = await today()
            if check(rows):
                return rows
            await asyncio.sleep(0.05)
        raise AssertionError(rows)

    widget, _ = await server.widget(name="Carla")
    await widget.send({"type": "message", "text": "How do I reset my password?", "client_id": "c1"})
    async with server.client(token) as api:
        r = await api.post(
            "/api/email/inbound",
            content=faq_mail("dan@example.org", "What are your opening hours?", 1),
            headers={"Content-Type": "message/rfc822"},
        )
        assert r.status_code == 201, r.text
    rows = await until(lambda rows: rows["chat"]["answered"] == 1 and rows["email"]["answered"] == 1)
    assert rows["chat"] == {"handled": 1, "answered": 1, "handed_off": 0, "deflected": 1, "rate": 1.0}
    assert rows["email"] == {"handled": 1, "answered": 1, "handed_off": 0, "deflected": 1, "rate": 1.0}

    await widget.send({"type": "message", "text": "I want to talk to a human please", "client_id": "c2"})
    rows = await until(lambda rows: rows["chat"]["handed_off"] == 1)
    assert rows["chat"] == {"handled": 1, "answered": 1, "handed_off": 1, "deflected": 0, "rate": 0.0}
    total = by_key(await get(server, token, "/api/reports/deflection?group=week"))
    assert sum(r["handled"] for r in total.values()) == 2
    assert sum(r["deflected"] for r in total.values()) == 1
    await widget.close()


# ---------------------------------------------------------------------------------------- CSAT and SLA

FAR = datetime(2099, 1, 1, tzinfo=UTC)  # a due time not reached yet


async def _queues(s: Any) -> dict[str, int]:
    out = {}
    for name in ("general", "billing"):
        q = (await s.execute(select(Queue).where(Queue.name == name))).scalar_one_or_none()
        if q is None:
            q = Queue(name=name)
            s.add(q)
            await s.flush()
        out[name] = q.id
    return out


async def seed_csat(server: LiveServer) -> dict[str, int]:
    """Answered surveys (and some that do not count): Ana 5, 4, 1; Bob 2, 5; nobody's 3."""
    ana = await server.add_agent("ana@example.com", "Ana")
    bob = await server.add_agent("bob@example.com", "Bob")
    async with server.ctx.db.write() as s:
        q = await _queues(s)
        customer = Customer(name="Carla")
        s.add(customer)
        await s.flush()
        rows: list[tuple[str, str, int | None, int | None, datetime | None]] = [
            ("general", "chat", ana, 5, at(MON, 10)),
            ("general", "email", ana, 4, at(MON, 11)),
            ("billing", "email", bob, 2, at(MON, 12)),
            ("billing", "sms", bob, 5, at(TUE, 9)),
            ("general", "chat", None, 3, at(TUE, 10)),
            ("general", "chat", ana, 1, at(NEXT_MON, 8)),
            ("general", "chat", ana, None, None),  # sent, never answered
            ("general", "email", bob, 1, at(MON, 0) - timedelta(seconds=1)),  # before the range
            ("general", "email", bob, 1, at(NEXT_MON, 24)),  # after it
        ]
        for i, (queue, channel, agent, score, answered) in enumerate(rows):
            t = Ticket(
                customer_id=customer.id,
                queue_id=q[queue],
                channel=channel,
                tags=[],
                status="resolved",
                created_at=at(MON, 0) - timedelta(days=2),
            )
            s.add(t)
            await s.flush()
            s.add(
                CsatSurvey(
                    token_hash=f"{i:064d}",
                    ticket_id=t.id,
                    customer_id=customer.id,
                    agent_id=agent,
                    queue_id=q[queue],
                    channel=channel,
                    sent_at=at(MON, 0) - timedelta(days=1),
                    score=score,
                    answered_at=answered,
                )
            )
    return {"ana": ana, "bob": bob}


def sat(answered: int, average: float | None, pct: float | None) -> dict[str, Any]:
    return {"answered": answered, "average": average, "satisfied_pct": pct}


async def test_csat_figures(server: LiveServer) -> None:
    await seed_csat(server)
    token = await supervisor(server)
    report = await get(server, token, f"/api/reports/csat?{RANGE}")
    assert report["columns"] == ["answered", "average", "satisfied_pct"]
    rows = by_key(report)
    assert len(rows) == 8
    assert rows["2025-03-03"] == sat(3, 3.67, 66.7)  # 5, 4, 2
    assert rows["2025-03-04"] == sat(2, 4.0, 50.0)  # 5, 3
    assert rows["2025-03-05"] == sat(0, None, None)
    assert rows["2025-03-10"] == sat(1, 1.0, 0.0)  # the one after the range's last day is not here
    rows = by_key(await get(server, token, f"/api/reports/csat?{RANGE}&group=week"))
    assert rows == {"2025-03-03": sat(5, 3.8, 60.0), "2025-03-10": sat(1, 1.0, 0.0)}
    rows = by_key(await get(server, token, f"/api/reports/csat?{RANGE}&group=queue"))
    assert rows == {"general": sat(4, 3.25, 50.0), "billing": sat(2, 3.5, 50.0)}
    rows = by_key(await get(server, token, f"/api/reports/csat?{RANGE}&group=channel"))
    assert rows == {
        "chat": sat(3, 3.0, 33.3),
        "email": sat(2, 3.0, 50.0),
        "sms": sat(1, 5.0, 100.0),
        "voice": sat(0, None, None),
    }
    report = await get(server, token, f"/api/reports/csat?{RANGE}&group=agent")
    assert [row["key"] for row in report["rows"]] == ["(no agent)", "Ana", "Bob"]
    assert by_key(report) == {
        "Ana": sat(3, 3.33, 66.7),
        "Bob": sat(2, 3.5, 50.0),
        "(no agent)": sat(1, 3.0, 0.0),
    }
    rows = by_key(await get(server, token, f"/api/reports/csat?{RANGE}&group=agent&queue=billing"))
    assert rows == {"Bob": sat(2, 3.5, 50.0)}
    rows = by_key(await get(server, token, f"/api/reports/csat?{RANGE}&group=agent&channel=chat"))
    assert rows == {"Ana": sat(2, 3.0, 50.0), "(no agent)": sat(1, 3.0, 0.0)}

    async with server.client(token) as api:
        r = await api.get(f"/api/reports/csat.csv?{RANGE}&group=agent")
        assert r.status_code == 200
        assert list(csv.reader(io.StringIO(r.text))) == [
            ["agent", "answered", "average", "satisfied_pct"],
            ["(no agent)", "1", "3.0", "0.0"],
            ["Ana", "3", "3.33", "66.7"],
            ["Bob", "2", "3.5", "50.0"],
        ]
        # by agent is the satisfaction report's alone
        r = await api.get(f"/api/reports/sla?{RANGE}&group=agent")
        assert r.status_code == 400 and r.json()["error"]["code"] == "bad_group"
        paths = (await api.get("/openapi.json")).json()["paths"]
        assert "agent" in str(paths["/api/reports/csat"]["get"]["parameters"])
        assert "agent" not in str(paths["/api/reports/volume"]["get"]["parameters"])


async def seed_sla(server: LiveServer) -> None:
    """Tickets with SLA targets (seconds after creation, or FAR: not due yet) and what became of them."""
    async with server.ctx.db.write() as s:
        q = await _queues(s)
        customer = Customer(name="Dora")
        s.add(customer)
        await s.flush()

        def ticket(queue: str, channel: str, created: datetime, **times: int | datetime) -> None:
            fields = {
                k: v if isinstance(v, datetime) else created + timedelta(seconds=v) for k, v in times.items()
            }
            s.add(
                Ticket(
                    customer_id=customer.id,
                    queue_id=q[queue],
                    channel=channel,
                    tags=[],
                    status="resolved" if "resolved_at" in fields else "open",
                    created_at=created,
                    updated_at=created,
                    **fields,
                )
            )

        hour, day = 3600, 86400
        # 1: both met
        ticket(
            "general",
            "chat",
            at(MON, 10),
            first_response_due_at=hour,
            first_response_at=600,
            resolution_due_at=day,
            resolved_at=7200,
        )
        # 2: answered late (marked by the sweep), resolved late (not marked): both breached
        ticket(
            "general",
            "email",
            at(MON, 11),
            first_response_due_at=hour,
            first_response_at=2 * hour,
            first_response_breached_at=hour + 1,
            resolution_due_at=day,
            resolved_at=day + hour,
        )
        # 3: never answered nor resolved, both marked: both breached
        ticket(
            "billing",
            "email",
            at(MON, 12),
            first_response_due_at=hour,
            first_response_breached_at=hour + 5,
            resolution_due_at=day,
            resolution_breached_at=day + 5,
        )
        # 4: no answer, overdue but not marked yet: breached; its resolution is not due yet: neither
        ticket("billing", "sms", at(TUE, 9), first_response_due_at=hour, resolution_due_at=FAR)
        # 5: first response not due yet: neither; no resolution target
        ticket("general", "chat", at(TUE, 10), first_response_due_at=FAR)
        # 6: no target at all: not in the report
        ticket("general", "chat", at(TUE, 11), first_response_at=60)
        # 7: resolved within its target before any answer: resolution met, first response in neither
        ticket(
            "general",
            "email",
            at(TUE, 12),
            first_response_due_at=hour,
            resolution_due_at=2 * hour,
            resolved_at=600,
        )
        # 8: answered at the very second it was due: met
        ticket("general", "chat", at(NEXT_MON, 8), first_response_due_at=hour, first_response_at=hour)
        # created before the range: not in it
        ticket("general", "chat", at(MON, -1), first_response_due_at=hour, first_response_at=60)


def slas(fr: tuple[int, int, int, float | None], res: tuple[int, int, int, float | None]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for target, figures in (("first_response", fr), ("resolution", res)):
        for name, value in zip(("targets", "met", "breached", "attainment_pct"), figures, strict=True):
            out[f"{target}_{name}"] = value
    return out


async def test_sla_figures(server: LiveServer) -> None:
    await seed_sla(server)
    token = await supervisor(server)
    report = await get(server, token, f"/api/reports/sla?{RANGE}")
    assert report["columns"] == list(slas((0, 0, 0, None), (0, 0, 0, None)))
    rows = by_key(report)
    assert len(rows) == 8
    assert rows["2025-03-03"] == slas((3, 1, 2, 33.3), (3, 1, 2, 33.3))
    assert rows["2025-03-04"] == slas((3, 0, 1, 0.0), (2, 1, 0, 100.0))
    assert rows["2025-03-05"] == slas((0, 0, 0, None), (0, 0, 0, None))
    assert rows["2025-03-10"] == slas((1, 1, 0, 100.0), (0, 0, 0, None))
    rows = by_key(await get(server, token, f"/api/reports/sla?{RANGE}&group=week"))
    assert rows == {
        "2025-03-03": slas((6, 1, 3, 25.0), (5, 2, 2, 50.0)),
        "2025-03-10": slas((1, 1, 0, 100.0), (0, 0, 0, None)),
    }
    rows = by_key(await get(server, token, f"/api/reports/sla?{RANGE}&group=queue"))
    assert rows == {
        "general": slas((5, 2, 1, 66.7), (3, 2, 1, 66.7)),
        "billing": slas((2, 0, 2, 0.0), (2, 0, 1, 0.0)),
    }
    rows = by_key(await get(server, token, f"/api/reports/sla?{RANGE}&group=channel"))
    assert rows == {
        "chat": slas((3, 2, 0, 100.0), (1, 1, 0, 100.0)),
        "email": slas((3, 0, 2, 0.0), (3, 1, 2, 33.3)),
        "sms": slas((1, 0, 1, 0.0), (1, 0, 0, None)),
        "voice": slas((0, 0, 0, None), (0, 0, 0, None)),
    }
    rows = by_key(await get(server, token, f"/api/reports/sla?{RANGE}&group=channel&queue=general"))
    assert rows["email"] == slas((2, 0, 1, 0.0), (2, 1, 1, 50.0))
    async with server.client(token) as api:
        r = await api.get(f"/api/reports/sla.csv?{RANGE}&group=week")
    assert list(csv.reader(io.StringIO(r.text))) == [
        ["week", *report["columns"]],
        ["2025-03-03", "6", "1", "3", "25.0", "5", "2", "2", "50.0"],
        ["2025-03-10", "1", "1", "0", "100.0", "0", "0", "0", ""],
    ]
