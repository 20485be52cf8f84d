"""Fuzzing the Twilio webhooks end to end: hypothesis-drawn forms, correctly signed, posted to every
/twilio/* path of a live server. Never a 5xx; an SMS webhook that cannot be understood is kept in
quarantine exactly as received (app/http/twilio_sms.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from app.domain.models import Quarantine
from tests.support import LiveServer, free_port, make_settings, running

TOKEN = "fuzz-webhooks-twilio-token"
PATHS = [
    "/twilio/sms",
    "/twilio/sms/status",
    "/twilio/voice",
    "/twilio/voice/menu",
    "/twilio/voice/dial-status",
    "/twilio/voice/recorded",
    "/twilio/voice/transcription",
    "/twilio/voice/status",
]
KEYS = [
    "MessageSid",
    "SmsSid",
    "From",
    "To",
    "Body",
    "NumMedia",
    "MediaUrl0",
    "MessageStatus",
    "ErrorCode",
    "CallSid",
    "ParentCallSid",
    "Direction",
    "CallStatus",
    "DialCallStatus",
    "Digits",
    "SpeechResult",
    "RecordingSid",
    "RecordingUrl",
    "RecordingDuration",
    "TranscriptionText",
    "TranscriptionStatus",
]
VALUES = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=40),
    st.sampled_from(
        [
            "+14155550123",
            "not a number",
            "CA" + "a" * 32,
            "SM" + "1" * 32,
            "RE" + "2" * 32,
            "https://api.twilio.com/rec",
            "javascript:alert(1)",
            "-5",
            "99999999999999999999",
            "1",
            "9",
            "stop",
            "help",
            "delivered",
            "failed",
            "completed",
            "in-progress",
            "outbound-api",
            "",
        ]
    ),
)
QUERIES = ["", "?attempt=2", "?after=menu&x=%ff", "?attempt=-1"]
FORMS = st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=10)), VALUES, max_size=10)


@pytest.fixture
async def twilio_server(database_url: str) -> AsyncIterator[LiveServer]:
    port = free_port()
    settings_ = make_settings(
        database_url,
        twilio_account_sid="AC" + "1" * 32,
        twilio_auth_token=TOKEN,
        twilio_from_number="+15005550006",
        twilio_api_url=f"http://127.0.0.1:{free_port()}",  # nothing listens: outbound SMS fail, locally
        public_url=f"http://127.0.0.1:{port}",
    )
    settings_ = replace(settings_, port=port)
    async with running(settings_) as live:
        yield live


@settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    form=FORMS, path=st.sampled_from(PATHS), query=st.sampled_from(["", "?attempt=2", "?after=menu&x=%ff"])
)
async def test_signed_webhooks_never_fail(
    twilio_server: LiveServer, form: dict[str, str], path: str, query: str
) -> None:
    url = twilio_server.settings.base_url + path + query
    signature = RequestValidator(TOKEN).compute_signature(url, form)
    async with twilio_server.client() as c:
        r = await c.post(path + query, data=form, headers={"X-Twilio-Signature": signature})
    assert r.status_code < 500, (path, query, form, r.status_code, r.text)
    assert r.status_code != 403, "a correctly signed request was refused"


async def test_unparseable_sms_is_kept_as_received(twilio_server: LiveServer) -> None:
    form = {"MessageSid": "", "From": "not a phone", "Body": "hello \u202e"}
    url = twilio_server.settings.base_url + "/twilio/sms"
    signature = RequestValidator(TOKEN).compute_signature(url, form)
    async with twilio_server.client() as c:
        r = await c.post("/twilio/sms", data=form, headers={"X-Twilio-Signature": signature})
    assert r.status_code == 200
    async with twilio_server.ctx.db.read() as s:
        row = (await s.execute(select(Quarantine).where(Quarantine.channel == "sms"))).scalar_one()
    assert json.loads(bytes(row.raw)) == form
