"""The FAQ bot's handoff rules on every channel, against a real server on SQLite and PostgreSQL, each channel
driven as its own tests drive it (the chat widget's websocket, signed Twilio SMS and voice webhooks,
raw mail to POST /api/email/inbound with a real SMTP relay for the answers):

* an explicit request for a person hands off;
* "that did not help" (or a bare "no") right after the bot's answer hands off, and outside chat whatever
  follows the bot's one automated answer goes to a person;
* a low-confidence question gets a clarifying reply in a conversation (chat, SMS, voice), the second in a
  row hands off, and a confident answer in between starts the count again; by email it hands off at once;
* every answer and clarification is on the customer's timeline with its FAQ entry and confidence.
"""

from __future__ import annotations

import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from bots.faq.responder import CLARIFY_TEXT
from channels.voice.twiml import CLARIFY_PROMPT
from tests.integration import test_chat_flow as chat_tests
from tests.integration import test_email as email_tests
from tests.integration import test_sms as sms_tests
from tests.integration import test_voice as voice_tests
from tests.support import WS, LiveServer

# the channels' own fixtures (a fake Twilio REST API, the signed webhooks, the SMTP relay sink)
fake_twilio = sms_tests.fake_twilio
sms = sms_tests.sms
phone = voice_tests.phone
mail = email_tests.mail
wait = sms_tests.wait
twiml_text = sms_tests.twiml_text
msg_from = chat_tests.msg_from

HOURS_Q = "When are you open?"
UNSURE = "do you sell garden furniture"  # nowhere near the FAQ, lexically or semantically
UNSURE_TOO = "my parcel is stuck in customs"
UNSURE_AGAIN = "what's the weather on mars tomorrow"


async def timeline(server: LiveServer, token: str, who: str) -> list[dict[str, Any]]:
    """The customer's history (found by name, number or address), oldest first."""
    async with server.client(token) as api:
        found = (await api.get("/api/customers", params={"q": who})).json()["items"]
        assert len(found) == 1, found
        items: list[dict[str, Any]] = (await api.get(f"/api/customers/{found[0]['id']}/history")).json()[
            "items"
        ]
        return items


def reasons(items: list[dict[str, Any]]) -> list[str]:
    return [str(h["data"].get("reason")) for h in items if h["kind"] == "handoff"]


def bot_lines(items: list[dict[str, Any]]) -> list[tuple[str, int | None, float]]:
    """The bot's replies on the timeline: kind, FAQ entry, confidence."""
    return [
        (h["kind"], h["data"]["entry_id"], h["data"]["confidence"])
        for h in items
        if h["kind"] in ("bot.answer", "bot.clarify")
    ]


async def handed_off(server: LiveServer, token: str, who: str) -> list[str]:
    """The handoff reasons on the customer's timeline, once there is one (bounded wait)."""

    async def found() -> list[str]:
        try:
            return reasons(await timeline(server, token, who))
        except AssertionError:  # the customer is not there yet
            return []

    return list(await wait(found) or [])


async def entry_of(server: LiveServer, token: str, question: str) -> tuple[int, float]:
    """What the bot would answer to this question alone: its FAQ entry and confidence."""
    async with server.client(token) as api:
        r = await api.post("/api/bot/ask", json={"text": question})
        assert r.status_code == 200, r.text
        return int(r.json()["entry_id"]), float(r.json()["confidence"])


async def assert_unsure(server: LiveServer, token: str, *questions: str) -> None:
    """The test's premise: the bot is not sure of these (POST /api/bot/ask judges one question: handoff)."""
    async with server.client(token) as api:
        for question in questions:
            r = await api.post("/api/bot/ask", json={"text": question})
            assert r.status_code == 200 and r.json()["handoff"] is True, (question, r.text)


def assert_lines(
    lines: list[tuple[str, int | None, float]], expected: list[tuple[str, tuple[int, float] | None]]
) -> None:
    """Each bot line has its kind, an FAQ entry and a confidence in [0, 1]; answers name the entry and
    confidence the bot gives for the question asked alone."""
    assert [kind for kind, _, _ in lines] == [kind for kind, _ in expected], lines
    for (_, entry_id, confidence), (_, answer) in zip(lines, expected, strict=True):
        assert isinstance(entry_id, int) and 0.0 <= confidence <= 1.0
        if answer is not None:
            # the semantic matcher may take over from the lexical one meanwhile: both are sure of these
            assert (entry_id, confidence) == (answer[0], pytest.approx(answer[1], abs=0.05))


