"""Phone calls: what the Twilio Voice webhooks write. Each action is one transaction that finds the call by
its CallSid (creating it, and the caller as a customer by their verified number, when this is the first
request about it: callbacks may come in any order), writes what changed, keeps the call's line on the
customer's timeline current, and publishes the ticket events after commit.

A call gets a voice ticket when it needs a person: a menu choice (the caller waits for an agent), a missed
call, a voicemail. The ticket is opened without queueing it, so that `Router.assign_now` can give it to an
agent with a phone at once; only when nobody can take the call does it wait in its queue for a callback.

Idempotent: a call is one row (CallSid unique), a voicemail one message (RecordingSid as its external id);
the status moves forward only; a repeated delivery finds everything as it left it and changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions.chat import default_queue
from app.actions.common import (
    add_message,
    agent_name,
    history,
    lock_ticket,
    message_event,
    queue_name,
    ticket_event,
    touch,
)
from app.actions.context import Context
from app.actions.inbound import _customer
from app.bus import Event
from app.domain.models import Agent, Call, Customer, HistoryEntry, Message, Queue, Ticket
from app.domain.types import utcnow
from channels.base import InboundMessage
from channels.voice import (
    DIAL_ANSWERED,
    DIAL_STATUSES,
    FINAL,
    CallInfo,
    Recording,
    Transcript,
    format_duration,
    moves_forward,
)

T = TypeVar("T")
CHANNEL = "voice"
OUTCOME_TEXT = {
    "abandoned": "abandoned",
    "no-answer": "not answered",
    "busy": "busy",
    "failed": "failed",
    "bot": "answered by the bot",
}


@dataclass(frozen=True)
class CallState:
    call_id: int
    customer_id: int
    ticket_id: int | None
    bot_answers: int


@dataclass(frozen=True)
class Opened:
    """The call's ticket, and who has it: an agent (with the number to put the caller through to), or
    nobody yet."""

    ticket_id: int
    assignee_id: int | None
    assignee_phone: str | None
    waiting: bool


async def _write(ctx: Context, work: Callable[[AsyncSession, list[Event]], Awaitable[T]]) -> T:
    """One transaction; retried once when a concurrent request created the same call (or caller) first.
    The events go out after the commit."""
    events: list[Event] = []
    try:
        async with ctx.db.write() as s:
            result = await work(s, events)
    except IntegrityError:
        events = []
        async with ctx.db.write() as s:
            result = await work(s, events)
    await ctx.publish(events)
    return result


# ---- the call row and its timeline line -----------------------------------------------------------------


async def _survivor(s: AsyncSession, customer_id: int) -> int:
    customer = await s.get(Customer, customer_id)
    while customer is not None and customer.merged_into_id is not None:
        customer = await s.get(Customer, customer.merged_into_id)
    return customer.id if customer is not None else customer_id


async def _caller(s: AsyncSession, info: CallInfo) -> int:
    """The customer on the other end: found or created by their number (a verified phone identity, the
    same one SMS uses); a caller without a number (withheld, SIP) is a new customer of their own."""
    if info.customer_number:
        probe = InboundMessage(
            channel=CHANNEL,
            sender=info.customer_number,
            body="",
            external_id=info.call_sid,
            sender_name=info.caller_name,
        )
        return await _customer(s, probe)
    customer = Customer(name=info.caller_name or "Unknown caller")
    s.add(customer)
    await s.flush()
    return customer.id


async def _call(s: AsyncSession, info: CallInfo) -> Call:
    """The call, locked for this transaction; created (with its caller and timeline line) if new. The
    status the request carries is applied when it moves the call forward."""
    call = (
        await s.execute(
            select(Call)
            .where(Call.call_sid == info.call_sid)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if call is None:
        now = utcnow()
        call = Call(
            call_sid=info.call_sid,
            customer_id=await _caller(s, info),
            direction=info.direction,
            from_number=(info.raw_customer if info.direction == "inbound" else info.our_number)[:64],
            to_number=(info.our_number if info.direction == "inbound" else info.raw_customer)[:64],
            status="ringing",
            steps=[],
            started_at=now,
            updated_at=now,
        )
        s.add(call)
        await s.flush()
        entry = HistoryEntry(
            customer_id=call.customer_id,
            kind="call",
            channel=CHANNEL,
            direction="in" if info.direction == "inbound" else "out",
            author="customer" if info.direction == "inbound" else "system",
            text="",
            data={},
            at=now,
        )
        s.add(entry)
        await s.flush()
        call.history_id = entry.id
    _advance(call, info.status)
    return call


def _advance(call: Call, status: str) -> None:
    if status and moves_forward(call.status, status):
        call.status = status
        call.updated_at = utcnow()
        if status in FINAL and call.ended_at is None:
            call.ended_at = call.updated_at


def _bot_answers(call: Call) -> int:
    return sum(1 for step in call.steps or [] if step.get("kind") == "speech" and step.get("answered"))


def _add_step(call: Call, step: dict[str, Any]) -> bool:
    """Note a menu step once (a redelivered request repeats the same step; steps that may recur carry a
    number). False when it was noted before."""
    steps = list(call.steps or [])
    if step in steps:
        return False
    call.steps = [*steps, step]
    return True


def _outcome(call: Call) -> str | None:
    if call.voicemail_message_id is not None:
        return "voicemail"
    if call.dial_status in DIAL_ANSWERED:
        return "answered"
    if call.status not in FINAL:
        return None
    if call.status in ("busy", "failed", "no-answer"):
        return call.status
    if call.dial_status is not None:
        return "no-answer"
    if call.ticket_id is None and _bot_answers(call):
        return "bot"
    return "abandoned"


def describe(call: Call, agent: str | None) -> str:
    """The call's readable line: "Inbound call, 2 min 5 s, answered by Ana"."""
    parts = ["Inbound call" if call.direction == "inbound" else "Outbound call"]
    if call.duration_s is not None:
        parts.append(format_duration(call.duration_s))
    outcome = call.outcome
    if outcome == "answered":
        parts.append(f"answered by {agent or 'an agent'}")
    elif outcome == "voicemail":
        parts.append(f"voicemail: {call.transcript}" if call.transcript else "voicemail")
    elif outcome is not None:
        parts.append(OUTCOME_TEXT.get(outcome, outcome))
    elif call.agent_id is not None and call.dial_status is None:
        parts.append(f"connecting to {agent or 'an agent'}")
    else:
        parts.append("in progress" if call.status == "in-progress" else call.status)
    return ", ".join(parts)


