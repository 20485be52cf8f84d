"""Fuzzing the edge parsers with hypothesis: the email parser, the Twilio SMS and voice webhook form parsers,
and the websocket frame reader. No exception escapes but the documented one (`Unparseable` for mail and
SMS, `FrameError` for frames; the voice parsers answer None), and a mail the parser cannot understand is
kept byte for byte in quarantine (app/actions/email.py, app/actions/inbound.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from starlette.websockets import WebSocketDisconnect

from app.actions.context import Context
from app.actions.email import ingest_raw
from app.bus import make_bus
from app.db.engine import Database
from app.db.migrate import upgrade
from app.domain.models import Message, Quarantine
from app.http.frames import FrameError, opt_str, receive_frame
from channels.base import InboundMessage, Unparseable
from channels.email import parse_email
from channels.sms.parse import keyword, parse_sms
from channels.voice import (
    call_status,
    parse_call,
    parse_recording,
    parse_recording_ref,
    parse_transcript,
    seconds,
)
from tests.support import make_settings

# bounded, and no example database written into the working tree: every run draws afresh
FUZZ = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
CORPUS = sorted(
    p for p in (Path(__file__).parents[1] / "data" / "mail").iterdir() if p.suffix in (".eml", ".box")
)

# --- email -------------------------------------------------------------------------------------------

HEADERS = [
    "From",
    "To",
    "Cc",
    "Subject",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Date",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-Disposition",
    "MIME-Version",
    "Auto-Submitted",
    "Return-Path",
    "Reply-To",
    "Sender",
    "X-Mailer",
]
ATOMS = [
    "=?utf-8?b?w6k=?=",
    "=?iso-8859-1?q?caf=E9?=",
    "=?x-unknown?q?a?=",
    "=?utf-8?b?!!!?=",
    "<a@b>",
    '"Quoted, Name" <q@example.com>',
    'multipart/mixed; boundary="b"',
    "multipart/alternative; boundary=b",
    'text/html; charset="utf-7"',
    "text/plain; charset=x-nonsense",
    "message/rfc822",
    "message/delivery-status",
    "base64",
    "quoted-printable",
    "8bit",
    "attachment; filename*=utf-8''%E2%82%AC.pdf",
    "--b",
    "--b--",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "Mon, 99 Foo 2024 25:61:61 +9999",
    "\x00",
    "\r\n\t",
]
header_value = st.one_of(
    st.text(max_size=60), st.sampled_from(ATOMS), st.lists(st.sampled_from(ATOMS), max_size=4).map(" ".join)
)
header = st.tuples(
    st.one_of(st.sampled_from(HEADERS), st.text("abcXYZ-:", min_size=1, max_size=10)), header_value
)
body_part = st.one_of(
    st.text(max_size=200),
    st.sampled_from(ATOMS),
    st.binary(max_size=100).map(lambda b: b.decode("latin-1")),
)


@st.composite
def mail_like(draw: st.DrawFn) -> bytes:
    """Shaped like a mail: headers (known names, hostile values), maybe MIME parts, any line ends."""
    eol = draw(st.sampled_from(["\r\n", "\n", "\r"]))
    lines = [f"{k}: {v}" for k, v in draw(st.lists(header, max_size=12))]
    body = draw(st.lists(body_part, max_size=8))
    if draw(st.booleans()):  # a multipart body with parts of its own
        parts = []
        for _ in range(draw(st.integers(0, 3))):
            sub = [f"{k}: {v}" for k, v in draw(st.lists(header, max_size=4))]
            parts.append(eol.join([*sub, "", *draw(st.lists(body_part, max_size=3))]))
        body = [f"--b{eol}{p}" for p in parts] + draw(st.sampled_from([["--b--"], [], ["--b"]])) + body
    text = eol.join([*lines, "", *body])
    return text.encode(draw(st.sampled_from(["utf-8", "latin-1"])), "replace")


@st.composite
def mutated_corpus_mail(draw: st.DrawFn) -> bytes:
    """A real mail of the corpus with bytes cut, flipped or inserted."""
    raw = bytearray(draw(st.sampled_from(CORPUS)).read_bytes())
    for _ in range(draw(st.integers(1, 6))):
        if not raw:
            break
        at = draw(st.integers(0, len(raw) - 1))
        match draw(st.sampled_from(["flip", "cut", "insert", "truncate"])):
            case "flip":
                raw[at] = draw(st.integers(0, 255))
            case "cut":
                del raw[at : at + draw(st.integers(1, 200))]
            case "insert":
                raw[at:at] = draw(st.one_of(st.binary(max_size=40), st.sampled_from(ATOMS).map(str.encode)))
            case _:
                del raw[at:]
    return bytes(raw)


def check_mail(raw: bytes) -> InboundMessage | None:
    try:
        msg = parse_email(raw)
    except Unparseable:
        return None
    assert isinstance(msg, InboundMessage) and msg.channel == "email"
    assert msg.external_id and isinstance(msg.body, str) and isinstance(msg.subject, str)
    assert "\x00" not in msg.sender
    if msg.html is not None:  # sanitised for display: no script, no handler survives nh3
        lowered = msg.html.lower()
        assert "<script" not in lowered and "onerror" not in lowered, msg.html
    return msg


@FUZZ
@given(st.binary(max_size=3000))
def test_email_parser_on_any_bytes(raw: bytes) -> None:
    check_mail(raw)


@FUZZ
@given(mail_like())
def test_email_parser_on_mail_like_input(raw: bytes) -> None:
    check_mail(raw)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_corpus_mail())
def test_email_parser_on_damaged_real_mail(raw: bytes) -> None:
    check_mail(raw)


@pytest.fixture(scope="module")
def mail_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[asyncio.Runner, Context]]:
    """ingest_raw on a real SQLite database, in one event loop shared by the examples."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('fuzzmail')}/switchboard.db"
    with asyncio.Runner() as runner:
        runner.run(upgrade(url))
        db = Database(url)
        ctx = Context(make_settings(url), db, make_bus("memory://"))
        try:
            yield runner, ctx
        finally:
            runner.run(ctx.close())
            runner.run(db.close())


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.one_of(st.binary(min_size=1, max_size=600), mail_like(), mutated_corpus_mail()))
def test_mail_is_stored_or_kept_raw(mail_store: tuple[asyncio.Runner, Context], raw: bytes) -> None:
    """Whatever arrives is either stored as a message or kept byte for byte in quarantine; a mail the parser
    had to repair is stored and its raw original kept beside it."""
    runner, ctx = mail_store
    if not raw.strip():
        return  # the API and the SMTP listener refuse an empty body before it gets here
    result = runner.run(ingest_raw(ctx, raw))

    async def look() -> None:
        async with ctx.db.read() as s:
            if result.quarantine_id is not None:
                row = await s.get(Quarantine, result.quarantine_id)
                assert row is not None and bytes(row.raw) == raw and row.error
                return
            assert result.message_id is not None
            assert await s.get(Message, result.message_id) is not None
            if result.duplicate:
                return
            parsed = parse_email(raw)
            if parsed.warnings:
                kept = (
                    await s.execute(select(Quarantine).where(Quarantine.message_id == result.message_id))
                ).scalar_one()
                assert bytes(kept.raw) == raw

    runner.run(look())