# ---- chat -------------------------------------------------------------------------------------------------


@dataclass
class Chat:
    server: LiveServer
    token: str
    agent: WS

    async def visitor(self, name: str) -> WS:
        ws, _ = await self.server.widget(name=name)
        return ws

    async def say(self, ws: WS, text: str) -> dict[str, Any]:
        """Send a message; the bot's or the system's reply to it."""
        mark = len(ws.frames)
        await ws.send({"type": "message", "text": text, "client_id": f"c{mark}-{text[:10]}"})
        reply = await ws.wait_for(
            lambda f: f.get("type") == "message" and f.get("from") in ("bot", "system"), 15, mark
        )
        assert reply, ws.frames
        return reply

    async def status(self, name: str) -> str:
        async with self.server.client(self.token) as api:
            [customer] = (await api.get("/api/customers", params={"q": name})).json()["items"]
            [ticket] = (await api.get("/api/tickets", params={"customer": customer["id"]})).json()["items"]
            return str(ticket["status"])


@pytest.fixture
async def chat(server: LiveServer) -> AsyncIterator[Chat]:
    await server.add_agent("ana@example.com", "Ana", capacity=10)
    await server.import_faq()
    token, _ = await server.token("ana@example.com")
    agent = await server.agent_socket(token)
    try:
        yield Chat(server, token, agent)
    finally:
        await agent.close()


async def test_chat_asking_for_a_person_hands_off(chat: Chat) -> None:
    w = await chat.visitor("Pia Person")
    reply = await chat.say(w, "can I talk to a person please?")
    assert reply["from"] == "system" and "connect you" in reply["text"]
    assert await chat.agent.wait_for(lambda f: f.get("type") == "ticket.assigned")
    assert reasons(await timeline(chat.server, chat.token, "Pia Person")) == ["asked_for_human"]
    await w.close()


async def test_chat_not_helped_after_an_answer_hands_off(chat: Chat) -> None:
    entry = await entry_of(chat.server, chat.token, "how do I reset my password?")
    for name, verdict in (("Nils Nohelp", "that didn't help"), ("Bea Bare", "nope")):
        w = await chat.visitor(name)
        answer = await chat.say(w, "how do I reset my password?")
        assert answer["from"] == "bot" and "Settings > Security" in answer["text"]
        assert await chat.status(name) == "new"  # the bot's ticket still
        reply = await chat.say(w, verdict)
        assert reply["from"] == "system" and "connect you" in reply["text"]
        items = await timeline(chat.server, chat.token, name)
        assert reasons(items) == ["not_helped"]
        assert_lines(bot_lines(items), [("bot.answer", entry)])
        await w.close()
    assert await wait(lambda: len({f["data"]["ticket_id"] for f in chat.agent.of("ticket.assigned")}) == 2)


async def test_chat_two_unsure_questions_in_a_row_clarify_then_hand_off(chat: Chat) -> None:
    await assert_unsure(chat.server, chat.token, UNSURE, UNSURE_TOO, UNSURE_AGAIN)
    hours = await entry_of(chat.server, chat.token, HOURS_Q)
    w = await chat.visitor("Uma Unsure")
    clarify = await chat.say(w, UNSURE)
    assert (clarify["from"], clarify["text"]) == ("bot", CLARIFY_TEXT)
    assert await chat.status("Uma Unsure") == "new" and not chat.agent.of("ticket.assigned")
    # a confident answer in between starts the count again
    answer = await chat.say(w, HOURS_Q)
    assert answer["from"] == "bot" and "9am to 5pm" in answer["text"]
    again = await chat.say(w, UNSURE_AGAIN)
    assert (again["from"], again["text"]) == ("bot", CLARIFY_TEXT)
    assert await chat.status("Uma Unsure") == "new"
    # the second unsure question in a row: a person
    reply = await chat.say(w, UNSURE_TOO)
    assert reply["from"] == "system" and "connect you" in reply["text"]
    assert await chat.agent.wait_for(lambda f: f.get("type") == "ticket.assigned")
    items = await timeline(chat.server, chat.token, "Uma Unsure")
    assert reasons(items) == ["low_confidence_twice"]
    assert_lines(bot_lines(items), [("bot.clarify", None), ("bot.answer", hours), ("bot.clarify", None)])
    # the clarifications are messages on the ticket too, by the bot, in order
    texts = [h["text"] for h in items if h["kind"] == "message" and h["author"] == "bot"]
    assert texts == [CLARIFY_TEXT, answer["text"], CLARIFY_TEXT]
    await w.close()


