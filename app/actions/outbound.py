"""Outbound delivery state: a reply on a non-chat channel is stored `queued` with everything the channel
needs to send it (recipient, subject, threading ids), then delivered by app.delivery; each try is recorded.

Retries back off (30 s, 2 min, 10 min, 30 min, then hourly) for about a day before the message is
marked failed. A worker claims a message by pushing its next try past the lease first, so two processes
never send it at the same time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import make_msgid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions.context import Context
from app.domain.models import Customer, Identity, Message, Ticket
from app.domain.types import utcnow
from channels.base import OutboundMessage

__all__ = ["OutboundMessage", "claim_due", "next_due", "prepare", "record", "to_outbound"]

BACKOFF_S = (30, 120, 600, 1800, 3600)
MAX_ATTEMPTS = 28  # about a day
LEASE_S = 120
MAX_REFERENCES = 20


def retry_delay(attempts: int) -> float:
    return float(BACKOFF_S[min(attempts - 1, len(BACKOFF_S) - 1)])


async def prepare(
    s: AsyncSession, ticket: Ticket, msg: Message, support_address: str, automated: bool
) -> None:
    """Fill in what the channel needs to deliver this message and queue it for now."""
    meta: dict[str, Any] = {"automated": automated} if automated else {}
    last_in = (
        await s.execute(
            select(Message)
            .where(Message.ticket_id == ticket.id, Message.direction == "in")
            .order_by(Message.seq.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    last_meta = (last_in.meta or {}) if last_in is not None else {}
    meta["to"] = last_meta.get("from") or await _customer_address(s, ticket)
    if ticket.channel == "email":
        domain = support_address.rpartition("@")[2] or "switchboard.invalid"
        own_id = make_msgid(domain=domain).strip("<>")
        msg.external_id = own_id
        subject = last_meta.get("subject") or ticket.subject or "Your request"
        if last_in is not None and not subject.lower().startswith("re:"):  # not on a message of our own
            subject = f"Re: {subject}"
        if f"[#{ticket.id}]" not in subject:
            subject = f"{subject} [#{ticket.id}]"
        meta["subject"] = subject
        if last_in is not None and last_in.external_id and not last_in.external_id.startswith("sha256:"):
            meta["in_reply_to"] = last_in.external_id
            chain = [*reversed(last_meta.get("references") or []), last_in.external_id]
            meta["references"] = chain[-MAX_REFERENCES:]
    msg.meta = meta
    if ticket.channel == "sms":
        customer = await s.get(Customer, ticket.customer_id)
        if customer is not None and customer.sms_opt_out:
            msg.status = "failed"
            msg.meta = {**meta, "last_error": "the customer opted out of SMS (STOP); nothing was sent"}
            return
    msg.status = "queued"
    msg.next_attempt_at = utcnow()


async def _customer_address(s: AsyncSession, ticket: Ticket) -> str:
    kind = "email" if ticket.channel == "email" else "phone"
    customer = await s.get(Customer, ticket.customer_id)
    if customer is None:
        return ""
    rows = await s.execute(
        select(Identity.address)
        .where(Identity.customer_id == customer.id, Identity.kind == kind)
        .order_by(Identity.verified.desc(), Identity.id)
        .limit(1)
    )
    return rows.scalar_one_or_none() or ""


def to_outbound(msg: Message, ticket: Ticket) -> OutboundMessage:
    meta = msg.meta or {}
    return OutboundMessage(
        channel=msg.channel,
        to=str(meta.get("to") or ""),
        body=msg.body,
        ticket_id=ticket.id,
        message_id=msg.id,
        subject=str(meta.get("subject") or ticket.subject),
        email_message_id=msg.external_id or "",
        in_reply_to=str(meta.get("in_reply_to") or ""),
        references=tuple(meta.get("references") or ()),
        automated=bool(meta.get("automated")),
    )


async def claim_due(ctx: Context, channels: set[str], limit: int = 20) -> list[tuple[Message, Ticket]]:
    """Messages whose try is due, each leased to this worker."""
    now = utcnow()
    claimed: list[tuple[Message, Ticket]] = []
    async with ctx.db.write() as s:
        rows = (
            await s.execute(
                select(Message, Ticket)
                .join(Ticket, Ticket.id == Message.ticket_id)
                .where(
                    Message.status == "queued",
                    Message.next_attempt_at <= now,
                    Message.channel.in_(sorted(channels)),
                )
                .order_by(Message.next_attempt_at, Message.id)
                .limit(limit)
                .with_for_update(skip_locked=True, of=Message)
            )
        ).all()
        for msg, ticket in rows:
            msg.next_attempt_at = now + timedelta(seconds=LEASE_S)
            msg.attempts += 1
            claimed.append((msg, ticket))
    return claimed


async def record(
    ctx: Context, message_id: int, *, provider_id: str | None, error: str | None
) -> tuple[str, int]:
    """The outcome of one try: sent, or queued again later, or failed for good. Returns (status, ticket)."""
    async with ctx.db.write() as s:
        msg = await s.get(Message, message_id, with_for_update=True)
        assert msg is not None
        meta = dict(msg.meta or {})
        if error is None:
            msg.status = "sent"
            msg.next_attempt_at = None
            if provider_id and msg.channel != "email":
                msg.external_id = provider_id
            meta.pop("last_error", None)
            meta["sent_at"] = utcnow().isoformat()
        elif msg.attempts >= MAX_ATTEMPTS or error.startswith("permanent:"):
            msg.status = "failed"
            msg.next_attempt_at = None
            meta["last_error"] = error
        else:
            msg.next_attempt_at = utcnow() + timedelta(seconds=retry_delay(msg.attempts))
            meta["last_error"] = error
        msg.meta = meta
        return msg.status or "", msg.ticket_id


async def next_due(ctx: Context, channels: set[str]) -> datetime | None:
    async with ctx.db.read() as s:
        return (
            await s.execute(
                select(Message.next_attempt_at)
                .where(Message.status == "queued", Message.channel.in_(sorted(channels)))
                .order_by(Message.next_attempt_at)
                .limit(1)
            )
        ).scalar_one_or_none()


STATUS_RANK = {
    "queued": 0,
    "accepted": 0,
    "scheduled": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "read": 3,
    "undelivered": 3,
    "failed": 3,
}


async def delivery_report(ctx: Context, channel: str, provider_id: str, status: str, error: str = "") -> bool:
    """A provider's delivery report: the message's state moves forward only (queued -> sent ->
    delivered, or failed/undelivered); a late or repeated report changes nothing."""
    status = status.strip().lower()
    if status not in STATUS_RANK:
        return False
    async with ctx.db.write() as s:
        msg = (
            await s.execute(
                select(Message)
                .where(
                    Message.channel == channel, Message.external_id == provider_id, Message.direction == "out"
                )
                .with_for_update()
            )
        ).scalar_one_or_none()
        if msg is None:
            return False
        current = STATUS_RANK.get(msg.status or "queued", 0)
        if STATUS_RANK[status] <= current:
            return False
        msg.status = "failed" if status == "undelivered" else status
        if status in ("failed", "undelivered"):
            msg.meta = {**(msg.meta or {}), "last_error": f"{status} {error}".strip()}
        return True