async def _refresh(s: AsyncSession, call: Call) -> None:
    """Bring the call's outcome and its timeline line up to date (no write when nothing changed)."""
    outcome = _outcome(call)
    if outcome != call.outcome:
        call.outcome = outcome
        call.updated_at = utcnow()
    entry = await s.get(HistoryEntry, call.history_id) if call.history_id is not None else None
    if entry is None:
        return
    agent = await agent_name(s, call.agent_id)
    data: dict[str, Any] = {
        "call_sid": call.call_sid,
        "direction": call.direction,
        "from": call.from_number,
        "to": call.to_number,
        "status": call.status,
        "duration_s": call.duration_s,
        "outcome": call.outcome,
        "agent_id": call.agent_id,
        "agent_name": agent,
        "queue": await queue_name(s, call.queue_id) if call.queue_id is not None else None,
        "dial_status": call.dial_status,
        "dial_duration_s": call.dial_duration_s,
        "recording_sid": call.recording_sid,
        "recording_url": call.recording_url,
        "recording_duration_s": call.recording_duration_s,
        "transcript": call.transcript,
        "steps": list(call.steps or []),
    }
    text = describe(call, agent)
    if entry.text != text:
        entry.text = text
    if entry.data != data:
        entry.data = data
    if entry.ticket_id != call.ticket_id:
        entry.ticket_id = call.ticket_id
    if call.agent_id is not None and entry.agent_id != call.agent_id:
        entry.agent_id = call.agent_id


# ---- the call's ticket ----------------------------------------------------------------------------------


