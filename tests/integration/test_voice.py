"""The phone channel, driven as Twilio drives it: form-encoded webhooks signed with the twilio library's own
validator (repeated, out of order, forged, unsigned), the TwiML parsed as XML and walked the way Twilio
walks it (a Gather's action when the caller answers, the next verb when they stay silent, relative URLs
resolved against the URL just requested)."""

from __future__ import annotations

import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
from twilio.request_validator import RequestValidator

from app.db.migrate import upgrade
from tests.support import WS, LiveServer, free_port, make_settings

ACCOUNT = "AC" + "1" * 32
TOKEN = "test-twilio-auth-token"
OUR_NUMBER = "+15005550006"
AGENT_PHONE = "+14155550123"


@dataclass
class Phone:
    server: LiveServer
    token: str  # a supervisor's, for the API

    def url(self, path: str) -> str:
        return self.server.base + path

    async def post(self, path: str, params: dict[str, str], sign: str = "good") -> httpx.Response:
        url = self.url(path)
        headers = {}
        if sign != "none":
            sig = RequestValidator(TOKEN).compute_signature(url, params)
            headers["X-Twilio-Signature"] = sig if sign == "good" else sig[:-2] + "xx"
        async with httpx.AsyncClient() as c:
            return await c.post(url, data=params, headers=headers, timeout=15)

    async def get(self, path: str, params: dict[str, str]) -> httpx.Response:
        """Twilio signs a GET over the whole URL with its query string, and no body."""
        url = self.url(path) + ("&" if "?" in path else "?") + urllib.parse.urlencode(params)
        sig = RequestValidator(TOKEN).compute_signature(url, {})
        async with httpx.AsyncClient() as c:
            return await c.get(url, headers={"X-Twilio-Signature": sig}, timeout=15)

    async def api(self, path: str, **params: Any) -> Any:
        async with self.server.client(self.token) as c:
            r = await c.get(path, params=params)
            assert r.status_code == 200, r.text
            return r.json()

    async def customers(self, number: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (await self.api("/api/customers", q=number))["items"]
        return items

    async def history(self, number: str) -> list[dict[str, Any]]:
        found = await self.customers(number)
        assert len(found) == 1, found
        items: list[dict[str, Any]] = (await self.api(f"/api/customers/{found[0]['id']}/history"))["items"]
        return items

    async def tickets(self, number: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for c in await self.customers(number):
            for t in (await self.api("/api/tickets", customer=c["id"]))["items"]:
                out.append(await self.api(f"/api/tickets/{t['id']}"))
        return out


@pytest.fixture
async def phone(database_url: str) -> AsyncIterator[Phone]:
    port = free_port()
    settings = make_settings(
        database_url,
        twilio_account_sid=ACCOUNT,
        twilio_auth_token=TOKEN,
        twilio_from_number=OUR_NUMBER,
        public_url=f"http://127.0.0.1:{port}",
    )
    settings = replace(settings, port=port)
    await upgrade(settings.database_url)
    live = LiveServer(settings)
    await live.start()
    try:
        await live.add_agent("sue@example.com", "Sue", role="supervisor", capacity=0)
        token, _ = await live.token("sue@example.com")
        yield Phone(live, token)
    finally:
        await live.stop()


def parse(r: httpx.Response) -> ET.Element:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(("application/xml", "text/xml"))
    doc = ET.fromstring(r.text)
    assert doc.tag == "Response"
    return doc


def says(doc: ET.Element) -> str:
    return " ".join(el.text or "" for el in doc.iter("Say"))


class Caller:
    """One call, as Twilio runs it: every request carries the call's parameters and is signed; the next
    request goes where the TwiML says, resolved against the URL just requested."""

    def __init__(self, phone: Phone, number: str, sid: str) -> None:
        self.phone = phone
        self.params = {
            "CallSid": sid,
            "AccountSid": ACCOUNT,
            "From": number,
            "To": OUR_NUMBER,
            "CallStatus": "ringing",
            "Direction": "inbound",
        }
        self.url = phone.url("/twilio/voice")
        self.menus = 0

    async def request(self, target: str, extra: dict[str, str] | None = None) -> ET.Element:
        url = urllib.parse.urljoin(self.url, target.strip())
        parts = urllib.parse.urlsplit(url)
        assert url.startswith(self.phone.server.base + "/twilio/voice"), url
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        doc = parse(await self.phone.post(path, {**self.params, **(extra or {})}))
        self.url = url
        if doc.find(".//Gather") is not None:
            self.menus += 1
        return doc

    async def dial_in(self) -> ET.Element:
        doc = await self.request("/twilio/voice")
        self.params["CallStatus"] = "in-progress"
        return doc

    async def answer(self, doc: ET.Element, **said: str) -> ET.Element:
        """Press a key (Digits) or say something (SpeechResult) at the menu."""
        gather = doc.find("Gather")
        assert gather is not None, ET.tostring(doc)
        assert gather.get("input") == "speech dtmf"
        assert (gather.get("method") or "POST") == "POST"
        action = gather.get("action")
        assert action
        return await self.request(action, said)

    async def silence(self, doc: ET.Element) -> ET.Element:
        """Say nothing: the Gather times out and Twilio goes on with the next verb, the Redirect."""
        redirect = doc.find("Redirect")
        assert redirect is not None and redirect.text, ET.tostring(doc)
        return await self.request(redirect.text)

    async def callback(self, target: str | None, extra: dict[str, str]) -> ET.Element:
        assert target
        url = urllib.parse.urljoin(self.url, target.strip())
        parts = urllib.parse.urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return parse(await self.phone.post(path, {**self.params, **extra}))

    async def status(self, status: str, duration: int | None = None) -> ET.Element:
        extra = {"CallStatus": status, **({"CallDuration": str(duration)} if duration is not None else {})}
        return parse(await self.phone.post("/twilio/voice/status", {**self.params, **extra}))


def recording(sid: str, seconds: int = 12, text: str | None = None) -> dict[str, str]:
    params = {
        "RecordingSid": sid,
        "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/{sid}",
        "RecordingDuration": str(seconds),
    }
    if text is not None:
        params |= {
            "TranscriptionSid": "TR" + sid[2:],
            "TranscriptionStatus": "completed",
            "TranscriptionText": text,
        }
    return params


def calls_in(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [h for h in history if h["kind"] == "call"]


async def test_silence_replays_the_menu_twice_then_voicemail_with_its_transcript(phone: Phone) -> None:
    caller = Caller(phone, "+1 415 555 0199", "CA" + "5" * 32)
    doc = await caller.dial_in()
    assert "Thank you for calling" in says(doc)
    for _ in range(6):
        if doc.find(".//Record") is not None:
            break
        doc = await caller.silence(doc)
    record = doc.find("Record")
    assert record is not None, ET.tostring(doc)
    assert caller.menus == 3  # the menu, then at most two repeats
    assert "leave a message" in says(doc)

    # the transcription arrives first (as it may): the voicemail is created with it
    text = "Hi this is Victor, my router keeps rebooting, call me back."
    rec = recording("RE" + "6" * 32, 12, text)
    done = await caller.callback(record.get("transcribeCallback"), {**rec, "CallStatus": "completed"})
    assert len(done) == 0
    doc = await caller.callback(record.get("action"), recording("RE" + "6" * 32, 12))
    assert [el.tag for el in doc] == ["Say", "Hangup"]
    await caller.status("completed", 61)

    history = await phone.history("+14155550199")
    [call] = calls_in(history)
    assert call["text"] == f"Inbound call, 1 min 1 s, voicemail: {text}"
    assert call["channel"] == "voice" and call["direction"] == "in"
    data = call["data"]
    assert data["outcome"] == "voicemail" and data["transcript"] == text and data["duration_s"] == 61
    assert data["recording_url"].endswith("RE" + "6" * 32)
    assert [s["kind"] for s in data["steps"]] == ["no_input"] * 3
    assert any(text in h["text"] for h in history if h["kind"] == "message")

    [ticket] = await phone.tickets("+14155550199")
    assert ticket["channel"] == "voice" and ticket["queue"] == "general"
    assert ticket["status"] == "open" and ticket["assignee_id"] is None  # waiting for a callback
    [message] = ticket["messages"]
    assert message["body"].startswith("Voicemail (12 s): https://api.twilio.com/")
    assert message["body"].endswith(f"Transcript: {text}")
    assert message["author"] == "customer" and message["direction"] == "in"
    assert call["ticket_id"] == ticket["id"]


async def test_a_caller_pressing_2_is_put_through_to_an_available_agent(phone: Phone) -> None:
    await phone.server.add_agent("ana@example.com", "Ana", phone=AGENT_PHONE, queues=["general", "tech"])
    token, ana_id = await phone.server.token("ana@example.com")
    ana: WS = await phone.server.agent_socket(token)
    caller = Caller(phone, "+14155550142", "CA" + "7" * 32)
    doc = await caller.answer(await caller.dial_in(), Digits="2")
    dial = doc.find("Dial")
    assert dial is not None, ET.tostring(doc)
    number = dial.find("Number")
    assert number is not None and number.text == AGENT_PHONE
    assert dial.get("timeout") == "20"

    assigned = await ana.wait_for(lambda f: f.get("type") == "ticket.assigned")
    assert assigned, ana.frames
    assert assigned["data"]["assignee_id"] == ana_id
    assert assigned["data"]["ticket"]["channel"] == "voice" and assigned["data"]["ticket"]["queue"] == "tech"
    tid = assigned["data"]["ticket_id"]
    history = (await phone.api(f"/api/customers/{assigned['data']['ticket']['customer_id']}/history"))[
        "items"
    ]
    assert calls_in(history) and calls_in(history)[0]["text"] == "Inbound call, connecting to Ana"

    doc = await caller.callback(
        dial.get("action"), {"DialCallStatus": "completed", "DialCallDuration": "118"}
    )
    assert [el.tag for el in doc] == ["Hangup"]
    await caller.status("completed", 125)

    [call] = calls_in(await phone.history("+14155550142"))
    assert call["text"] == "Inbound call, 2 min 5 s, answered by Ana"
    assert call["data"]["outcome"] == "answered" and call["data"]["agent_name"] == "Ana"
    assert call["data"]["dial_duration_s"] == 118 and call["data"]["queue"] == "tech"
    assert call["ticket_id"] == tid
    ticket = await phone.api(f"/api/tickets/{tid}")
    assert ticket["assignee_id"] == ana_id and ticket["first_response_at"]
    assert [m["body"] for m in ticket["messages"]] == ["Pressed 2 for technical support."]
    await ana.close()


async def test_an_unanswered_agent_phone_leads_to_voicemail_in_that_queue(phone: Phone) -> None:
    await phone.server.add_agent("bo@example.com", "Bo", phone=AGENT_PHONE)
    token, _ = await phone.server.token("bo@example.com")
    bo = await phone.server.agent_socket(token)
    caller = Caller(phone, "+14155550177", "CA" + "8" * 32)
    doc = await caller.answer(await caller.dial_in(), Digits="1")  # no billing queue: general
    dial = doc.find("Dial")
    assert dial is not None, ET.tostring(doc)
    doc = await caller.callback(dial.get("action"), {"DialCallStatus": "no-answer", "DialCallDuration": "0"})
    record = doc.find("Record")
    assert record is not None and "nobody could take your call" in says(doc)
    await caller.callback(record.get("action"), recording("RE" + "8" * 32, 30))
    await caller.status("completed", 55)
    [call] = calls_in(await phone.history("+14155550177"))
    assert call["text"] == "Inbound call, 55 s, voicemail"
    assert call["data"]["dial_status"] == "no-answer"
    [ticket] = await phone.tickets("+14155550177")
    assert ticket["queue"] == "general"
    assert [m["body"] for m in ticket["messages"]][-1].startswith("Voicemail (30 s): https://")
    await bo.close()


async def test_the_bot_answers_a_spoken_question_then_a_person_is_asked_for(phone: Phone) -> None:
    await phone.server.import_faq()
    caller = Caller(phone, "+14155550111", "CA" + "9" * 32)
    doc = await caller.answer(await caller.dial_in(), SpeechResult="When are you open?", Confidence="0.9")
    assert "9am to 5pm" in says(doc)
    assert doc.find("Gather") is not None  # the menu again, a fresh attempt
    # nobody is available: asking for a person opens a ticket and offers voicemail
    doc = await caller.answer(doc, SpeechResult="I want to talk to a real person")
    assert doc.find("Record") is not None and "agents are busy" in says(doc)
    await caller.status("completed", 40)

    [call] = calls_in(await phone.history("+14155550111"))
    steps = call["data"]["steps"]
    assert steps[0]["kind"] == "speech" and steps[0]["answered"] is True
    assert steps[1]["answered"] is False and steps[1]["queue"] == "general"
    assert call["text"] == "Inbound call, 40 s, abandoned"
    [ticket] = await phone.tickets("+14155550111")
    assert ticket["queue"] == "general" and ticket["status"] == "open" and ticket["assignee_id"] is None
    assert [m["body"] for m in ticket["messages"]] == ["I want to talk to a real person"]


async def test_repeated_and_out_of_order_callbacks_are_stored_once(phone: Phone) -> None:
    caller = Caller(phone, "+14155550188", "CA" + "a" * 32)
    for _ in range(3):
        caller.url = phone.url("/twilio/voice")
        doc = await caller.request("/twilio/voice")
    assert doc.find("Gather") is not None
    caller.params["CallStatus"] = "in-progress"
    text = "Please call me about my order."
    rec_sid = "RE" + "b" * 32
    for _ in range(2):  # the transcription first (twice), then the recording (twice)
        await caller.callback("/twilio/voice/transcription", recording(rec_sid, 9, text))
    for _ in range(2):
        doc = await caller.callback("/twilio/voice/recorded", recording(rec_sid, 9))
        assert [el.tag for el in doc] == ["Say", "Hangup"]
    await caller.status("completed", 30)
    await caller.status("completed", 30)
    await caller.status("in-progress")  # late and out of order: ignored
    await caller.status("ringing")
    await caller.status("failed", 99)  # a final status is never left

    assert len(await phone.customers("+14155550188")) == 1
    history = await phone.history("+14155550188")
    [call] = calls_in(history)
    assert call["data"]["status"] == "completed" and call["data"]["duration_s"] == 30
    assert call["text"] == f"Inbound call, 30 s, voicemail: {text}"
    [ticket] = await phone.tickets("+14155550188")
    [message] = ticket["messages"]
    assert message["body"] == f"Voicemail (9 s): {recording(rec_sid)['RecordingUrl']}\n\nTranscript: {text}"
    assert sum(1 for h in history if h["kind"] == "message") == 1
    before = history

    # the same deliveries again change nothing at all
    await caller.callback("/twilio/voice/transcription", recording(rec_sid, 9, text))
    await caller.callback("/twilio/voice/recorded", recording(rec_sid, 9))
    await caller.status("completed", 30)
    assert await phone.history("+14155550188") == before

    # callbacks about a call never announced create what they need; without a CallSid they do nothing
    stranger = Caller(phone, "+14155550166", "CA" + "c" * 32)
    await stranger.status("completed", 7)
    [call] = calls_in(await phone.history("+14155550166"))
    assert call["text"] == "Inbound call, 7 s, abandoned"
    for path in (
        "/twilio/voice",
        "/twilio/voice/menu?attempt=2",
        "/twilio/voice/recorded",
        "/twilio/voice/status",
    ):
        assert len(parse(await phone.post(path, {"From": "+14155550155", "Digits": "2"}))) == 0
    assert await phone.customers("+14155550155") == []


async def test_an_empty_recording_ends_the_call_politely_and_stores_nothing(phone: Phone) -> None:
    caller = Caller(phone, "+14155550133", "CA" + "d" * 32)
    await caller.dial_in()
    doc = await caller.request("/twilio/voice/menu?attempt=3")  # the third menu met silence too
    record = doc.find("Record")
    assert record is not None
    doc = await caller.callback(record.get("action"), recording("RE" + "d" * 32, 0))
    assert [el.tag for el in doc] == ["Say", "Hangup"] and "goodbye" in says(doc).lower()
    doc = await caller.callback(record.get("action"), {"RecordingDuration": "0"})
    assert [el.tag for el in doc] == ["Say", "Hangup"]
    await caller.status("completed", 20)
    assert await phone.tickets("+14155550133") == []
    [call] = calls_in(await phone.history("+14155550133"))
    assert call["data"]["recording_sid"] is None and call["data"]["outcome"] == "abandoned"


async def test_forged_or_missing_signatures_are_refused_and_change_nothing(phone: Phone) -> None:
    params = {"CallSid": "CA" + "e" * 32, "From": "+14155550100", "To": OUR_NUMBER, "CallStatus": "ringing"}
    for sign in ("none", "bad"):
        assert (await phone.post("/twilio/voice", params, sign=sign)).status_code == 403
        r = await phone.post(
            "/twilio/voice/transcription", {**params, **recording("RE1", 5, "hi")}, sign=sign
        )
        assert r.status_code == 403
        assert (await phone.post("/twilio/voice/status", params, sign=sign)).status_code == 403
    # signed for another URL (what a proxy would see) does not pass either
    sig = RequestValidator(TOKEN).compute_signature("http://elsewhere.example/twilio/voice", params)
    async with httpx.AsyncClient() as c:
        r = await c.post(phone.url("/twilio/voice"), data=params, headers={"X-Twilio-Signature": sig})
    assert r.status_code == 403
    assert await phone.customers("+14155550100") == []

    # a number configured with GET: signed over the URL and its query string
    doc = parse(await phone.get("/twilio/voice", params))
    assert doc.find("Gather") is not None
    assert len(await phone.customers("+14155550100")) == 1