# ---- SMS --------------------------------------------------------------------------------------------------

Sms = sms_tests.Sms


async def sms_reasons(s: Sms, number: str) -> list[str]:
    return await handed_off(s.server, s.token, number)


async def test_sms_asking_for_a_person_hands_off(sms: Sms) -> None:
    r = await sms.text("+14155550101", "can I talk to a person?", "SM" + "a1" * 16)
    assert r.status_code == 200 and twiml_text(r) == ""
    assert await sms_reasons(sms, "+14155550101") == ["asked_for_human"]
    assert not sms.twilio.sent


async def test_sms_a_reply_to_the_bots_answer_goes_to_a_person(sms: Sms) -> None:
    hours = await entry_of(sms.server, sms.token, HOURS_Q)
    r = await sms.text("+14155550102", HOURS_Q, "SM" + "b1" * 16)
    assert "9am to 5pm" in twiml_text(r)
    r = await sms.text("+14155550102", "that didn't help", "SM" + "b2" * 16)
    assert r.status_code == 200 and twiml_text(r) == ""
    assert await sms_reasons(sms, "+14155550102") == ["not_helped"]
    items = await timeline(sms.server, sms.token, "+14155550102")
    assert_lines(bot_lines(items), [("bot.answer", hours)])

    # one automated answer per ticket: any other reply goes to a person too
    r = await sms.text("+14155550103", HOURS_Q, "SM" + "b3" * 16)
    assert "9am to 5pm" in twiml_text(r)
    r = await sms.text("+14155550103", "And what are your opening hours on Sunday?", "SM" + "b4" * 16)
    assert twiml_text(r) == ""
    assert await sms_reasons(sms, "+14155550103") == ["already_answered"]
    assert not sms.twilio.sent  # every bot reply went in the TwiML


async def test_sms_two_unsure_texts_in_a_row_clarify_then_hand_off(sms: Sms) -> None:
    await assert_unsure(sms.server, sms.token, UNSURE, UNSURE_TOO)
    r = await sms.text("+14155550104", UNSURE, "SM" + "c1" * 16)
    assert twiml_text(r) == CLARIFY_TEXT
    [ticket] = await sms_tests.customer_tickets(sms, "+14155550104")
    assert ticket["status"] == "new"
    for sid in ("c1", "c1"):  # Twilio retries: stored once, answered once
        r = await sms.text("+14155550104", UNSURE, "SM" + sid * 16)
        assert twiml_text(r) == ""
    r = await sms.text("+14155550104", UNSURE_TOO, "SM" + "c2" * 16)
    assert twiml_text(r) == ""
    assert await sms_reasons(sms, "+14155550104") == ["low_confidence_twice"]
    items = await timeline(sms.server, sms.token, "+14155550104")
    assert_lines(bot_lines(items), [("bot.clarify", None)])

    # a clarification is not the ticket's one automated answer: the question put another way is answered
    hours = await entry_of(sms.server, sms.token, HOURS_Q)
    r = await sms.text("+14155550105", UNSURE, "SM" + "c3" * 16)
    assert twiml_text(r) == CLARIFY_TEXT
    r = await sms.text("+14155550105", HOURS_Q, "SM" + "c4" * 16)
    assert "9am to 5pm" in twiml_text(r)
    items = await timeline(sms.server, sms.token, "+14155550105")
    assert reasons(items) == []
    assert_lines(bot_lines(items), [("bot.clarify", None), ("bot.answer", hours)])
    assert not sms.twilio.sent


# ---- voice ------------------------------------------------------------------------------------------------

