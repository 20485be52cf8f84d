"""Receiving a message from any channel: one transaction finds or creates the customer, threads the
message into a ticket (recording why), stores it once, with attachments and the history line.

Threading, in order: a message that names (In-Reply-To/References) any message of a ticket joins it; a
`[#N]` token in the subject joins ticket N only when the sender is already that ticket's customer; a
channel that keeps one open conversation per customer (SMS) joins the customer's open ticket there;
otherwise a new ticket.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, bindparam, case, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.actions.chat import DEFAULT_QUEUE
from app.actions.common import (
    INSERT_HISTORY,
    LOCKED_TICKET,
    LOCKED_TICKETS,
    append_message,
    history_row,
    message_event,
    save_ticket,
    ticket_event,
)
from app.actions.context import Context
from app.background import BackgroundTask, next_batch, settle
from app.bus import Event
from app.domain.models import Base, Quarantine
from app.domain.types import utcnow
from channels.base import InboundMessage

log = logging.getLogger(__name__)
TICKET_TOKEN = re.compile(r"\[#(\d{1,12})\]")
IDENTITY_KIND = {"email": "email", "sms": "phone", "voice": "phone"}
# channels where a customer has one running conversation: a new message joins their open ticket
CONVERSATIONAL = {"sms"}
# more messages than this from one sender within the hour are stored but never answered automatically
SENDER_HOURLY_LIMIT = 20
MAX_BODY = 1024 * 1024
MAX_BATCH = 64  # inbound messages in one transaction, at most


@dataclass(frozen=True)
class Received:
    ticket_id: int
    message_id: int
    duplicate: bool
    new_ticket: bool
    answerable: bool  # the bot may answer (not automated, not rate-limited)
    customer_id: int = 0
    bot_turn: bool = False  # the ticket is still the bot's and the message may be answered


_M, _T, _Q, _C, _I, _A, _QR = (
    Base.metadata.tables[name]
    for name in ("messages", "tickets", "queues", "customers", "identities", "attachments", "quarantine")
)
_DUPLICATE = select(_M.c.id, _M.c.ticket_id).where(
    _M.c.channel == bindparam("channel"), _M.c.external_id == bindparam("ext")
)
_SENDER = (
    select(_I.c.customer_id, _C.c.merged_into_id)
    .join(_C, _C.c.id == _I.c.customer_id)
    .where(_I.c.kind == bindparam("kind"), _I.c.address == bindparam("address"), _I.c.verified.is_(True))
)
_MERGED_INTO = select(_C.c.merged_into_id).where(_C.c.id == bindparam("id"))
_OPEN_CONVERSATION = (
    LOCKED_TICKETS.where(
        _T.c.customer_id == bindparam("customer_id"),
        _T.c.channel == bindparam("channel"),
        _T.c.status.in_(("new", "open", "pending")),
    )
    .order_by(_T.c.id.desc())
    .limit(1)
)
_DEFAULT_QUEUE = (
    select(_Q.c.id, _Q.c.name).order_by(case((_Q.c.name == DEFAULT_QUEUE, 0), else_=1), _Q.c.id).limit(1)
)
_RECENT = (
    select(_M.c.id)
    .select_from(_T)
    .join(_M, _M.c.ticket_id == _T.c.id)
    .where(
        _T.c.customer_id == bindparam("customer_id"),
        # `|| ''` keeps the channel out of index choice: on `channel =` alone SQLite (with no statistics
        # gathered) walked every message of the channel, a scan of the whole SMS history per text
        _M.c.channel.concat("") == bindparam("channel"),
        _M.c.direction == "in",
        _M.c.created_at >= bindparam("since"),
    )
    .limit(SENDER_HOURLY_LIMIT)
    .subquery()
)
_RECENT_FROM_SENDER = select(func.count()).select_from(_RECENT)
_ANSWERED = (
    select(_M.c.ticket_id, _M.c.external_id)
    .where(_M.c.channel == bindparam("channel"), _M.c.external_id.in_(bindparam("refs", expanding=True)))
    .limit(1)
)
# statements with every column bound: one compiled form each, cached
_INSERT_CUSTOMER = insert(_C).returning(_C.c.id)
_INSERT_IDENTITY = insert(_I)
_INSERT_TICKET = insert(_T).returning(_T.c.id)


def _customer_sync(c: Connection, msg: InboundMessage, now: datetime) -> int:
    """The sender's customer, by a verified identity on the channel (followed through merges); a new
    customer with that identity when there is none."""
    kind = IDENTITY_KIND.get(msg.channel, msg.channel)
    found = c.execute(_SENDER, {"kind": kind, "address": msg.sender}).first()
    if found is not None:
        survivor, merged_into = found
        for _ in range(100):  # a merged-away customer's messages go to the one that absorbed it
            if merged_into is None:
                return int(survivor)
            survivor = merged_into
            row = c.execute(_MERGED_INTO, {"id": survivor}).first()
            if row is None:
                break
            merged_into = row[0]
    name = msg.sender_name.strip()[:200] or msg.sender
    customer_id = c.execute(
        _INSERT_CUSTOMER, {"name": name, "merged_into_id": None, "sms_opt_out": False, "created_at": now}
    ).scalar_one()
    c.execute(
        _INSERT_IDENTITY,
        {
            "customer_id": customer_id,
            "kind": kind,
            "address": msg.sender,
            "verified": True,
            "created_at": now,
        },
    )
    return int(customer_id)


async def _customer(s: AsyncSession, msg: InboundMessage) -> int:
    """`_customer_sync` in an ORM session's transaction (phone calls find their caller this way)."""
    return await s.run_sync(lambda sync: _customer_sync(sync.connection(), msg, utcnow()))


