"""Receiving a message from any channel: one transaction finds or creates the customer, threads the
message into a ticket (recording why), stores it once, with attachments and the history line.

Threading, in order: a message that names (In-Reply-To/References) any message of a ticket joins it; a
`[#N]` token in the subject joins ticket N only when the sender is already that ticket's customer; a
channel that keeps one open conversation per customer (SMS) joins the customer's open ticket there;
otherwise a new ticket.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions.chat import _default_queue
from app.actions.common import (
    add_message,
    history,
    lock_ticket,
    message_event,
    queue_name,
    ticket_event,
    touch,
)
from app.actions.context import Context
from app.bus import Event
from app.domain.models import Attachment, Customer, Identity, Message, Quarantine, Ticket
from app.domain.types import utcnow
from channels.base import InboundMessage

TICKET_TOKEN = re.compile(r"\[#(\d{1,12})\]")
IDENTITY_KIND = {"email": "email", "sms": "phone", "voice": "phone"}
# channels where a customer has one running conversation: a new message joins their open ticket
CONVERSATIONAL = {"sms"}
# more messages than this from one sender within the hour are stored but never answered automatically
SENDER_HOURLY_LIMIT = 20
MAX_BODY = 1024 * 1024
ORIGINAL = "original"  # content_id of the attachment that holds a message's raw original


@dataclass(frozen=True)
class Received:
    ticket_id: int
    message_id: int
    duplicate: bool
    new_ticket: bool
    answerable: bool  # the bot may answer (not automated, not rate-limited)
    customer_id: int = 0
    bot_turn: bool = False  # the ticket is still the bot's and the message may be answered


async def _customer(s: AsyncSession, msg: InboundMessage) -> int:
    kind = IDENTITY_KIND.get(msg.channel, msg.channel)
    found = (
        await s.execute(
            select(Identity.customer_id).where(
                Identity.kind == kind, Identity.address == msg.sender, Identity.verified.is_(True)
            )
        )
    ).scalar_one_or_none()
    survivor = found
    while survivor is not None:  # a merged-away customer's messages go to the one that absorbed it
        merged = (await s.execute(select(Customer.merged_into_id).where(Customer.id == survivor))).first()
        if merged is None:
            break
        if merged.merged_into_id is None:
            return survivor
        survivor = merged.merged_into_id
    customer = Customer(name=msg.sender_name.strip()[:200] or msg.sender)
    s.add(customer)
    await s.flush()
    s.add(Identity(customer_id=customer.id, kind=kind, address=msg.sender, verified=True))
    return customer.id


async def _thread(s: AsyncSession, msg: InboundMessage, customer_id: int) -> tuple[Ticket | None, str]:
    if msg.references:
        row = (
            await s.execute(
                select(Message.ticket_id, Message.external_id)
                .where(Message.channel == msg.channel, Message.external_id.in_(msg.references[:50]))
                .limit(1)
            )
        ).first()
        if row is not None:
            return await lock_ticket(s, row[0]), f"answers message <{row[1]}> of this ticket"
    token = TICKET_TOKEN.search(msg.subject or "")
    if token:
        ticket = await s.get(Ticket, int(token.group(1)))
        if ticket is not None and ticket.customer_id == customer_id:
            return await lock_ticket(
                s, ticket.id
            ), f"subject names ticket [#{ticket.id}] and the sender is its customer"
    if msg.channel in CONVERSATIONAL:
        conversation = (
            await s.execute(
                select(Ticket)
                .where(
                    Ticket.customer_id == customer_id,
                    Ticket.channel == msg.channel,
                    Ticket.status.in_(("new", "open", "pending")),
                )
                .order_by(Ticket.id.desc())
                .limit(1)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).scalar_one_or_none()
        if conversation is not None:
            return conversation, f"the customer's open {msg.channel} conversation"
    return None, "new conversation" if not token else "subject names a ticket of another customer: new ticket"


async def _sender_flooding(s: AsyncSession, customer_id: int, channel: str) -> bool:
    since = utcnow() - timedelta(hours=1)
    n = (
        await s.execute(
            select(func.count())
            .select_from(Message)
            .join(Ticket, Ticket.id == Message.ticket_id)
            .where(
                Ticket.customer_id == customer_id,
                Message.channel == channel,
                Message.direction == "in",
                Message.created_at >= since,
            )
        )
    ).scalar_one()
    return n >= SENDER_HOURLY_LIMIT


async def receive_inbound(
    ctx: Context, msg: InboundMessage, raw: bytes | None = None, bot_inline: bool = False
) -> Received:
    """Store an inbound message once (by the channel's external id); committed when this returns.
    `bot_inline`: the caller runs the bot itself (and the bot subscriber leaves this message alone)."""
    events: list[Event] = []
    for attempt in range(2):
        try:
            async with ctx.db.write() as s:
                dup = (
                    await s.execute(
                        select(Message).where(
                            Message.channel == msg.channel, Message.external_id == msg.external_id
                        )
                    )
                ).scalar_one_or_none()
                if dup is not None:
                    return Received(dup.ticket_id, dup.id, True, False, False)
                result = await _store(s, msg, raw, events, bot_inline)
            break
        except IntegrityError:
            # the same message raced in through another connection: that one stored it
            if attempt:
                raise
            events.clear()
    await ctx.publish(events)
    return result


async def _store(
    s: AsyncSession, msg: InboundMessage, raw: bytes | None, events: list[Event], bot_inline: bool
) -> Received:
    customer_id = await _customer(s, msg)
    ticket, reason = await _thread(s, msg, customer_id)
    new_ticket = ticket is None
    if ticket is None:
        queue = await _default_queue(s)
        subject = " ".join((msg.subject or msg.body[:80]).split())[:300]
        ticket = Ticket(
            customer_id=customer_id,
            subject=subject,
            status="new",
            queue_id=queue.id,
            channel=msg.channel,
            tags=["automated"] if msg.automated else [],
        )
        s.add(ticket)
        await s.flush()
        history(s, ticket, "ticket.created", text=f"{msg.channel} conversation started: {subject}")
    elif ticket.status in ("resolved", "closed") and not msg.automated:
        old = ticket.status
        ticket.status = "open" if ticket.queued_at is not None else "new"
        ticket.resolved_at = None
        touch(ticket)
        history(
            s, ticket, "status", text=f"reopened by the customer's {msg.channel} ({old} -> {ticket.status})"
        )
    flooding = await _sender_flooding(s, customer_id, msg.channel)
    meta: dict[str, object] = {
        "from": msg.sender,
        "from_name": msg.sender_name,
        "subject": msg.subject,
        "to": list(msg.recipients),
        "references": list(msg.references),
        "thread_reason": reason,
    }
    if msg.automated or flooding:
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
    message = await add_message(
        s, ticket, body=body, author="customer", direction="in", external_id=msg.external_id, meta=meta
    )
    for part in msg.attachments:
        s.add(
            Attachment(
                id=secrets.token_hex(16),
                message_id=message.id,
                ticket_id=ticket.id,
                filename=part.filename,
                content_type=part.content_type,
                size=part.size,
                content_id=part.content_id,
                inline=part.inline,
                data=part.data,
            )
        )
    history(s, ticket, "threading", text=reason, data={"message_id": message.id})
    if msg.bounce_of:
        await _mark_bounced(s, msg.bounce_of, msg.channel)
    qname = await queue_name(s, ticket.queue_id)
    if new_ticket:
        events.append(ticket_event("ticket.created", ticket, qname))
    event = message_event(ticket, message, qname, msg.sender_name or None)
    event.data["answerable"] = not (msg.automated or flooding)
    event.data["bot_inline"] = bot_inline
    events.append(event)
    if raw is not None and msg.warnings:
        s.add(
            Quarantine(
                channel=msg.channel,
                raw=raw,
                error="; ".join(msg.warnings),
                processed_at=utcnow(),
                message_id=message.id,
            )
        )
    answerable = not (msg.automated or flooding)
    bot_turn = answerable and ticket.status == "new" and ticket.queued_at is None
    return Received(ticket.id, message.id, False, new_ticket, answerable, customer_id, bot_turn)


async def _mark_bounced(s: AsyncSession, original_id: str, channel: str) -> None:
    original = (
        await s.execute(
            select(Message).where(
                Message.channel == channel, Message.external_id == original_id, Message.direction == "out"
            )
        )
    ).scalar_one_or_none()
    if original is not None:
        original.status = "failed"
        original.next_attempt_at = None
        original.meta = {**(original.meta or {}), "failure": "bounced"}


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
