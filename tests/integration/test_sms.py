"""SMS through Twilio, driven as Twilio drives it: form-encoded webhooks signed with the twilio library's
own validator (repeated, forged, unsigned), TwiML parsed as XML, outbound SMS to a fake Twilio REST API
that is a real HTTP server on loopback, delivery reports out of order, STOP/START/HELP."""

from __future__ import annotations

import asyncio
import base64
import inspect
import json
import threading
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from twilio.request_validator import RequestValidator

from app.actions.outbound import MAX_ATTEMPTS
from app.db.migrate import upgrade
from app.domain.models import Message
from app.domain.types import utcnow
from app.main import create_app
from config.settings import SettingsError
from tests.support import LiveServer, free_port, make_settings

SID = "AC" + "1" * 32
TOKEN = "test-twilio-auth-token"
FROM = "+15005550006"


@dataclass
class FakeTwilio:
    """The Messages resource of Twilio's REST API, on loopback. `fail_with` makes it answer errors."""

    sent: list[dict[str, str]] = field(default_factory=list)
    fail_with: list[int] = field(default_factory=list)


@pytest.fixture
def fake_twilio() -> Iterator[tuple[FakeTwilio, str]]:
    state = FakeTwilio()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            n = int(self.headers.get("Content-Length", 0))
            form = dict(urllib.parse.parse_qsl(self.rfile.read(n).decode()))
            form["_path"], form["_auth"] = self.path, self.headers.get("Authorization", "")
            if state.fail_with:
                code = state.fail_with.pop(0)
                body = json.dumps({"code": 21211, "message": "nope", "status": code}).encode()
            else:
                state.sent.append(form)
                code = 201
                body = json.dumps(
                    {
                        "sid": f"SM{len(state.sent):032d}",
                        "status": "queued",
                        "to": form.get("To"),
                        "from": form.get("From"),
                        "body": form.get("Body"),
                        "account_sid": SID,
                    }
                ).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_a: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@dataclass
class Sms:
    server: LiveServer
    twilio: FakeTwilio
    token: str

    async def post(self, path: str, params: dict[str, str], sign: str = "good") -> httpx.Response:
        url = self.server.base + path
        headers = {}
        if sign != "none":
            sig = RequestValidator(TOKEN).compute_signature(url, params)
            headers["X-Twilio-Signature"] = sig if sign == "good" else sig[:-2] + "xx"
        async with httpx.AsyncClient() as c:
            return await c.post(url, data=params, headers=headers, timeout=15)

    async def text(self, frm: str, body: str, sid: str, **extra: str) -> httpx.Response:
        params = {
            "MessageSid": sid,
            "AccountSid": SID,
            "From": frm,
            "To": FROM,
            "Body": body,
            "NumMedia": "0",
            **extra,
        }
        return await self.post("/twilio/sms", params)


@pytest.fixture
async def sms(database_url: str, fake_twilio: tuple[FakeTwilio, str]) -> AsyncIterator[Sms]:
    state, api_url = fake_twilio
    port = free_port()
    settings = make_settings(
        database_url,
        twilio_account_sid=SID,
        twilio_auth_token=TOKEN,
        twilio_from_number=FROM,
        twilio_api_url=api_url,
        public_url=f"http://127.0.0.1:{port}",
    )
    settings = replace(settings, port=port)
    await upgrade(settings.database_url)
    live = LiveServer(settings)
    await live.start()
    try:
        await live.add_agent("sam@example.com", "Sam", capacity=10)
        await live.import_faq(
            [
                ("When are you open?", "We are open 9am to 5pm."),
                ("What are your opening hours?", "We are open 9am to 5pm."),
            ]
        )
        token, _ = await live.token("sam@example.com")
        yield Sms(live, state, token)
    finally:
        await live.stop()


def twiml_text(r: httpx.Response) -> str:
    doc = ET.fromstring(r.text)
    assert doc.tag == "Response"
    return " ".join(m.text or "" for m in doc.iter("Message"))


async def wait(pred: Any, timeout: float = 8.0) -> Any:  # noqa: ASYNC109 - a bounded poll
    for _ in range(int(timeout / 0.1)):
        value = pred()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        await asyncio.sleep(0.1)
    return None


async def customer_tickets(s: Sms, number: str) -> list[dict[str, Any]]:
    async with s.server.client(s.token) as api:
        found = (await api.get("/api/customers", params={"q": number})).json()["items"]
        return [
            t
            for c in found
            for t in (await api.get("/api/tickets", params={"customer": c["id"]})).json()["items"]
        ]


