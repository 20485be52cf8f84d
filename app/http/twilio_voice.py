"""Twilio Voice webhooks: the phone menu (IVR) with the FAQ bot, calls put through to agents, voicemail, and
the call's status callbacks. Every request is signed (`signed_params`: 403 and no change otherwise); GET
and POST are both accepted, as a Twilio number can be configured with either.

    /twilio/voice               greeting + menu (Gather: 1 billing, 2 technical support, or speak)
    /twilio/voice/menu?attempt&after  the choice: a queue -> <Dial> an available agent with a phone, else
                                voicemail; a question the bot knows -> <Say> the answer, then the menu
                                again; one it is not sure of -> the menu again asking to put it another
                                way (`after=clarify`), the second in a row -> a person; a request for a
                                person, or "that did not help" after an answer -> a person;
                                silence -> the menu again, at most twice, then voicemail
    /twilio/voice/dial-status   the <Dial> ended: answered -> hang up; not answered -> voicemail
    /twilio/voice/recorded      the <Record> ended: a voicemail on the call's ticket, or a polite goodbye
    /twilio/voice/transcription the voicemail's transcript (may come first: what is missing is created)
    /twilio/voice/status        the call's status callback: status (forward only) and duration

The TwiML names the next step with a URL relative to the one Twilio requested (see channels.voice.twiml).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.actions import calls
from app.actions.calls import CHANNEL
from app.actions.tickets import BotState
from app.http.auth import ctx_of
from app.http.twilio_auth import signed_params
from bots.faq.responder import decide
from channels.voice import (
    DIAL_STATUSES,
    CallInfo,
    parse_call,
    parse_recording,
    parse_recording_ref,
    parse_transcript,
    seconds,
    twiml,
)

MAX_ATTEMPTS = 3  # menus played before voicemail: the first and at most two repeats
MAX_BOT_ANSWERS = 3  # spoken questions the bot answers in one call; the next one goes to a person
MAX_SAY = 1000
DIGIT_QUEUES = {"1": ("billing", "billing"), "2": ("tech", "technical support"), "0": ("general", "a person")}
SPOKEN_DIGITS = {"one": "1", "1": "1", "two": "2", "2": "2", "zero": "0", "0": "0"}
SPOKEN_QUEUES = (
    (re.compile(r"\b(billing|invoice|payment)\b"), "1"),
    (re.compile(r"\b(technical|tech support)\b"), "2"),
)
BUSY = "All our agents are busy right now."
NOT_ANSWERED = "Sorry, nobody could take your call."
GOODBYE = "We did not receive a message. Thank you for calling, goodbye."


def xml(body: str) -> Response:
    return Response(body, media_type="application/xml")


def _base(request: Request) -> str:
    """How the next step's name is made relative to the URL Twilio requested (see twiml)."""
    return "voice/" if request.url.path.rstrip("/").endswith("/twilio/voice") else ""


def _attempt(request: Request) -> int:
    try:
        value = int(request.query_params.get("attempt", "1"))
    except ValueError:
        return MAX_ATTEMPTS
    return max(1, min(MAX_ATTEMPTS, value))


def _after(request: Request) -> str | None:
    """What the bot said just before this menu (from the Gather's action URL): "answer", "clarify" or None."""
    after = request.query_params.get("after")
    return after if after in ("answer", "clarify") else None


def _spoken_choice(speech: str) -> str | None:
    """A menu choice said rather than pressed: "two", "billing please"."""
    words = re.sub(r"[^\w\s]", " ", speech.lower()).split()
    if len(words) == 1 and words[0] in SPOKEN_DIGITS:
        return SPOKEN_DIGITS[words[0]]
    text = " ".join(words)
    for pattern, digit in SPOKEN_QUEUES:
        if pattern.search(text):
            return digit
    return None


async def incoming(request: Request) -> Response:
    params = await signed_params(request)
    info = parse_call(params)
    if info is None:
        return xml(twiml.empty())
    await calls.ensure(ctx_of(request), info)
    return xml(twiml.menu(_base(request), 1, before=[twiml.GREETING]))


async def menu(request: Request) -> Response:
    params = await signed_params(request)
    info = parse_call(params)
    if info is None:
        return xml(twiml.empty())
    ctx = ctx_of(request)
    base, attempt = _base(request), _attempt(request)
    digits = params.get("Digits", "").strip()[:8]
    speech = " ".join(params.get("SpeechResult", "").split())[:2000]
    if digits in DIGIT_QUEUES:
        queue, label = DIGIT_QUEUES[digits]
        step = {"kind": "digits", "digits": digits, "queue": queue, "attempt": attempt}
        return await _connect(request, info, queue, f"Pressed {digits} for {label}.", step)
    if speech:
        response = await _spoken(request, info, speech)
        if response is not None:
            return response
    # nothing (or nothing usable) heard: the menu again, then voicemail
    await calls.record_step(
        ctx, info, {"kind": "no_input", "attempt": attempt, **({"digits": digits} if digits else {})}
    )
    if attempt < MAX_ATTEMPTS:
        return xml(twiml.menu(base, attempt + 1, before=[twiml.NO_INPUT], after=_after(request)))
    return xml(twiml.voicemail(base))