def _thread(c: Connection, msg: InboundMessage, customer_id: int) -> tuple[dict[str, Any] | None, str]:
    """The ticket the message joins (its row, locked), and why; None: a new ticket."""
    if msg.references:
        row = c.execute(_ANSWERED, {"channel": msg.channel, "refs": list(msg.references[:50])}).first()
        if row is not None:
            ticket = c.execute(LOCKED_TICKET, {"id": row[0]}).first()
            if ticket is not None:
                return ticket._asdict(), f"answers message <{row[1]}> of this ticket"
    token = TICKET_TOKEN.search(msg.subject or "")
    if token:
        named = c.execute(LOCKED_TICKET, {"id": int(token.group(1))}).first()
        if named is not None and named.customer_id == customer_id:
            return named._asdict(), f"subject names ticket [#{named.id}] and the sender is its customer"
    if msg.channel in CONVERSATIONAL:
        open_ = c.execute(_OPEN_CONVERSATION, {"customer_id": customer_id, "channel": msg.channel}).first()
        if open_ is not None:
            return open_._asdict(), f"the customer's open {msg.channel} conversation"
    return None, "new conversation" if not token else "subject names a ticket of another customer: new ticket"


def _sender_flooding(c: Connection, customer_id: int, channel: str, now: datetime) -> bool:
    """Has this customer sent SENDER_HOURLY_LIMIT messages on this channel within the hour? Counted from
    the customer's tickets, and no further than the limit."""
    found = c.execute(
        _RECENT_FROM_SENDER,
        {"customer_id": customer_id, "channel": channel, "since": now - timedelta(hours=1)},
    ).scalar_one()
    return int(found) >= SENDER_HOURLY_LIMIT


async def receive_inbound(
    ctx: Context, msg: InboundMessage, raw: bytes | None = None, bot_inline: bool = False
) -> Received:
    """Store an inbound message once (by the channel's external id); committed when this returns.
    `bot_inline`: the caller runs the bot itself (and the bot subscriber leaves this message alone).
    While the app runs, messages arriving together share a transaction (InboundWriter)."""
    writer = ctx.inbound_writer
    if writer is not None and writer.running:
        return await writer.submit(_Pending(msg, raw, bot_inline))
    return await _receive(ctx, msg, raw, bot_inline)


async def _receive(ctx: Context, msg: InboundMessage, raw: bytes | None, bot_inline: bool) -> Received:
    """One message in a transaction of its own."""
    for attempt in range(2):
        try:
            async with ctx.db.write() as s:
                result, events = await s.run_sync(
                    lambda sync: _store(sync.connection(), msg, raw, bot_inline)
                )
            break
        except IntegrityError:
            # the same message raced in through another connection: that one stored it
            if attempt:
                raise
    await ctx.publish(events)
    return result