async def test_forged_or_missing_signatures_change_nothing(sms: Sms) -> None:
    params = {"MessageSid": "SM" + "9" * 32, "From": "+14155550100", "To": FROM, "Body": "hello"}
    assert (await sms.post("/twilio/sms", params, sign="none")).status_code == 403
    assert (await sms.post("/twilio/sms", params, sign="bad")).status_code == 403
    assert (
        await sms.post("/twilio/sms/status", {"MessageSid": "SM1", "MessageStatus": "failed"}, sign="bad")
    ).status_code == 403
    # signed over another URL (a proxy's idea of the URL) does not pass either
    sig = RequestValidator(TOKEN).compute_signature("http://elsewhere.example/twilio/sms", params)
    async with httpx.AsyncClient() as c:
        r = await c.post(sms.server.base + "/twilio/sms", data=params, headers={"X-Twilio-Signature": sig})
    assert r.status_code == 403
    assert await customer_tickets(sms, "4155550100") == []


async def test_bot_answers_in_twiml_then_hands_off_and_the_agent_texts_back(sms: Sms) -> None:
    agent = await sms.server.agent_socket(sms.token)
    r = await sms.text("+1 (415) 555-0100", "When are you open?", "SM" + "3" * 32)
    assert r.status_code == 200 and "9am to 5pm" in twiml_text(r)
    for _ in range(3):  # Twilio retries: stored once, answered once
        r = await sms.text("+14155550100", "I need an agent please", "SM" + "4" * 32)
        assert r.status_code == 200 and twiml_text(r) == ""
    assigned = await agent.wait_for(lambda f: f.get("type") == "ticket.assigned")
    assert assigned
    tid = assigned["data"]["ticket_id"]
    async with sms.server.client(sms.token) as api:
        t = (await api.get(f"/api/tickets/{tid}")).json()
        assert t["channel"] == "sms"
        bodies = [(m["author"], m["body"], m["status"]) for m in t["messages"] if not m["internal"]]
        assert bodies == [
            ("customer", "When are you open?", None),
            ("bot", "We are open 9am to 5pm.", "sent"),
            ("customer", "I need an agent please", None),
        ]
        assert not sms.twilio.sent  # the bot's answer went in the TwiML, not through the REST API
        r = await api.post(f"/api/tickets/{tid}/messages", json={"body": "Hi, Sam here by text."})
        assert r.status_code == 202
        reply_id = r.json()["id"]
        assert await wait(lambda: sms.twilio.sent)
        await asyncio.sleep(0.5)
        assert len(sms.twilio.sent) == 1
        out = sms.twilio.sent[0]
        assert (out["To"], out["From"], out["Body"]) == ("+14155550100", FROM, "Hi, Sam here by text.")
        assert out["_path"] == f"/2010-04-01/Accounts/{SID}/Messages.json"
        assert out["_auth"] == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
        assert out["StatusCallback"] == sms.server.base + "/twilio/sms/status"

        async def status() -> str:
            msgs = (await api.get(f"/api/tickets/{tid}")).json()["messages"]
            return str(next(m["status"] for m in msgs if m["id"] == reply_id))

        assert await wait(lambda: _eq(status, "sent"))
        provider_sid = "SM" + "1".zfill(32)
        # delivery reports move forward only, whatever order they come in
        for report in ("delivered", "sent", "queued", "failed"):
            r = await sms.post("/twilio/sms/status", {"MessageSid": provider_sid, "MessageStatus": report})
            assert r.status_code == 204
        assert await status() == "delivered"
    await agent.close()


async def _eq(fn: Any, value: str) -> bool:
    return bool(await fn() == value)


async def test_stop_start_help(sms: Sms) -> None:
    number = "+14155550111"
    await sms.text(number, "I need a human", "SM" + "a" * 32)
    tid = (await wait(lambda: customer_tickets(sms, number)))[0]["id"]
    r = await sms.text(number, "STOP", "SM" + "b" * 32)
    assert r.status_code == 200 and twiml_text(r) == ""
    async with sms.server.client(sms.token) as api:
        r = await api.post(f"/api/tickets/{tid}/messages", json={"body": "Are you still there?"})
        assert r.status_code == 201 and r.json()["status"] == "failed"  # never sent to an opted-out number
        await asyncio.sleep(0.5)
        assert sms.twilio.sent == []
        r = await sms.text(number, "help", "SM" + "c" * 32)
        assert "STOP" in twiml_text(r)
        await sms.text(number, "Start", "SM" + "d" * 32)
        r = await api.post(f"/api/tickets/{tid}/messages", json={"body": "Welcome back."})
        assert r.status_code == 202
        assert await wait(lambda: sms.twilio.sent)
        cid = (await api.get(f"/api/tickets/{tid}")).json()["customer_id"]
        history = (await api.get(f"/api/customers/{cid}/history")).json()["items"]
        consent = [h["text"] for h in history if h["kind"] == "consent"]
        assert consent == ["opted out of SMS (STOP)", "opted in to SMS again (START)"]