async def _queue(s: AsyncSession, name: str | None) -> Queue:
    if name:
        queue = (await s.execute(select(Queue).where(Queue.name == name))).scalar_one_or_none()
        if queue is not None:
            return queue
    return await default_queue(s)


def _caller_label(call: Call) -> str:
    return (call.from_number if call.direction == "inbound" else call.to_number) or "an unknown number"


async def _ticket(s: AsyncSession, call: Call, queue: str | None, subject: str) -> tuple[Ticket, bool]:
    """The call's ticket, locked; opened (status open, not yet waiting) in `queue` (or the queue the call
    chose before) when the call has none. The caller adds the ticket.created event once it is complete."""
    if call.ticket_id is not None:
        return await lock_ticket(s, call.ticket_id), False
    if call.queue_id is not None:
        chosen = await _queue_by_id(s, call.queue_id)
    else:
        chosen = await _queue(s, queue)
    ticket = Ticket(
        customer_id=await _survivor(s, call.customer_id),
        subject=" ".join(subject.split())[:300],
        status="open",
        queue_id=chosen.id,
        channel=CHANNEL,
        tags=["phone"],
    )
    s.add(ticket)
    await s.flush()
    history(
        s,
        ticket,
        "ticket.created",
        text=f"voice conversation started: {ticket.subject}",
        data={"call_sid": call.call_sid},
    )
    call.ticket_id = ticket.id
    call.queue_id = chosen.id
    return ticket, True


async def _queue_by_id(s: AsyncSession, queue_id: int) -> Queue:
    queue = await s.get(Queue, queue_id)
    return queue if queue is not None else await default_queue(s)


def _wait(s: AsyncSession, ticket: Ticket, reason: str) -> bool:
    """The ticket waits in its queue for a person (the router hands it out); False if it already does or
    someone has it."""
    if ticket.assignee_id is not None or ticket.queued_at is not None:
        return False
    if ticket.status not in ("new", "open", "pending"):
        return False
    ticket.status = "open"
    ticket.queued_at = utcnow()
    touch(ticket)
    history(s, ticket, "handoff", text=f"waiting for a callback: {reason}", data={"reason": reason})
    return True


def _quiet(event: Event) -> Event:
    """A caller's message the FAQ bot must not answer by text: the call itself is the conversation."""
    event.data["answerable"] = False
    return event


# ---- actions --------------------------------------------------------------------------------------------


async def ensure(ctx: Context, info: CallInfo) -> CallState:
    """The call as it stands, created when this is the first request about it."""

    async def work(s: AsyncSession, _events: list[Event]) -> CallState:
        call = await _call(s, info)
        await _refresh(s, call)
        return CallState(call.id, call.customer_id, call.ticket_id, _bot_answers(call))

    return await _write(ctx, work)


async def record_step(ctx: Context, info: CallInfo, step: dict[str, Any]) -> None:
    """A menu step (silence, a spoken question the bot answered) on the call's record."""

    async def work(s: AsyncSession, _events: list[Event]) -> None:
        call = await _call(s, info)
        _add_step(call, step)
        await _refresh(s, call)

    await _write(ctx, work)


async def bot_reply(ctx: Context, info: CallInfo, step: dict[str, Any], said: str | None = None) -> None:
    """The bot answered a spoken question (`said`, step "answered") or asked the caller to put it another
    way (step "clarify"): the step on the call's record and, like the bot's replies on the other channels, a
    line on the caller's timeline ("bot.answer" or "bot.clarify") with the FAQ entry and its confidence."""

    async def work(s: AsyncSession, _events: list[Event]) -> None:
        call = await _call(s, info)
        if _add_step(call, step):
            entry_id, confidence = step.get("entry_id"), float(step.get("confidence") or 0.0)
            if said is not None:
                kind, text = "bot.answer", f"FAQ entry {entry_id}, confidence {confidence:.2f}: {said}"
            else:
                kind = "bot.clarify"
                text = f"asked to rephrase: not sure (best FAQ entry {entry_id}, confidence {confidence:.2f})"
            s.add(
                HistoryEntry(
                    customer_id=call.customer_id,
                    ticket_id=call.ticket_id,
                    kind=kind,
                    channel=CHANNEL,
                    direction="out",
                    author="bot",
                    text=text,
                    data={
                        "entry_id": entry_id,
                        "confidence": step.get("confidence"),
                        "call_sid": call.call_sid,
                        "question": step.get("text"),
                    },
                    at=utcnow(),
                )
            )
        await _refresh(s, call)

    await _write(ctx, work)


