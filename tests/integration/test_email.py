"""The email channel with real SMTP both ways on loopback: mail to the listener opens a ticket, the
agent's reply goes out through a relay (an aiosmtpd sink) with threading headers, the customer's answer
threads back, duplicates are stored once, automated mail is never answered, bounces mark the reply
failed, a relay that is down is retried, and what cannot be parsed is quarantined, never lost."""

from __future__ import annotations

import asyncio
import email
import email.policy
import smtplib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from app.db.migrate import upgrade
from tests.support import LiveServer, free_port, make_settings

SUPPORT = "support@example.com"


@dataclass
class Sink:
    mails: list[EmailMessage] = field(default_factory=list)
    rcpts: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.rcpts.append([r.lower() for r in envelope.rcpt_tos])
        raw = envelope.original_content or envelope.content
        self.mails.append(email.message_from_bytes(raw, policy=email.policy.default))  # type: ignore[arg-type]
        return "250 OK"


@dataclass
class MailSetup:
    server: LiveServer
    sink: Sink
    relay_port: int
    token: str


@pytest.fixture
async def mail(database_url: str) -> AsyncIterator[MailSetup]:
    sink = Sink()
    relay_port = free_port()
    relay = Controller(sink, hostname="127.0.0.1", port=relay_port)
    relay.start()
    settings = make_settings(
        database_url, smtp_relay=f"smtp://127.0.0.1:{relay_port}", support_address=SUPPORT
    )
    settings = settings.__class__(**{**settings.__dict__, "smtp_port": free_port()})
    await upgrade(settings.database_url)
    live = LiveServer(settings)
    await live.start()
    try:
        await live.add_agent("eve@example.com", "Eve", capacity=50)
        token, _ = await live.token("eve@example.com")
        yield MailSetup(live, sink, relay_port, token)
    finally:
        await live.stop()
        relay.stop()


def compose(frm: str, subject: str, body: str, **headers: str) -> EmailMessage:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = frm, SUPPORT, subject
    m["Message-ID"] = headers.pop("message_id", make_msgid(domain="customer.example"))
    for k, v in headers.items():
        m[k.replace("_", "-")] = v
    m.set_content(body)
    return m


async def send(port: int, msg: EmailMessage, rcpt: str = SUPPORT) -> None:
    def go() -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
            s.send_message(msg, to_addrs=[rcpt])

    await asyncio.to_thread(go)


async def wait(pred: Any, timeout: float = 8.0) -> Any:  # noqa: ASYNC109 - a bounded poll
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        value = await pred()
        if value:
            return value
        await asyncio.sleep(0.1)
    return None


async def tickets_of(m: MailSetup, address: str) -> list[dict[str, Any]]:
    async with m.server.client(m.token) as api:
        found = (await api.get("/api/customers", params={"q": address})).json()["items"]
        out: list[dict[str, Any]] = []
        for c in found:
            out += (await api.get("/api/tickets", params={"customer": c["id"]})).json()["items"]
        return out


async def test_mail_in_reply_out_and_answer_threads_back(mail: MailSetup) -> None:
    port = mail.server.settings.smtp_port
    first = make_msgid(domain="customer.example")
    m1 = compose(
        "Dora Fischer <dora@customer.example>",
        "Printer on fire",
        "My printer is on fire.\nHelp!",
        message_id=first,
    )
    await send(port, m1)
    tickets = await wait(lambda: tickets_of(mail, "dora@customer.example"))
    assert tickets and tickets[0]["channel"] == "email" and tickets[0]["subject"] == "Printer on fire"
    tid = tickets[0]["id"]
    await send(port, m1)  # delivered twice
    async with mail.server.client(mail.token) as api:
        await asyncio.sleep(0.5)
        t = (await api.get(f"/api/tickets/{tid}")).json()
        assert [m["body"] for m in t["messages"] if "on fire" in m["body"]] == [
            "My printer is on fire.\nHelp!"
        ]
        customer = (await api.get(f"/api/customers/{t['customer_id']}")).json()
        assert customer["name"] == "Dora Fischer" and customer["emails"] == ["dora@customer.example"]

        r = await api.post(f"/api/tickets/{tid}/messages", json={"body": "Please unplug it, Dora."})
        assert r.status_code == 202 and r.json()["status"] == "queued"
        reply_id = r.json()["id"]
        got = await wait(lambda: _sent(mail, "unplug it"))
        assert got
        out = got[0]
        assert out["To"] == "dora@customer.example" and mail.sink.rcpts[-1] == ["dora@customer.example"]
        assert out["From"] == SUPPORT
        assert first in out["In-Reply-To"] and first in out["References"]
        assert out["Subject"] == f"Re: Printer on fire [#{tid}]"
        assert out["Message-ID"] and out["Message-ID"] != first
        assert "Auto-Submitted" not in out
        html_part = out.get_body(("html",))
        assert html_part is not None and "Please unplug it, Dora." in html_part.get_content()
        status = await wait(lambda: _status(api, tid, reply_id, "sent"))
        assert status

        # the customer answers our mail (a new subject, threaded by In-Reply-To)
        m2 = compose(
            "dora@customer.example",
            "Re: whatever",
            "Unplugged, thanks!\n\n> Please unplug it, Dora.",
            In_Reply_To=out["Message-ID"],
            References=f"<{first}> {out['Message-ID']}",
        )
        await send(port, m2)

        async def threaded() -> bool:
            msgs = (await api.get(f"/api/tickets/{tid}")).json()["messages"]
            return any(m["body"].startswith("Unplugged, thanks!") for m in msgs)

        assert await wait(threaded)
        assert len(await tickets_of(mail, "dora@customer.example")) == 1
        history = (await api.get(f"/api/customers/{t['customer_id']}/history")).json()["items"]
        reasons = [h["text"] for h in history if h["kind"] == "threading"]
        assert reasons[0] == "new conversation" and "answers message" in reasons[-1]


