"""Reminders: a pending ticket wakes up at its time; renewal and payment reminders go out to customers by
email (a real SMTP relay on loopback) and SMS (the fake Twilio API), scheduled by agents or by rules, and
never to a customer who opted out of the channel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from app.db.migrate import upgrade
from tests.integration.test_email import SUPPORT, Sink
from tests.integration.test_sms import FROM, SID, TOKEN, FakeTwilio, fake_twilio
from tests.integration.test_ticket_merge import mail, send
from tests.support import LiveServer, free_port, make_settings

__all__ = ["fake_twilio"]  # the fixture, used here


class Setup:
    def __init__(self, server: LiveServer, sink: Sink, twilio: FakeTwilio) -> None:
        self.server, self.sink, self.twilio = server, sink, twilio


@pytest.fixture
async def live(database_url: str, fake_twilio: tuple[FakeTwilio, str]) -> AsyncIterator[Setup]:
    state, api_url = fake_twilio
    sink = Sink()
    relay_port = free_port()
    relay = Controller(sink, hostname="127.0.0.1", port=relay_port)
    relay.start()
    port = free_port()
    settings = make_settings(
        database_url,
        smtp_relay=f"smtp://127.0.0.1:{relay_port}",
        support_address=SUPPORT,
        twilio_account_sid=SID,
        twilio_auth_token=TOKEN,
        twilio_from_number=FROM,
        twilio_api_url=api_url,
        public_url=f"http://127.0.0.1:{port}",
        reminder_check_s=0.1,
        csat=0,
    )
    settings = replace(settings, port=port)
    await upgrade(settings.database_url)
    server = LiveServer(settings)
    await server.start()
    try:
        yield Setup(server, sink, state)
    finally:
        await server.stop()
        relay.stop()


def text_of(m: EmailMessage) -> str:
    body = m.get_body(("plain",))
    return str(body.get_content()) if body is not None else ""


def soon(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


async def until(check: Callable[[], Awaitable[Any]], timeout: float = 10.0) -> Any:  # noqa: ASYNC109
    """The first true value of `check`, polled for at most `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.1)


async def ticket(api: httpx.AsyncClient, tid: int) -> dict[str, Any]:
    return dict((await api.get(f"/api/tickets/{tid}")).json())


async def test_a_pending_ticket_wakes_up_at_its_time(live: Setup) -> None:
    server = live.server
    ana_id = await server.add_agent("ana@example.com", "Ana", queues=["general"])
    ana, _ = await server.token("ana@example.com")
    async with server.client(ana) as api:
        tid = await send(api, mail("greta@lind.example", "invoice", "I will send the form tomorrow", 1))
        assert (await api.patch(f"/api/tickets/{tid}", json={"assignee_id": ana_id})).status_code == 200
        for bad, code in (
            ({"pending_until": soon(60)}, "not_pending"),  # the ticket is not pending
            ({"status": "pending", "pending_until": "tomorrow"}, "bad_pending_until"),
            ({"status": "pending", "pending_until": "2027-01-01T09:00:00"}, "bad_pending_until"),  # no offset
            ({"status": "pending", "pending_until": soon(86400 * 365 * 4)}, "bad_pending_until"),
        ):
            r = await api.patch(f"/api/tickets/{tid}", json=bad)
            assert r.status_code == 400 and r.json()["error"]["code"] == code, (bad, r.text)
        assert (await ticket(api, tid))["status"] != "pending"  # a refused change changes nothing
        # pending with a wake-up time, then back to open by hand: the time goes with the pending state
        r = await api.patch(f"/api/tickets/{tid}", json={"status": "pending", "pending_until": soon(3600)})
        assert r.status_code == 200 and r.json()["pending_until"], r.text
        r = await api.patch(f"/api/tickets/{tid}", json={"status": "open"})
        assert r.json()["pending_until"] is None
        r = await api.patch(f"/api/tickets/{tid}", json={"status": "pending"})
        assert r.json()["status"] == "pending" and r.json()["pending_until"] is None
        socket = await server.agent_socket(ana)
        r = await api.patch(f"/api/tickets/{tid}", json={"pending_until": soon(0.5)})
        assert r.status_code == 200 and r.json()["status"] == "pending"

        async def woken() -> dict[str, Any] | None:
            t = await ticket(api, tid)
            return t if t["status"] == "open" else None

        awake = await until(woken)
        assert awake and awake["pending_until"] is None and awake["assignee_id"] == ana_id
        frame = await socket.wait_for(
            lambda f: f.get("type") == "ticket.updated" and f["data"].get("reason") == "wake", timeout=5
        )
        assert frame and frame["data"]["ticket"]["status"] == "open", socket.frames
        lines = (await api.get(f"/api/customers/{awake['customer_id']}/history")).json()["items"]
        assert any("woke up" in (line.get("text") or "") for line in lines), lines
    await socket.close()


async def _customer(api: httpx.AsyncClient, tid: int) -> int:
    cid = int((await ticket(api, tid))["customer_id"])
    r = await api.post(f"/api/customers/{cid}/identities", json={"kind": "phone", "address": "+14155550123"})
    assert r.status_code == 201, r.text
    return cid


async def test_reminders_go_out_by_email_and_sms_unless_the_customer_opted_out(live: Setup) -> None:
    server = live.server
    await server.add_agent("ana@example.com", "Ana", queues=["general"])
    ana, _ = await server.token("ana@example.com")
    await server.add_agent("sue@example.com", "Sue", role="supervisor", queues=["general"])
    sue, _ = await server.token("sue@example.com")
    async with server.client(ana) as api:
        tid = await send(api, mail("greta@lind.example", "my plan", "when does my plan renew?", 1))
        cid = await _customer(api, tid)
        base = f"/api/customers/{cid}/reminders"
        good = {"kind": "payment", "channel": "email", "body": "Your invoice 42 is due on Friday."}
        for bad, code in (
            ({**good, "channel": "pigeon", "due_at": soon(1)}, "bad_channel"),
            ({**good, "kind": "birthday", "due_at": soon(1)}, "bad_kind"),
            ({**good, "body": " ", "due_at": soon(1)}, "bad_body"),
            ({**good, "due_at": "2027-01-01 09:00"}, "bad_due_at"),
            ({**good, "channel": "sms", "subject": "Hi", "due_at": soon(1)}, "bad_subject"),
            ({**good, "due_at": soon(1), "ticket_id": 999_999}, "bad_ticket_id"),
            ({**good, "due_at": soon(1), "colour": "red"}, "unknown_field"),
        ):
            r = await api.post(base, json=bad)
            assert r.status_code == 400 and r.json()["error"]["code"] == code, (bad, r.text)
        assert (
            await api.post("/api/customers/999999/reminders", json={**good, "due_at": soon(1)})
        ).status_code == 404
        later = (await api.post(base, json={**good, "due_at": soon(3600)})).json()
        by_mail = await api.post(base, json={**good, "due_at": soon(0.3), "ticket_id": tid})
        assert by_mail.status_code == 201 and by_mail.json()["status"] == "scheduled", by_mail.text
        by_sms = await api.post(
            base,
            json={
                "kind": "renewal",
                "channel": "sms",
                "body": "Your plan renews on 1 March.",
                "due_at": soon(0.3),
            },
        )
        assert by_sms.status_code == 201, by_sms.text
        # cancelled before it is due, once
        r = await api.delete(f"/api/reminders/{later['id']}")
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        assert (await api.delete(f"/api/reminders/{later['id']}")).status_code == 409

        async def sent(mails: list[EmailMessage]) -> EmailMessage | None:
            return next((m for m in mails if "invoice 42" in text_of(m)), None)

        out = await until(lambda: sent(live.sink.mails))
        assert out is not None and out["To"] == "greta@lind.example"
        assert out["Subject"].startswith("Payment reminder") and not out["Subject"].startswith("Re:"), out[
            "Subject"
        ]

        async def texted() -> list[dict[str, str]]:
            return [m for m in live.twilio.sent if "renews" in m["Body"]]

        texts = await until(texted)
        assert texts and texts[0]["To"] == "+14155550123", live.twilio.sent
        mine = {r["id"]: r for r in (await api.get(base)).json()["items"]}
        done = mine[by_mail.json()["id"]]
        assert done["status"] == "sent" and done["sent_ticket_id"] and done["done_at"], done
        assert mine[later["id"]]["status"] == "cancelled"
        # the reminder went out on a ticket of its own, closed, tagged, on the customer's timeline
        own = await ticket(api, done["sent_ticket_id"])
        assert own["status"] == "closed" and own["channel"] == "email" and "reminder:payment" in own["tags"]
        # the customer answers the reminder: the ticket reopens for the bot and the agents
        reply = EmailMessage()
        reply["From"], reply["To"], reply["Subject"] = "greta@lind.example", SUPPORT, "Re: " + out["Subject"]
        reply["Message-ID"], reply["In-Reply-To"] = "<greta-answer@lind.example>", out["Message-ID"]
        reply.set_content("Paid it just now.")
        assert await send(api, reply.as_bytes()) == own["id"]
        assert (await ticket(api, own["id"]))["status"] in ("new", "open")

        # opted out: refused up front; and a reminder scheduled before the opt-out is skipped, with why
        waiting = (
            await api.post(
                base, json={"kind": "renewal", "channel": "sms", "body": "Renewal soon!", "due_at": soon(0.5)}
            )
        ).json()
        assert (await api.patch(f"/api/customers/{cid}", json={"sms_opt_out": True})).status_code == 200
        r = await api.post(base, json={"channel": "sms", "body": "again?", "due_at": soon(1)})
        assert r.status_code == 409 and r.json()["error"]["code"] == "opted_out"

        async def skipped() -> dict[str, Any] | None:
            items = (await api.get(base)).json()["items"]
            return next((i for i in items if i["id"] == waiting["id"] and i["status"] == "skipped"), None)

        gone = await until(skipped)
        assert gone and "opted out" in gone["outcome"], gone
        assert not [m for m in live.twilio.sent if "Renewal soon" in m["Body"]]
        lines = [
            h.get("text") or "" for h in (await api.get(f"/api/customers/{cid}/history")).json()["items"]
        ]
        assert any("not sent" in t and "opted out" in t for t in lines), lines
        assert any("payment reminder sent by email" in t for t in lines), lines
        assert (await api.get("/api/reminders")).status_code == 403  # the overview is for supervisors
    async with server.client(sue) as boss:
        r = await boss.get("/api/reminders", params={"status": "sent"})
        assert r.status_code == 200 and {i["status"] for i in r.json()["items"]} == {"sent"}
        assert len(r.json()["items"]) == 2
        assert (await boss.get("/api/reminders", params={"status": "lost"})).status_code == 400


async def test_rules_schedule_reminders_once(live: Setup) -> None:
    server = live.server
    await server.add_agent("adm@example.com", "Adm", role="admin", queues=["general"])
    adm, _ = await server.token("adm@example.com")
    async with server.client(adm) as api:
        r = await api.post(
            "/api/customer-attributes", json={"key": "renewal_date", "label": "Renewal", "type": "date"}
        )
        assert r.status_code == 201, r.text
        renew = {
            "type": "remind",
            "kind": "renewal",
            "channel": "email",
            "subject": "Your plan renews soon",
            "body": "Your plan renews in a week.",
            "attribute": "renewal_date",
            "days_before": 7,
        }
        for bad in (
            {**renew, "attribute": "nothing"},  # no such attribute
            {**renew, "days_before": -1},
            {**renew, "in_days": 3},  # both ways of saying when
            {**renew, "channel": "fax"},
        ):
            rule = {"name": "x", "trigger": "ticket.created", "actions": [bad]}
            assert (await api.post("/api/rules", json=rule)).status_code == 400, bad
        rule = {
            "name": "renewals",
            "trigger": "ticket.created",
            "conditions": [{"field": "channel", "op": "is", "value": "email"}],
            "actions": [renew],
        }
        assert (await api.post("/api/rules", json=rule)).status_code == 201
        # a payment reminder due at once, for a ticket about paying: the reminder's own ticket ("Payment
        # reminder") must not set it off again
        now_rule = {
            "name": "pay now",
            "trigger": "ticket.created",
            "conditions": [{"field": "subject", "op": "contains", "value": "pay"}],
            "actions": [
                {"type": "remind", "kind": "payment", "channel": "email", "body": "Pay please.", "in_days": 0}
            ],
        }
        assert (await api.post("/api/rules", json=now_rule)).status_code == 201
        dry = await api.post("/api/rules/dry-run", json={"rule": now_rule})
        assert dry.status_code == 200

        first = await send(api, mail("greta@lind.example", "hello", "hi there", 1))
        cid = int((await ticket(api, first))["customer_id"])
        day = (datetime.now(UTC) + timedelta(days=30)).date()
        r = await api.patch(f"/api/customers/{cid}", json={"attributes": {"renewal_date": day.isoformat()}})
        assert r.status_code == 200, r.text
        await send(api, mail("greta@lind.example", "again", "and again", 2))
        await send(api, mail("greta@lind.example", "third", "and a third time", 3))

        async def scheduled() -> list[dict[str, Any]]:
            items = (await api.get(f"/api/customers/{cid}/reminders")).json()["items"]
            return [i for i in items if i["kind"] == "renewal"]

        found = await until(scheduled)
        await asyncio.sleep(0.5)  # the third ticket's rule run has had its time
        found = await scheduled()
        assert len(found) == 1, found  # once, though two tickets matched
        expected = datetime.combine(day - timedelta(days=7), datetime.min.time(), UTC) + timedelta(hours=9)
        assert datetime.fromisoformat(found[0]["due_at"]) == expected and found[0]["rule_id"]
        assert found[0]["subject"] == "Your plan renews soon"

        await send(api, mail("bo@else.example", "pay my invoice", "how?", 4))

        async def paid() -> list[EmailMessage]:
            return [m for m in live.sink.mails if "Pay please." in text_of(m)]

        assert await until(paid)
        await asyncio.sleep(1.0)  # time for a loop to show itself
        assert len(await paid()) == 1
        tickets = (await api.get("/api/tickets")).json()["items"]
        lines = [t for t in tickets if "reminder" in t["tags"]]
        assert len(lines) == 1, lines


async def test_reminders_follow_merges_and_go_with_an_erasure(live: Setup) -> None:
    server = live.server
    await server.add_agent("adm@example.com", "Adm", role="admin", queues=["general"])
    adm, _ = await server.token("adm@example.com")
    async with server.client(adm) as api:
        keep = int(
            (await ticket(api, await send(api, mail("greta@lind.example", "a", "hi", 1))))["customer_id"]
        )
        other = int(
            (await ticket(api, await send(api, mail("g.lind@work.example", "b", "hi", 2))))["customer_id"]
        )
        body = {"kind": "renewal", "channel": "email", "body": "Renewal next month.", "due_at": soon(3600)}
        r = await api.post(f"/api/customers/{other}/reminders", json=body)
        assert r.status_code == 201, r.text
        rid = r.json()["id"]

        async def owners() -> tuple[list[int], list[int]]:
            kept = (await api.get(f"/api/customers/{keep}/reminders")).json()["items"]
            moved = await api.get(f"/api/customers/{other}/reminders")
            return [i["id"] for i in kept], [
                i["id"] for i in moved.json()["items"]
            ] if moved.status_code == 200 else []

        merged = await api.post(f"/api/customers/{keep}/merge", json={"other_id": other})
        assert merged.status_code == 200, merged.text
        assert await owners() == ([rid], [])  # moved with the merge
        assert (await api.post(f"/api/merges/{merged.json()['merge_id']}/undo")).status_code == 200
        assert await owners() == ([], [rid])  # and back with its undo

        exported = (await api.get(f"/api/customers/{other}/export")).json()
        assert [(x["id"], x["body"]) for x in exported["reminders"]] == [(rid, "Renewal next month.")]
        erased = await api.post(f"/api/customers/{other}/erase", json={"confirm": True})
        assert erased.status_code == 200 and erased.json()["erased"]["reminders"] == 1, erased.text
        assert await owners() == ([], [])