async def open_ticket(
    ctx: Context, info: CallInfo, queue: str | None, opening: str, step: dict[str, Any]
) -> Opened:
    """The caller wants a person: the call's voice ticket in `queue` (the default queue when there is no
    such queue) with what they asked for as its first message. Not yet waiting: the caller of this action
    tries `Router.assign_now` first, then `wait_for_callback`."""

    async def work(s: AsyncSession, events: list[Event]) -> Opened:
        call = await _call(s, info)
        _add_step(call, step)
        ticket, created = await _ticket(s, call, queue, f"Call from {_caller_label(call)}: {opening}")
        qname = await queue_name(s, ticket.queue_id)
        if created:
            msg = await add_message(
                s, ticket, body=opening, author="customer", direction="in", external_id=call.call_sid
            )
            msg.meta = {"from": call.from_number, "call_sid": call.call_sid, "step": step}
            events.append(ticket_event("ticket.created", ticket, qname))
            events.append(_quiet(message_event(ticket, msg, qname)))
        await _refresh(s, call)
        phone = None
        if ticket.assignee_id is not None and ticket.assignee_id == call.agent_id:
            agent = await s.get(Agent, ticket.assignee_id)
            phone = agent.phone if agent is not None else None
        return Opened(ticket.id, ticket.assignee_id, phone, ticket.queued_at is not None)

    return await _write(ctx, work)


async def dialing(ctx: Context, info: CallInfo, agent_id: int) -> None:
    """The caller is being put through to this agent."""

    async def work(s: AsyncSession, _events: list[Event]) -> None:
        call = await _call(s, info)
        if call.agent_id is None:
            call.agent_id = agent_id
            call.updated_at = utcnow()
        await _refresh(s, call)

    await _write(ctx, work)


async def wait_for_callback(ctx: Context, info: CallInfo, reason: str) -> None:
    """Nobody can take the call now: its ticket waits in its queue (the caller is offered voicemail)."""

    async def work(s: AsyncSession, events: list[Event]) -> None:
        call = await _call(s, info)
        if call.ticket_id is not None:
            ticket = await lock_ticket(s, call.ticket_id)
            if _wait(s, ticket, reason):
                events.append(ticket_event("ticket.updated", ticket, await queue_name(s, ticket.queue_id)))
        await _refresh(s, call)

    await _write(ctx, work)


async def dial_result(ctx: Context, info: CallInfo, status: str, duration_s: int | None) -> bool:
    """The <Dial> to the agent ended (the first report counts); True when the agent answered."""

    async def work(s: AsyncSession, events: list[Event]) -> bool:
        call = await _call(s, info)
        if call.dial_status is None and status in DIAL_STATUSES:
            call.dial_status = status
            call.dial_duration_s = duration_s
            call.updated_at = utcnow()
            if status in DIAL_ANSWERED and call.ticket_id is not None:
                ticket = await lock_ticket(s, call.ticket_id)
                if ticket.first_response_at is None:
                    ticket.first_response_at = utcnow()
                    touch(ticket)
                    qname = await queue_name(s, ticket.queue_id)
                    events.append(ticket_event("ticket.updated", ticket, qname, reason="call_answered"))
        await _refresh(s, call)
        return call.dial_status in DIAL_ANSWERED

    return await _write(ctx, work)


async def status(ctx: Context, info: CallInfo, duration_s: int | None) -> None:
    """A call status callback: the status (forward only, in `info`) and, once it ended, the duration."""

    async def work(s: AsyncSession, _events: list[Event]) -> None:
        call = await _call(s, info)
        if duration_s is not None and call.duration_s is None and call.status in FINAL:
            call.duration_s = duration_s
            call.updated_at = utcnow()
        await _refresh(s, call)

    await _write(ctx, work)