def test_unparseable_mail_goes_to_quarantine_unchanged(mail_store: tuple[asyncio.Runner, Context]) -> None:
    runner, ctx = mail_store
    for raw in (b"\x00\x01\x02", b"\xff" * 100, b"just some words, no headers at all"):
        with pytest.raises(Unparseable):
            parse_email(raw)
        result = runner.run(ingest_raw(ctx, raw))
        assert result.quarantine_id is not None and result.message_id is None

        async def look(qid: int = result.quarantine_id, raw: bytes = raw) -> bytes:
            async with ctx.db.read() as s:
                row = await s.get(Quarantine, qid)
                assert row is not None
                return bytes(row.raw)

        assert runner.run(look()) == raw


# --- Twilio webhook forms ----------------------------------------------------------------------------

FORM_KEYS = [
    "MessageSid",
    "SmsSid",
    "From",
    "To",
    "Body",
    "NumMedia",
    "MediaUrl0",
    "MediaUrl1",
    "MediaUrl9",
    "CallSid",
    "ParentCallSid",
    "Direction",
    "CallStatus",
    "CallerName",
    "RecordingSid",
    "RecordingUrl",
    "RecordingDuration",
    "TranscriptionText",
    "TranscriptionStatus",
]
FORM_VALUES = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            "+14155550123",
            "+1 (415) 555-0123",
            "00441234",
            "+999999999999999999999",
            "CA" + "a" * 32,
            "SM" + "0" * 32,
            "RE" + "f" * 32,
            "https://api.twilio.com/rec",
            "-1",
            "99999999999999999999",
            "1e3",
            "STOP",
            " stop! ",
            "outbound-dial",
            "completed",
            "failed",
            "\x00",
            "",
        ]
    ),
    st.integers().map(str),
)
forms = st.dictionaries(st.one_of(st.sampled_from(FORM_KEYS), st.text(max_size=12)), FORM_VALUES, max_size=12)


