"""The phone menu's TwiML, read back as XML the way Twilio reads it, and the voice webhook parameters."""

from __future__ import annotations

import urllib.parse
import xml.etree.ElementTree as ET

import pytest

from channels.voice import (
    format_duration,
    moves_forward,
    parse_call,
    parse_recording,
    parse_recording_ref,
    parse_transcript,
    seconds,
    twiml,
)

ROOT = "https://support.example.com/sb/twilio/voice"


def parse(text: str) -> ET.Element:
    doc = ET.fromstring(text)
    assert doc.tag == "Response"
    return doc


def resolved(requested: str, target: str | None) -> str:
    """Where Twilio goes next: the target resolved against the URL it requested."""
    assert target
    return urllib.parse.urljoin(requested, target.strip())


def test_menu_gathers_speech_and_a_digit_then_redirects_on_silence() -> None:
    doc = parse(twiml.menu("voice/", 1, before=[twiml.GREETING]))
    verbs = [child.tag for child in doc]
    assert verbs == ["Say", "Gather", "Redirect"]
    assert doc[0].text == twiml.GREETING
    gather = doc.find("Gather")
    assert gather is not None
    assert gather.get("input") == "speech dtmf"
    assert gather.get("numDigits") == "1" and gather.get("timeout") == "5"
    assert gather.get("method") == "POST"
    assert resolved(ROOT, gather.get("action")) == ROOT + "/menu?attempt=1"
    say = gather.find("Say")
    assert say is not None and say.text == twiml.MENU_PROMPT
    redirect = doc.find("Redirect")
    assert redirect is not None and redirect.get("method") == "POST"
    assert resolved(ROOT, redirect.text) == ROOT + "/menu?attempt=1"


def test_names_resolve_under_the_voice_path_from_any_step() -> None:
    # answering /twilio/voice the base is "voice/", answering /twilio/voice/<step> it is ""
    doc = parse(twiml.menu("", 3))
    gather = doc.find("Gather")
    assert gather is not None
    assert resolved(ROOT + "/menu?attempt=2", gather.get("action")) == ROOT + "/menu?attempt=3"
    assert [child.tag for child in doc] == ["Gather", "Redirect"]


def test_voicemail_records_with_a_transcription_callback() -> None:
    doc = parse(twiml.voicemail("", before=["All our agents are busy right now."]))
    says = [el.text for el in doc.findall("Say")]
    assert says[:2] == ["All our agents are busy right now.", twiml.VOICEMAIL_PROMPT]
    record = doc.find("Record")
    assert record is not None
    assert record.get("maxLength") == "120" and record.get("playBeep") == "true"
    assert record.get("transcribe") == "true"
    assert resolved(ROOT + "/menu?attempt=3", record.get("transcribeCallback")) == ROOT + "/transcription"
    assert resolved(ROOT + "/menu?attempt=3", record.get("action")) == ROOT + "/recorded"
    # a recording cut short with nothing in it falls through to a goodbye
    assert [child.tag for child in doc][-2:] == ["Say", "Hangup"]


def test_dial_puts_the_caller_through_to_the_agents_number() -> None:
    doc = parse(twiml.dial("", "+14155550123"))
    dial = doc.find("Dial")
    assert dial is not None
    assert dial.get("timeout") == "20"
    assert resolved(ROOT + "/menu?attempt=1", dial.get("action")) == ROOT + "/dial-status"
    number = dial.find("Number")
    assert number is not None and number.text == "+14155550123"


def test_goodbye_hangs_up_and_empty_is_an_empty_response() -> None:
    doc = parse(twiml.goodbye("Goodbye & thanks <3"))
    assert [child.tag for child in doc] == ["Say", "Hangup"]
    assert doc[0].text == "Goodbye & thanks <3"
    assert len(parse(twiml.empty())) == 0
    assert [child.tag for child in parse(twiml.hangup())] == ["Hangup"]


def test_parse_call_inbound_outbound_and_anonymous() -> None:
    sid = "CA" + "a" * 32
    info = parse_call(
        {"CallSid": sid, "From": "+1 (415) 555-0199", "To": "+15005550006", "CallStatus": "ringing"}
    )
    assert info is not None
    assert (info.direction, info.customer_number, info.our_number, info.status) == (
        "inbound",
        "+14155550199",
        "+15005550006",
        "ringing",
    )
    out = parse_call(
        {"CallSid": sid, "From": "+15005550006", "To": "+46701234567", "Direction": "outbound-api"}
    )
    assert out is not None and out.direction == "outbound" and out.customer_number == "+46701234567"
    anon = parse_call({"CallSid": sid, "From": "anonymous", "CallStatus": "weird"})
    assert anon is not None and anon.customer_number == "" and anon.status == ""
    assert parse_call({"From": "+14155550199"}) is None
    assert parse_call({"CallSid": "CA x; drop table"}) is None


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ({"RecordingSid": "RE1", "RecordingUrl": "https://x/RE1", "RecordingDuration": "12"}, 12),
        ({"RecordingSid": "RE1", "RecordingUrl": "https://x/RE1"}, None),
        ({"RecordingSid": "RE1", "RecordingUrl": "https://x/RE1", "RecordingDuration": "0"}, "empty"),
        ({"RecordingSid": "RE1", "RecordingDuration": "7"}, "empty"),
        ({"RecordingUrl": "https://x/RE1", "RecordingDuration": "7"}, "empty"),
        ({"RecordingSid": "RE1", "RecordingUrl": "javascript:alert(1)", "RecordingDuration": "7"}, "empty"),
    ],
)
def test_parse_recording(form: dict[str, str], expected: int | str | None) -> None:
    rec = parse_recording(form)
    if expected == "empty":
        assert rec is None
    else:
        assert rec is not None and rec.sid == "RE1" and rec.duration_s == expected


def test_transcription_callback_needs_only_the_recording_sid() -> None:
    ref = parse_recording_ref({"RecordingSid": "RE1"})
    assert ref is not None and ref.url == "" and ref.duration_s is None
    assert parse_recording_ref({"RecordingUrl": "https://x"}) is None
    text = parse_transcript({"TranscriptionText": "  hi \n there ", "TranscriptionStatus": "completed"})
    assert text is not None and text.text == "hi there"
    failed = parse_transcript({"TranscriptionStatus": "failed"})
    assert failed is not None and failed.status == "failed" and failed.text == ""
    assert parse_transcript({}) is None


def test_status_moves_forward_only() -> None:
    assert moves_forward("ringing", "in-progress")
    assert moves_forward("in-progress", "completed")
    assert moves_forward("ringing", "no-answer")
    assert not moves_forward("completed", "in-progress")
    assert not moves_forward("completed", "failed")
    assert not moves_forward("in-progress", "in-progress")
    assert not moves_forward("ringing", "exploded")


def test_durations() -> None:
    assert format_duration(125) == "2 min 5 s"
    assert format_duration(120) == "2 min"
    assert format_duration(9) == "9 s"
    assert format_duration(0) == "0 s"
    assert format_duration(3725) == "1 h 2 min 5 s"
    assert seconds("12") == 12 and seconds("") is None and seconds("-3") is None and seconds("x") is None