async def empty_recording(ctx: Context, info: CallInfo) -> None:
    """The caller reached voicemail but left nothing: noted on the call, nothing stored as a message."""
    await record_step(ctx, info, {"kind": "voicemail", "empty": True})


def voicemail_body(recording: Recording, transcript: Transcript | None) -> str:
    length = f" ({format_duration(recording.duration_s)})" if recording.duration_s is not None else ""
    body = f"Voicemail{length}" + (f": {recording.url}" if recording.url else "")
    if transcript is not None and transcript.text:
        body += f"\n\nTranscript: {transcript.text}"
    elif transcript is not None:
        body += "\n\n(The transcription failed.)"
    return body


async def voicemail(
    ctx: Context, info: CallInfo, recording: Recording, transcript: Transcript | None = None
) -> int:
    """A voicemail (from the <Record> action, the transcription callback, or both in either order): one
    message on the call's voice ticket, which waits in its queue for a callback; what a later callback adds
    (the transcript, the length) completes the same message. Returns the message id."""

    async def work(s: AsyncSession, events: list[Event]) -> int:
        call = await _call(s, info)
        msg = (
            await s.execute(
                select(Message).where(Message.channel == CHANNEL, Message.external_id == recording.sid)
            )
        ).scalar_one_or_none()
        known: dict[str, Any] = (msg.meta or {}) if msg is not None else {}
        duration = recording.duration_s if recording.duration_s is not None else known.get("duration_s")
        if transcript is None and known.get("transcript") is not None:
            heard: Transcript | None = Transcript(str(known["transcript"]), str(known.get("transcription")))
        else:
            heard = transcript
        complete = Recording(recording.sid, str(known.get("url") or recording.url), duration)
        body = voicemail_body(complete, heard)
        meta: dict[str, Any] = {
            "from": call.from_number,
            "call_sid": call.call_sid,
            "url": complete.url,
            "duration_s": complete.duration_s,
            "transcript": heard.text if heard is not None else None,
            "transcription": heard.status if heard is not None else None,
        }
        if msg is None:
            label = _caller_label(call)
            ticket, created = await _ticket(s, call, None, f"Voicemail from {label}")
            if "voicemail" not in (ticket.tags or []):
                ticket.tags = [*(ticket.tags or []), "voicemail"]
            queued = _wait(s, ticket, "voicemail")
            msg = await add_message(
                s, ticket, body=body, author="customer", direction="in", external_id=recording.sid
            )
            msg.meta = meta
            qname = await queue_name(s, ticket.queue_id)
            if created:
                events.append(ticket_event("ticket.created", ticket, qname))
            elif queued:
                events.append(ticket_event("ticket.updated", ticket, qname))
            events.append(_quiet(message_event(ticket, msg, qname)))
        elif msg.body != body or (msg.meta or {}) != {**(msg.meta or {}), **meta}:
            msg.body = body
            msg.meta = {**(msg.meta or {}), **meta}
            ticket = await lock_ticket(s, msg.ticket_id)
            touch(ticket)
            qname = await queue_name(s, ticket.queue_id)
            events.append(
                ticket_event("ticket.updated", ticket, qname, reason="voicemail", message_id=msg.id)
            )
        if call.voicemail_message_id is None:
            call.voicemail_message_id = msg.id
        if call.recording_sid is None:
            call.recording_sid = recording.sid
        if call.recording_sid == recording.sid:
            _complete(call, complete, heard)
        await _refresh(s, call)
        return msg.id

    return await _write(ctx, work)


def _complete(call: Call, recording: Recording, transcript: Transcript | None) -> None:
    """Fill in what the call's record of its voicemail lacks (never overwrite)."""
    changed = False
    if recording.url and call.recording_url != recording.url:
        call.recording_url, changed = recording.url, True
    if recording.duration_s is not None and call.recording_duration_s is None:
        call.recording_duration_s, changed = recording.duration_s, True
    if transcript is not None and transcript.text and call.transcript != transcript.text:
        call.transcript, changed = transcript.text, True
    if changed:
        call.updated_at = utcnow()