@FUZZ
@given(forms)
def test_sms_form_parser(form: dict[str, str]) -> None:
    try:
        msg = parse_sms(form)
    except Unparseable:
        return
    assert msg.channel == "sms" and msg.sender.startswith("+") and msg.external_id
    assert "\x00" not in msg.body and len(msg.media_urls) <= 10
    keyword(msg.body)


@FUZZ
@given(forms)
def test_voice_form_parsers(form: dict[str, str]) -> None:
    call = parse_call(form)
    assert call is None or (call.call_sid and call.direction in ("inbound", "outbound"))
    rec = parse_recording(form)
    assert rec is None or rec.url.lower().startswith(("http://", "https://"))
    parse_recording_ref(form)
    transcript = parse_transcript(form)
    assert transcript is None or transcript.status in ("completed", "failed")
    for value in form.values():
        seconds(value)
        call_status(value)


# --- websocket frames --------------------------------------------------------------------------------


class Socket:
    """Hands receive_frame one ASGI websocket message, as Starlette's WebSocket would."""

    def __init__(self, message: dict[str, Any]) -> None:
        self.message = message

    async def receive(self) -> dict[str, Any]:
        return self.message


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
frame_objects = st.fixed_dictionaries(
    {}, optional={"type": json_values | st.sampled_from(["hello", "message", "auth", "typing"])}
).flatmap(lambda d: st.dictionaries(st.text(max_size=10), json_values, max_size=4).map(lambda e: {**e, **d}))
raw_texts = st.one_of(
    json_values.map(json.dumps),
    frame_objects.map(json.dumps),
    st.text(max_size=300),
    st.sampled_from(["{", '{"type":', "[]", '{"type": null}', "\ud800", '"\\ud800"', "1e999", "NaN"]),
)
messages = st.one_of(
    raw_texts.map(lambda t: {"type": "websocket.receive", "text": t}),
    st.one_of(st.binary(max_size=300), raw_texts.map(lambda t: t.encode("utf-8", "surrogatepass"))).map(
        lambda b: {"type": "websocket.receive", "bytes": b}
    ),
    st.just({"type": "websocket.receive"}),
    st.just({"type": "websocket.disconnect", "code": 1000}),
)


@FUZZ
@given(messages, st.integers(min_value=1, max_value=400))
def test_frame_reader(message: dict[str, Any], limit: int) -> None:
    try:
        frame = asyncio.run(receive_frame(Socket(message), limit))  # type: ignore[arg-type]
    except FrameError as e:
        assert e.frame()["type"] == "error" and e.code
        return
    except WebSocketDisconnect:
        assert message["type"] == "websocket.disconnect"
        return
    assert isinstance(frame, dict) and isinstance(frame["type"], str)
    for key in frame:
        assert len(opt_str(frame, key, 50)) <= 50