Phone = voice_tests.Phone
Caller = voice_tests.Caller
says = voice_tests.says


def gather_action(doc: ET.Element) -> dict[str, list[str]]:
    gather = doc.find("Gather")
    assert gather is not None, ET.tostring(doc)
    return urllib.parse.parse_qs(urllib.parse.urlsplit(gather.get("action") or "").query)


def speech_steps(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    [call] = voice_tests.calls_in(history)
    return [s for s in call["data"]["steps"] if s["kind"] == "speech"]


async def test_voice_a_person_or_not_helped_after_an_answer_puts_the_caller_through(phone: Phone) -> None:
    await phone.server.import_faq()
    hours = await entry_of(phone.server, phone.token, HOURS_Q)
    caller = Caller(phone, "+14155550201", "CA" + "1a" * 16)
    doc = await caller.answer(await caller.dial_in(), SpeechResult=HOURS_Q)
    assert "9am to 5pm" in says(doc) and gather_action(doc)["after"] == ["answer"]
    doc = await caller.answer(doc, SpeechResult="That didn't help.")
    assert doc.find("Record") is not None and "agents are busy" in says(doc)  # nobody free: voicemail
    history = await phone.history("+14155550201")
    steps = speech_steps(history)
    assert [(s["answered"], s.get("reason")) for s in steps] == [(True, None), (False, "not_helped")]
    assert_lines(bot_lines(history), [("bot.answer", hours)])
    answer_line = next(h for h in history if h["kind"] == "bot.answer")
    assert "9am to 5pm" in answer_line["text"] and answer_line["author"] == "bot"
    [ticket] = await phone.tickets("+14155550201")
    assert [m["body"] for m in ticket["messages"]] == ["That didn't help."]

    caller = Caller(phone, "+14155550202", "CA" + "2b" * 16)
    doc = await caller.answer(await caller.dial_in(), SpeechResult="Can I speak to an agent please")
    assert doc.find("Record") is not None
    [step] = speech_steps(await phone.history("+14155550202"))
    assert (step["answered"], step["reason"], step["queue"]) == (False, "asked_for_human", "general")


async def test_voice_two_unsure_questions_in_a_row_reprompt_then_put_the_caller_through(phone: Phone) -> None:
    await phone.server.import_faq()
    await assert_unsure(phone.server, phone.token, UNSURE, UNSURE_TOO, UNSURE_AGAIN)
    caller = Caller(phone, "+14155550203", "CA" + "3c" * 16)
    menu = await caller.dial_in()
    doc = await caller.answer(menu, SpeechResult=UNSURE)
    assert doc.find("Record") is None and doc.find("Dial") is None
    assert CLARIFY_PROMPT in says(doc) and gather_action(doc)["after"] == ["clarify"]
    assert await phone.tickets("+14155550203") == []  # nobody needed yet
    # Twilio delivers the same request again: the same re-prompt, noted once
    caller.url = phone.url("/twilio/voice")
    again = await caller.answer(menu, SpeechResult=UNSURE)
    assert ET.tostring(again) == ET.tostring(doc)
    doc = await caller.answer(doc, SpeechResult=UNSURE_TOO)
    assert doc.find("Record") is not None and "agents are busy" in says(doc)
    history = await phone.history("+14155550203")
    steps = speech_steps(history)
    assert [(s.get("clarify"), s.get("reason")) for s in steps] == [
        (True, None),
        (None, "low_confidence_twice"),
    ]
    assert_lines(bot_lines(history), [("bot.clarify", None)])
    [ticket] = await phone.tickets("+14155550203")
    assert [m["body"] for m in ticket["messages"]] == [UNSURE_TOO]

    # a confident answer in between starts the count again
    hours = await entry_of(phone.server, phone.token, HOURS_Q)
    caller = Caller(phone, "+14155550204", "CA" + "4d" * 16)
    doc = await caller.answer(await caller.dial_in(), SpeechResult=UNSURE)
    assert CLARIFY_PROMPT in says(doc)
    doc = await caller.answer(doc, SpeechResult=HOURS_Q)
    assert "9am to 5pm" in says(doc) and gather_action(doc)["after"] == ["answer"]
    doc = await caller.answer(doc, SpeechResult=UNSURE_AGAIN)
    assert CLARIFY_PROMPT in says(doc) and doc.find("Record") is None
    history = await phone.history("+14155550204")
    assert_lines(bot_lines(history), [("bot.clarify", None), ("bot.answer", hours), ("bot.clarify", None)])
    assert await phone.tickets("+14155550204") == []

    # a menu choice said rather than pressed is no question to clarify: it picks the queue at once
    caller = Caller(phone, "+14155550205", "CA" + "5e" * 16)
    doc = await caller.answer(await caller.dial_in(), SpeechResult="two")
    assert doc.find("Record") is not None
    [step] = speech_steps(await phone.history("+14155550205"))
    assert step["reason"] == "spoken_choice"


# ---- email ------------------------------------------------------------------------------------------------

MailSetup = email_tests.MailSetup


async def mail_in(m: MailSetup, frm: str, subject: str, body: str, **headers: str) -> int:
    raw = email_tests.compose(frm, subject, body, **headers).as_bytes()
    async with m.server.client(m.token) as api:
        r = await api.post("/api/email/inbound", content=raw, headers={"Content-Type": "message/rfc822"})
        assert r.status_code == 201, r.text
        return int(r.json()["ticket_id"])


async def sent_to(m: MailSetup, address: str) -> list[Any]:
    return [x for x in m.sink.mails if x["To"] == address]


async def customer_sees(m: MailSetup, address: str) -> list[tuple[str, str]]:
    """The messages of the customer's tickets that are not internal notes: author and direction."""
    tickets = await email_tests.tickets_of(m, address)
    async with m.server.client(m.token) as api:
        return [
            (msg["author"], msg["direction"])
            for t in tickets
            for msg in (await api.get(f"/api/tickets/{t['id']}")).json()["messages"]
            if not msg["internal"]
        ]


async def test_email_a_person_or_an_unsure_question_hands_off_at_once(mail: MailSetup) -> None:
    await mail.server.import_faq()
    await assert_unsure(mail.server, mail.token, "Do you sell garden furniture?")
    await mail_in(mail, "pat@customer.example", "Hello", "I would like to speak to a human, please.")
    assert await handed_off(mail.server, mail.token, "pat@customer.example") == ["asked_for_human"]
    await mail_in(mail, "una@customer.example", "Question", "Do you sell garden furniture?")
    assert await handed_off(mail.server, mail.token, "una@customer.example") == ["low_confidence"]
    items = await timeline(mail.server, mail.token, "una@customer.example")
    assert bot_lines(items) == []  # no clarifying mail: one automated mail per ticket, and that helps nobody
    handoff = next(h for h in items if h["kind"] == "handoff")
    assert isinstance(handoff["data"]["entry_id"], int) and handoff["data"]["confidence"] < 0.5
    # the bot decided in the handoff's transaction: nothing was written for the customer, so nothing is sent
    for address in ("pat@customer.example", "una@customer.example"):
        assert await customer_sees(mail, address) == [("customer", "in")]


async def test_email_a_reply_to_the_bots_answer_goes_to_a_person(mail: MailSetup) -> None:
    await mail.server.import_faq()
    hours = await entry_of(mail.server, mail.token, HOURS_Q)
    for address, reply, reason in (
        ("nia@customer.example", "That didn't help, you were closed at 3pm on Tuesday.", "not_helped"),
        ("abe@customer.example", "Thanks! And how do I cancel my subscription?", "already_answered"),
    ):
        tid = await mail_in(mail, address, "Opening hours", HOURS_Q)
        [answer] = await wait(lambda address=address: sent_to(mail, address))
        assert answer["Auto-Submitted"] == "auto-replied"
        assert "9am to 5pm" in answer.get_body(("plain",)).get_content()
        joined = await mail_in(mail, address, "Re: Opening hours", reply, In_Reply_To=answer["Message-ID"])
        assert joined == tid
        assert await handed_off(mail.server, mail.token, address) == [reason]
        items = await timeline(mail.server, mail.token, address)
        assert_lines(bot_lines(items), [("bot.answer", hours)])
        # the bot's one automated answer, nothing more
        assert await customer_sees(mail, address) == [("customer", "in"), ("bot", "out"), ("customer", "in")]