def _future() -> asyncio.Future[Received]:
    return asyncio.get_running_loop().create_future()


@dataclass
class _Pending:
    msg: InboundMessage
    raw: bytes | None
    bot_inline: bool
    future: asyncio.Future[Received] = field(default_factory=_future)


class InboundWriter(BackgroundTask):
    """Group commit for inbound messages (SMS and email webhooks, the SMTP listener, IMAP): what arrives
    while a transaction commits is written by the next one, many messages to it, each acknowledged only
    after that commit. Alone, a message is written at once. A batch that fails (a message raced in through
    another process) is written again one message at a time."""

    name = "inbound-writer"

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._batch: list[_Pending] = []

    async def submit(self, pending: _Pending) -> Received:
        self._queue.put_nowait(pending)
        return await pending.future

    async def _run(self) -> None:
        while True:
            batch = self._batch = await next_batch(self._queue, MAX_BATCH)
            try:
                async with self.ctx.db.write() as s:
                    results = await s.run_sync(_store_all, batch)
            except Exception:
                log.warning(
                    "a batch of %d inbound messages failed; writing each alone", len(batch), exc_info=True
                )
                for p in batch:
                    self.ctx.spawn(self._alone(p))
                continue
            await self.ctx.publish([event for _received, events in results for event in events])
            for p, (received, _events) in zip(batch, results, strict=True):
                if not p.future.done():
                    p.future.set_result(received)
            self._batch = []

    async def _alone(self, p: _Pending) -> None:
        await settle(p.future, _receive(self.ctx, p.msg, p.raw, p.bot_inline))

    async def stop(self) -> None:
        """Stop batching; what was waiting is written one by one before this returns."""
        await super().stop()
        left = [p for p in self._batch if not p.future.done()]
        while not self._queue.empty():
            left.append(self._queue.get_nowait())
        self._batch = []
        for p in left:
            await self._alone(p)


def _store_all(session: Session, batch: list[_Pending]) -> list[tuple[Received, list[Event]]]:
    c = session.connection()
    return [_store(c, p.msg, p.raw, p.bot_inline) for p in batch]