async def _sent(m: MailSetup, needle: str) -> list[EmailMessage]:
    return [x for x in m.sink.mails if needle in x.get_body(("plain",)).get_content()]  # type: ignore[union-attr]


async def _status(api: Any, tid: int, message_id: int, status: str) -> bool:
    msgs = (await api.get(f"/api/tickets/{tid}")).json()["messages"]
    return any(m["id"] == message_id and m["status"] == status for m in msgs)


async def test_a_subject_token_joins_only_for_the_tickets_customer(mail: MailSetup) -> None:
    port = mail.server.settings.smtp_port
    await send(port, compose("ann@customer.example", "Invoice question", "Where is my invoice?"))
    tickets = await wait(lambda: tickets_of(mail, "ann@customer.example"))
    tid = tickets[0]["id"]
    await send(port, compose("ann@customer.example", f"More on [#{tid}]", "Found it, never mind."))
    await send(port, compose("mallory@evil.example", f"Re: [#{tid}]", "Let me in."))
    await asyncio.sleep(1.0)
    assert len(await tickets_of(mail, "ann@customer.example")) == 1
    mallory = await wait(lambda: tickets_of(mail, "mallory@evil.example"))
    assert mallory and mallory[0]["id"] != tid


async def test_automated_mail_is_stored_but_never_answered(mail: MailSetup) -> None:
    await mail.server.import_faq(
        [
            ("When are you open?", "We are open 9 to 5."),
            ("What are your opening hours?", "We are open 9 to 5."),
        ]
    )
    port = mail.server.settings.smtp_port
    for headers in (
        {"Auto_Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"List_Id": "<news.example>"},
        {"X_Autoreply": "yes"},
    ):
        frm = f"robot-{len(mail.sink.mails)}-{next(iter(headers))}@elsewhere.example".lower()
        await send(port, compose(frm, "When are you open?", "When are you open?", **headers))
        assert await wait(lambda frm=frm: tickets_of(mail, frm))
    # a person asking the same is answered by the bot, once, marked automated
    await send(port, compose("kim@customer.example", "When are you open?", "When are you open?"))
    answer = await wait(lambda: _sent(mail, "9 to 5"))
    assert (
        answer and answer[0]["Auto-Submitted"] == "auto-replied" and answer[0]["To"] == "kim@customer.example"
    )
    await asyncio.sleep(1.5)
    assert len(mail.sink.mails) == 1, [m["To"] for m in mail.sink.mails]


async def test_a_bounce_marks_the_reply_failed(mail: MailSetup) -> None:
    port = mail.server.settings.smtp_port
    await send(port, compose("gone@customer.example", "Hello", "Are you there?"))
    tid = (await wait(lambda: tickets_of(mail, "gone@customer.example")))[0]["id"]
    async with mail.server.client(mail.token) as api:
        reply = (await api.post(f"/api/tickets/{tid}/messages", json={"body": "We are here."})).json()
        out = (await wait(lambda: _sent(mail, "We are here")))[0]
        dsn = EmailMessage()
        dsn["From"] = "MAILER-DAEMON@mx.customer.example"
        dsn["To"] = SUPPORT
        dsn["Subject"] = "Undelivered Mail Returned to Sender"
        dsn["Message-ID"] = make_msgid(domain="mx.customer.example")
        dsn["Auto-Submitted"] = "auto-replied"
        dsn.set_content("This is the mail system. Your message could not be delivered.")
        original = EmailMessage()
        original["Message-ID"] = out["Message-ID"]
        original["To"] = "gone@customer.example"
        original["Subject"] = out["Subject"]
        dsn.add_attachment(original.as_bytes(), maintype="text", subtype="rfc822-headers")
        dsn.replace_header("Content-Type", dsn["Content-Type"].replace("multipart/mixed", "multipart/report"))
        await send(port, dsn)
        assert await wait(lambda: _status(api, tid, reply["id"], "failed"))


async def test_relay_down_is_retried_and_nothing_is_lost(database_url: str) -> None:
    relay_port = free_port()  # nothing listens yet
    settings = make_settings(
        database_url, smtp_relay=f"smtp://127.0.0.1:{relay_port}", support_address=SUPPORT
    )
    await upgrade(settings.database_url)
    live = LiveServer(settings)
    await live.start()
    sink = Sink()
    relay = Controller(sink, hostname="127.0.0.1", port=relay_port)
    try:
        await live.add_agent("eve@example.com", "Eve")
        token, _ = await live.token("eve@example.com")
        async with live.client(token) as api:
            raw = compose("late@customer.example", "Slow relay", "Hello?").as_bytes()
            r = await api.post("/api/email/inbound", content=raw, headers={"Content-Type": "message/rfc822"})
            assert r.status_code == 201, r.text
            tid = r.json()["ticket_id"]
            reply = (await api.post(f"/api/tickets/{tid}/messages", json={"body": "Hello from us."})).json()

            async def tried() -> bool:
                msgs = (await api.get(f"/api/tickets/{tid}")).json()["messages"]
                return any(m["id"] == reply["id"] and m["status"] == "queued" for m in msgs)

            assert await wait(tried)
            await asyncio.sleep(0.5)
            assert not sink.mails
            relay.start()
            # make the retry due now rather than in 30 s
            from sqlalchemy import update

            from app.domain.models import Message
            from app.domain.types import utcnow

            async with live.ctx.db.write() as s:
                await s.execute(
                    update(Message).where(Message.id == reply["id"]).values(next_attempt_at=utcnow())
                )
            live._app.state.deliverer._wake.set()
            assert await wait(lambda: _status(api, tid, reply["id"], "sent"), timeout=10)
            assert len(sink.mails) == 1
    finally:
        await live.stop()
        relay.stop()


async def test_unparseable_mail_is_quarantined_and_recipients_checked(mail: MailSetup) -> None:
    async with mail.server.client(mail.token) as api:
        r = await api.post(
            "/api/email/inbound",
            content=b"\x00\x01\x02 not a mail \xff" * 3,
            headers={"Content-Type": "message/rfc822"},
        )
        assert r.status_code == 201 and r.json()["quarantine_id"] is not None
        assert (await api.get("/api/quarantine")).status_code == 403  # admins only
        r = await api.post("/api/email/inbound", content=b"x", headers={"Content-Type": "application/json"})
        assert r.status_code == 415

    # other recipients are refused at RCPT, and the size limit is advertised
    def refused() -> tuple[int, bool]:
        with smtplib.SMTP("127.0.0.1", mail.server.settings.smtp_port, timeout=10) as s:
            s.ehlo()
            has_size = s.has_extn("size")
            s.mail("someone@customer.example")
            code, _ = s.rcpt("stranger@example.com")
            return code, has_size

    code, has_size = await asyncio.to_thread(refused)
    assert code == 550 and has_size


async def test_a_sender_over_the_hourly_limit_is_stored_but_not_answered(mail: MailSetup) -> None:
    """Two helpdesks answering each other: after 20 mails in the hour, no more automatic answers."""
    await mail.server.import_faq(
        [
            ("When are you open?", "We are open 9 to 5."),
            ("What are your opening hours?", "We are open 9 to 5."),
        ]
    )
    port = mail.server.settings.smtp_port
    for i in range(23):
        await send(
            port, compose("other-helpdesk@vendor.example", f"When are you open? ({i})", "When are you open?")
        )
    assert await wait(lambda: _count_tickets(mail, "other-helpdesk@vendor.example", 23), timeout=20)

    async def answers() -> int:
        return sum(m["To"] == "other-helpdesk@vendor.example" for m in mail.sink.mails)

    # the answers go out after the mails are stored: wait for twenty (a busy machine takes a while), then
    # give a twenty-first time to arrive, which it must not
    assert await wait(lambda: _at_least(answers, 20), timeout=20)
    await asyncio.sleep(1.5)
    assert await answers() == 20


async def _at_least(count: Any, n: int) -> bool:
    return bool(await count() >= n)


async def _count_tickets(m: MailSetup, address: str, n: int) -> bool:
    return len(await tickets_of(m, address)) >= n


async def test_mail_over_the_size_limit_is_refused_with_552(database_url: str) -> None:
    settings = make_settings(database_url, support_address=SUPPORT, smtp_max_bytes=10_000)
    settings = settings.__class__(**{**settings.__dict__, "smtp_port": free_port()})
    await upgrade(settings.database_url)
    live = LiveServer(settings)
    await live.start()
    try:
        big = compose("big@customer.example", "Huge", "x" * 20_000)

        def try_send() -> int:
            with smtplib.SMTP("127.0.0.1", settings.smtp_port, timeout=10) as s:
                try:
                    s.send_message(big)
                except smtplib.SMTPSenderRefused as e:  # refused at MAIL FROM for the declared SIZE
                    return e.smtp_code
                except smtplib.SMTPDataError as e:
                    return e.smtp_code
            return 250

        assert await asyncio.to_thread(try_send) == 552
    finally:
        await live.stop()
