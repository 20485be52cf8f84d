"""The phone channel (Twilio Voice), its wire format: the webhook forms parsed into plain values (pure), the
call states in their order, and the TwiML the calls are answered with (`channels.voice.twiml`). The
webhooks are in app/http/twilio_voice.py, what they write in app/actions/calls.py."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from channels.phone import to_e164

SID = re.compile(r"^[A-Za-z]{2}[A-Za-z0-9]{1,62}$")
MAX_TEXT = 10_000
MAX_SECONDS = 10**7

# Twilio's CallStatus: a status only ever moves forward; the final ones exclude each other
STATUS_RANK = {
    "queued": 0,
    "initiated": 0,
    "ringing": 0,
    "in-progress": 1,
    "completed": 2,
    "busy": 2,
    "failed": 2,
    "no-answer": 2,
    "canceled": 2,
}
FINAL = frozenset(s for s, rank in STATUS_RANK.items() if rank == 2)
# DialCallStatus: the agent's phone picked up
DIAL_ANSWERED = frozenset({"completed", "answered"})
DIAL_STATUSES = frozenset({"completed", "answered", "busy", "no-answer", "failed", "canceled"})


@dataclass(frozen=True)
class CallInfo:
    """Who is on the call, from the parameters Twilio sends with every voice request."""

    call_sid: str
    direction: str  # "inbound" or "outbound"
    customer_number: str  # E.164 when it is a phone number, else "" (anonymous, a SIP or client address)
    raw_customer: str  # the caller's address as Twilio sent it (kept for display)
    our_number: str
    caller_name: str = ""
    status: str = ""  # a CallStatus from STATUS_RANK, or "" when absent or unknown
    parent_sid: str = ""  # set on the requests about a child leg (the <Dial> to the agent)


@dataclass(frozen=True)
class Recording:
    sid: str
    url: str
    duration_s: int | None


@dataclass(frozen=True)
class Transcript:
    text: str
    status: str  # "completed" or "failed"


def _clean(value: str | None, limit: int) -> str:
    return (value or "").replace("\x00", "").strip()[:limit]


def seconds(raw: str | None) -> int | None:
    """A duration Twilio sends as a whole number of seconds; None when absent or not a number."""
    try:
        value = int(_clean(raw, 20))
    except ValueError:
        return None
    return value if 0 <= value <= MAX_SECONDS else None


def call_status(raw: str | None) -> str:
    status = _clean(raw, 20).lower()
    return status if status in STATUS_RANK else ""


def moves_forward(current: str, new: str) -> bool:
    """Whether `new` is a later state than `current` (a final state is never left)."""
    if new not in STATUS_RANK:
        return False
    return STATUS_RANK[new] > STATUS_RANK.get(current, -1)


def parse_call(form: Mapping[str, str]) -> CallInfo | None:
    """The call a voice request is about; None without a usable CallSid."""
    sid = _clean(form.get("CallSid"), 64)
    if not SID.match(sid):
        return None
    outbound = _clean(form.get("Direction"), 32).lower().startswith("outbound")
    theirs = _clean(form.get("To" if outbound else "From"), 64)
    ours = _clean(form.get("From" if outbound else "To"), 64)
    parent = _clean(form.get("ParentCallSid"), 64)
    return CallInfo(
        call_sid=sid,
        direction="outbound" if outbound else "inbound",
        customer_number=to_e164(theirs) or "",
        raw_customer=theirs,
        our_number=to_e164(ours) or ours,
        caller_name=_clean(form.get("CallerName"), 200),
        status=call_status(form.get("CallStatus")),
        parent_sid=parent if SID.match(parent) else "",
    )


def parse_recording(form: Mapping[str, str]) -> Recording | None:
    """The recording a <Record> callback reports; None when nothing was recorded (no sid or URL, or a
    duration of 0 s)."""
    sid = _clean(form.get("RecordingSid"), 64)
    url = _clean(form.get("RecordingUrl"), 500)
    duration = seconds(form.get("RecordingDuration"))
    if not SID.match(sid) or not url.lower().startswith(("https://", "http://")) or duration == 0:
        return None
    return Recording(sid, url, duration)


def parse_recording_ref(form: Mapping[str, str]) -> Recording | None:
    """The recording a transcription callback is about: its sid is enough (the URL and length may come
    with the <Record> action instead)."""
    sid = _clean(form.get("RecordingSid"), 64)
    if not SID.match(sid):
        return None
    url = _clean(form.get("RecordingUrl"), 500)
    if not url.lower().startswith(("https://", "http://")):
        url = ""
    return Recording(sid, url, seconds(form.get("RecordingDuration")) or None)


def parse_transcript(form: Mapping[str, str]) -> Transcript | None:
    """The transcription callback's text; None when the request carries none."""
    status = _clean(form.get("TranscriptionStatus"), 20).lower()
    text = " ".join(_clean(form.get("TranscriptionText"), MAX_TEXT).split())
    if text:
        return Transcript(text, "completed")
    if status == "failed":
        return Transcript("", "failed")
    return None


def format_duration(total: int) -> str:
    """125 -> "2 min 5 s"; 3720 -> "1 h 2 min"; 0 -> "0 s"."""
    hours, rest = divmod(max(0, total), 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours} h")
    if minutes:
        parts.append(f"{minutes} min")
    if secs or not parts:
        parts.append(f"{secs} s")
    return " ".join(parts)