def _store(
    c: Connection, msg: InboundMessage, raw: bytes | None, bot_inline: bool
) -> tuple[Received, list[Event]]:
    """The message's rows, in the caller's transaction, and the events to publish after commit. Core
    statements only: the ORM's unit of work cost three times what the statements did."""
    dup = c.execute(_DUPLICATE, {"channel": msg.channel, "ext": msg.external_id}).first()
    if dup is not None:
        return Received(dup.ticket_id, dup.id, True, False, False), []
    now = utcnow()
    customer_id = _customer_sync(c, msg, now)
    ticket, reason = _thread(c, msg, customer_id)
    new_ticket = ticket is None
    lines: list[dict[str, Any]] = []  # history, in timeline order
    if ticket is None:
        queue = c.execute(_DEFAULT_QUEUE).first()
        if queue is None:
            queue_id = c.execute(
                insert(_Q).values(name=DEFAULT_QUEUE, created_at=now).returning(_Q.c.id)
            ).scalar_one()
            queue_name = DEFAULT_QUEUE
        else:
            queue_id, queue_name = queue.id, queue.name
        subject = " ".join((msg.subject or msg.body[:80]).split())[:300]
        ticket = {
            "customer_id": customer_id,
            "subject": subject,
            "status": "new",
            "priority": "normal",
            "queue_id": queue_id,
            "assignee_id": None,
            "channel": msg.channel,
            "tags": ["automated"] if msg.automated else [],
            "queued_at": None,
            "assigned_at": None,
            "first_response_at": None,
            "resolved_at": None,
            "first_response_due_at": None,
            "resolution_due_at": None,
            "first_response_breached_at": None,
            "resolution_breached_at": None,
            "last_seq": 0,
            "version": 0,
            "created_at": now,
            "updated_at": now,
        }
        ticket["id"] = c.execute(_INSERT_TICKET, ticket).scalar_one()
        ticket["queue_name"] = queue_name
        lines.append(
            history_row(ticket, now, "ticket.created", text=f"{msg.channel} conversation started: {subject}")
        )
    elif ticket["status"] in ("resolved", "closed") and not msg.automated:
        old = ticket["status"]
        ticket["status"] = "open" if ticket["queued_at"] is not None else "new"
        ticket["resolved_at"] = None
        ticket["version"] += 1
        text = f"reopened by the customer's {msg.channel} ({old} -> {ticket['status']})"
        lines.append(history_row(ticket, now, "status", text=text))
    flooding = _sender_flooding(c, customer_id, msg.channel, now)
    answerable = not (msg.automated or flooding)
    meta: dict[str, object] = {
        "from": msg.sender,
        "from_name": msg.sender_name,
        "subject": msg.subject,
        "to": list(msg.recipients),
        "references": list(msg.references),
        "thread_reason": reason,
    }
    if not answerable:
        meta["automated"] = msg.automated_reason or "sender over the hourly limit"
    if msg.html:
        meta["html"] = msg.html
    if msg.quoted:
        meta["quoted"] = msg.quoted[:MAX_BODY]
    if msg.media_urls:
        meta["media_urls"] = list(msg.media_urls)
    if msg.warnings:
        meta["warnings"] = list(msg.warnings)
    body = msg.body[:MAX_BODY] if msg.body.strip() else (msg.subject or "(no text)")
    stored = append_message(
        c,
        ticket,
        now,
        body=body,
        author="customer",
        direction="in",
        external_id=msg.external_id,
        meta=meta,
        channel=msg.channel,
    )
    message_id = stored.id
    save_ticket(c, ticket)
    lines.append(history_row(ticket, now, "message", message=stored))
    lines.append(history_row(ticket, now, "threading", text=reason, data={"message_id": message_id}))
    c.execute(INSERT_HISTORY, lines)
    if msg.attachments:
        c.execute(
            insert(_A),
            [
                {
                    "id": secrets.token_hex(16),
                    "message_id": message_id,
                    "ticket_id": ticket["id"],
                    "filename": part.filename,
                    "content_type": part.content_type,
                    "size": part.size,
                    "content_id": part.content_id,
                    "inline": part.inline,
                    "data": part.data,
                    "created_at": now,
                }
                for part in msg.attachments
            ],
        )
    if msg.bounce_of:
        _mark_bounced(c, msg.bounce_of, msg.channel)
    if raw is not None and msg.warnings:
        c.execute(
            insert(_QR).values(
                channel=msg.channel,
                raw=raw,
                error="; ".join(msg.warnings),
                created_at=now,
                processed_at=now,
                message_id=message_id,
            )
        )
    row = SimpleNamespace(**ticket)
    events: list[Event] = []
    if new_ticket:
        events.append(ticket_event("ticket.created", row, ticket["queue_name"]))
    event = message_event(row, stored, ticket["queue_name"], msg.sender_name or None)
    event.data["answerable"] = answerable
    event.data["bot_inline"] = bot_inline
    events.append(event)
    bot_turn = answerable and ticket["status"] == "new" and ticket["queued_at"] is None
    received = Received(ticket["id"], message_id, False, new_ticket, answerable, customer_id, bot_turn)
    return received, events


def _mark_bounced(c: Connection, original_id: str, channel: str) -> None:
    original = c.execute(
        select(_M.c.id, _M.c.meta).where(
            _M.c.channel == channel, _M.c.external_id == original_id, _M.c.direction == "out"
        )
    ).first()
    if original is not None:
        c.execute(
            update(_M)
            .where(_M.c.id == original.id)
            .values(
                status="failed", next_attempt_at=None, meta={**(original.meta or {}), "failure": "bounced"}
            )
        )


async def quarantine(ctx: Context, channel: str, raw: bytes, error: str, existing: int | None = None) -> int:
    """Keep what could not be understood; never lose it. Processed again and still failing, the same row
    keeps the new error."""
    async with ctx.db.write() as s:
        row = await s.get(Quarantine, existing) if existing is not None else None
        if row is None:
            row = Quarantine(channel=channel, raw=raw, error=error[:2000])
            s.add(row)
        else:
            row.error = error[:2000]
        await s.flush()
        return row.id


async def release(ctx: Context, quarantine_id: int, message_id: int) -> None:
    """A quarantined input was processed after all: note where it went."""
    async with ctx.db.write() as s:
        row = await s.get(Quarantine, quarantine_id)
        if row is not None:
            row.processed_at = utcnow()
            row.message_id = message_id