async def _spoken(request: Request, info: CallInfo, speech: str) -> Response | None:
    """The caller said something at the menu: the bot's rules as on the other channels (`decide`) — an
    answer then the menu again (at most MAX_BOT_ANSWERS per call), a request for a person or "that did not
    help" after an answer puts them through, and a question the bot is not sure of gets the menu again
    with a request to put it another way, the second in a row a person. A menu choice said rather than
    pressed ("billing please") picks the queue. None when nothing usable was heard."""
    ctx, base = ctx_of(request), _base(request)
    state = await calls.ensure(ctx, info)
    match = await request.app.state.bot.ask(speech)
    step = decide(BotState(CHANNEL, _after(request), answered=False), match, speech)
    if step.kind == "none":
        return None
    confidence = round(float(match.confidence), 3)
    said = {"kind": "speech", "text": speech, "entry_id": match.entry_id, "confidence": confidence}
    if step.kind == "answer" and state.bot_answers < MAX_BOT_ANSWERS:
        answer = step.body[:MAX_SAY]
        await calls.bot_reply(ctx, info, {**said, "answered": True, "n": state.bot_answers + 1}, answer)
        return xml(twiml.menu(base, 1, before=[answer], after="answer"))
    choice = _spoken_choice(speech) if step.reason != "asked_for_human" else None
    if step.kind == "clarify" and choice is None:
        # noted once per request: a redelivery repeats it, the same words after another answer do not
        clarify = {**said, "answered": False, "clarify": True, "answers_before": state.bot_answers}
        await calls.bot_reply(ctx, info, clarify)
        return xml(twiml.menu(base, 1, prompt=twiml.CLARIFY_PROMPT, after="clarify"))
    reason = {"answer": "bot_answers_exhausted", "clarify": "spoken_choice"}.get(step.kind, step.reason)
    queue = DIGIT_QUEUES[choice][0] if choice else "general"
    handoff = {**said, "answered": False, "reason": reason, "queue": queue}
    return await _connect(request, info, queue, speech, handoff)


async def _connect(
    request: Request, info: CallInfo, queue: str, opening: str, step: Mapping[str, object]
) -> Response:
    """Open the call's ticket in the queue and put the caller through to an agent free to take a call;
    when there is none, the ticket waits for a callback and the caller is offered voicemail."""
    ctx, base = ctx_of(request), _base(request)
    opened = await calls.open_ticket(ctx, info, queue, opening, dict(step))
    if opened.assignee_phone:  # a repeated request: the call is already going to this agent
        return xml(twiml.dial(base, opened.assignee_phone))
    if opened.assignee_id is None and not opened.waiting:
        agent = await request.app.state.router.assign_now(opened.ticket_id, needs_phone=True)
        if agent is not None and agent.phone:
            await calls.dialing(ctx, info, agent.id)
            return xml(twiml.dial(base, agent.phone))
    await calls.wait_for_callback(ctx, info, "no agent free to take the call")
    return xml(twiml.voicemail(base, before=[BUSY]))


async def dial_status(request: Request) -> Response:
    params = await signed_params(request)
    info = parse_call(params)
    if info is None:
        return xml(twiml.empty())
    status = params.get("DialCallStatus", "").strip().lower()
    if status not in DIAL_STATUSES:
        status = ""
    answered = await calls.dial_result(ctx_of(request), info, status, seconds(params.get("DialCallDuration")))
    if answered:
        return xml(twiml.hangup())
    return xml(twiml.voicemail(_base(request), before=[NOT_ANSWERED]))


async def recorded(request: Request) -> Response:
    params = await signed_params(request)
    info = parse_call(params)
    if info is None:
        return xml(twiml.empty())
    recording = parse_recording(params)
    if recording is None:
        await calls.empty_recording(ctx_of(request), info)
        return xml(twiml.goodbye(GOODBYE))
    await calls.voicemail(ctx_of(request), info, recording, parse_transcript(params))
    return xml(twiml.goodbye(twiml.THANKS))


async def transcription(request: Request) -> Response:
    params = await signed_params(request)
    info = parse_call(params)
    recording = parse_recording_ref(params)
    transcript = parse_transcript(params)
    if info is not None and recording is not None and transcript is not None:
        await calls.voicemail(ctx_of(request), info, recording, transcript)
    return xml(twiml.empty())


async def status(request: Request) -> Response:
    params = await signed_params(request)
    info = parse_call(params)
    if info is not None and not info.parent_sid:  # a child leg (the <Dial>) is reported by dial-status
        await calls.status(ctx_of(request), info, seconds(params.get("CallDuration")))
    return xml(twiml.empty())


METHODS = ["GET", "POST"]
routes = [
    Route("/twilio/voice", incoming, methods=METHODS, include_in_schema=False),
    Route("/twilio/voice/menu", menu, methods=METHODS, include_in_schema=False),
    Route("/twilio/voice/dial-status", dial_status, methods=METHODS, include_in_schema=False),
    Route("/twilio/voice/recorded", recorded, methods=METHODS, include_in_schema=False),
    Route("/twilio/voice/transcription", transcription, methods=METHODS, include_in_schema=False),
    Route("/twilio/voice/status", status, methods=METHODS, include_in_schema=False),
]