async def test_mms_media_long_replies_and_provider_errors(sms: Sms) -> None:
    number = "+14155550122"
    r = await sms.text(
        number,
        "agent please, see photo",
        "SM" + "e" * 32,
        NumMedia="2",
        MediaUrl0="https://api.twilio.com/media/ME1",
        MediaUrl1="https://api.twilio.com/media/ME2",
    )
    assert r.status_code == 200
    tid = (await wait(lambda: customer_tickets(sms, number)))[0]["id"]
    async with sms.server.client(sms.token) as api:
        t = (await api.get(f"/api/tickets/{tid}")).json()
        assert t["messages"][0]["body"] == "agent please, see photo"
        long_reply = " ".join(["word"] * 500)  # 2,499 characters: two texts, split between words
        await api.post(f"/api/tickets/{tid}/messages", json={"body": long_reply})
        assert await wait(lambda: len(sms.twilio.sent) >= 2)
        assert [len(x["Body"]) <= 1600 for x in sms.twilio.sent] == [True, True]
        assert " ".join(x["Body"] for x in sms.twilio.sent) == long_reply
        # Twilio refuses the number (4xx): failed for good, not retried
        sms.twilio.fail_with = [400]
        r = await api.post(f"/api/tickets/{tid}/messages", json={"body": "this one fails"})

        async def failed() -> bool:
            msgs = (await api.get(f"/api/tickets/{tid}")).json()["messages"]
            return any(m["id"] == r.json()["id"] and m["status"] == "failed" for m in msgs)

        assert await wait(failed)
        assert len(sms.twilio.sent) == 2


def test_twilio_sid_without_token_refuses_to_start() -> None:
    settings = make_settings("sqlite+aiosqlite:///:memory:", twilio_account_sid=SID, twilio_auth_token="")
    with pytest.raises(SettingsError, match="TWILIO_AUTH_TOKEN"):
        create_app(settings)


async def test_twilio_down_is_retried_with_backoff_then_failed_and_never_sent_twice(sms: Sms) -> None:
    number = "+14155550123"
    assert (await sms.text(number, "agent please", "SM" + "f" * 32)).status_code == 200
    tid = (await wait(lambda: customer_tickets(sms, number)))[0]["id"]
    deliverer = sms.server._app.state.deliverer

    async def status(mid: int) -> str:
        async with sms.server.client(sms.token) as api:
            msgs = (await api.get(f"/api/tickets/{tid}")).json()["messages"]
        return str(next(m["status"] for m in msgs if m["id"] == mid))

    async def due_now(mid: int, attempts: int | None = None) -> None:
        """Bring the next try forward (rather than wait out the backoff) and wake the deliverer."""
        values: dict[str, Any] = {"next_attempt_at": utcnow()}
        if attempts is not None:
            values["attempts"] = attempts
        async with sms.server.ctx.db.write() as s:
            await s.execute(update(Message).where(Message.id == mid).values(**values))
        deliverer._wake.set()

    async with sms.server.client(sms.token) as api:
        sms.twilio.fail_with = [503, 500]  # Twilio has an outage: the first two tries fail
        mid = (await api.post(f"/api/tickets/{tid}/messages", json={"body": "are you there?"})).json()["id"]
        assert await wait(lambda: len(sms.twilio.fail_with) == 1)
        assert await status(mid) == "queued" and not sms.twilio.sent
        async with sms.server.ctx.db.read() as s:
            row = await s.get(Message, mid)
            assert row is not None and row.attempts == 1
            # backed off: the next try is half a minute away, not now
            assert row.next_attempt_at is not None and row.next_attempt_at > utcnow() + timedelta(seconds=20)
        await due_now(mid)
        assert await wait(lambda: not sms.twilio.fail_with)
        assert await status(mid) == "queued" and not sms.twilio.sent
        await due_now(mid)
        assert await wait(lambda: len(sms.twilio.sent) == 1)

        async def sent() -> bool:
            return await status(mid) == "sent"

        assert await wait(sent)
        await due_now(mid)  # a stray wake-up sends nothing again
        await asyncio.sleep(0.5)
        assert [x["Body"] for x in sms.twilio.sent] == ["are you there?"]
        # an outage that outlasts every try: marked failed, and shown as such
        sms.twilio.fail_with = [503]
        late = (await api.post(f"/api/tickets/{tid}/messages", json={"body": "still there?"})).json()["id"]
        assert await wait(lambda: not sms.twilio.fail_with)
        sms.twilio.fail_with = [503]
        await due_now(late, attempts=MAX_ATTEMPTS)
        assert await wait(lambda: not sms.twilio.fail_with)

        async def failed() -> bool:
            return await status(late) == "failed"

        assert await wait(failed)
        assert len(sms.twilio.sent) == 1
