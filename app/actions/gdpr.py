"""A customer's own data: all of it exported as one JSON document (the right of access), or erased (the
right to be forgotten). Both take in the customers merged into this one. Erasure keeps the shape of what
happened (tickets, message counts, times, channels: the reports stay true) and removes what identifies or
was said: names, addresses, numbers, texts, attachments, recordings, raw mails, chat sessions. Both are on
the audit log (app.http.audit) with who asked."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions import reminders
from app.actions.context import Context
from app.actions.errors import NotFound
from app.domain.models import (
    Attachment,
    Call,
    ChatSession,
    Customer,
    HistoryEntry,
    Identity,
    Message,
    Quarantine,
    Reminder,
    Ticket,
)
from app.domain.types import utcnow
from app.domain.views import customer_view, iso, message_view

ERASED = "[erased]"


async def _family(s: AsyncSession, customer_id: int) -> list[int]:
    """The customer and every customer merged into it, directly or through another."""
    if await s.get(Customer, customer_id) is None:
        raise NotFound(f"customer {customer_id} not found")
    ids, frontier = [customer_id], [customer_id]
    while frontier:
        found = (await s.execute(select(Customer.id).where(Customer.merged_into_id.in_(frontier)))).scalars()
        frontier = [i for i in found if i not in ids]
        ids += frontier
    return ids


async def export(ctx: Context, customer_id: int) -> dict[str, Any]:
    async with ctx.db.read() as s:
        ids = await _family(s, customer_id)
        customers = (
            await s.execute(select(Customer).where(Customer.id.in_(ids)).order_by(Customer.id))
        ).scalars()
        profiles = [customer_view(c) for c in customers]
        tickets = list(
            (await s.execute(select(Ticket).where(Ticket.customer_id.in_(ids)).order_by(Ticket.id))).scalars()
        )
        ticket_ids = [t.id for t in tickets]
        messages = list(
            (
                await s.execute(
                    select(Message)
                    .where(Message.ticket_id.in_(ticket_ids), Message.internal.is_(False))
                    .order_by(Message.ticket_id, Message.seq)
                )
            ).scalars()
        )
        files = (
            await s.execute(
                select(
                    Attachment.id,
                    Attachment.message_id,
                    Attachment.filename,
                    Attachment.content_type,
                    Attachment.size,
                )
                .where(Attachment.ticket_id.in_(ticket_ids))
                .order_by(Attachment.message_id)
            )
        ).all()
        timeline = (
            await s.execute(
                select(HistoryEntry)
                .where(HistoryEntry.customer_id.in_(ids))
                .order_by(HistoryEntry.at, HistoryEntry.id)
            )
        ).scalars()
        calls = (await s.execute(select(Call).where(Call.customer_id.in_(ids)).order_by(Call.id))).scalars()
        scheduled = (
            await s.execute(select(Reminder).where(Reminder.customer_id.in_(ids)).order_by(Reminder.id))
        ).scalars()
        sessions = (
            await s.execute(
                select(ChatSession).where(ChatSession.customer_id.in_(ids)).order_by(ChatSession.id)
            )
        ).scalars()
        by_ticket: dict[int, list[dict[str, Any]]] = {}
        for m in messages:
            by_ticket.setdefault(m.ticket_id, []).append(message_view(m))
        attachments: dict[int, list[dict[str, Any]]] = {}
        for fid, mid, filename, ctype, size in files:
            attachments.setdefault(mid, []).append(
                {
                    "id": fid,
                    "filename": filename,
                    "content_type": ctype,
                    "size": size,
                    "url": f"/api/attachments/{fid}",
                }
            )
        for views in by_ticket.values():
            for view in views:
                view["attachments"] = attachments.get(view["id"], [])
        return {
            "exported_at": iso(utcnow()),
            "customer": profiles[0] if profiles and profiles[0]["id"] == customer_id else None,
            "customers": profiles,
            "tickets": [
                {
                    "id": t.id,
                    "customer_id": t.customer_id,
                    "subject": t.subject,
                    "status": t.status,
                    "channel": t.channel,
                    "created_at": iso(t.created_at),
                    "messages": by_ticket.get(t.id, []),
                }
                for t in tickets
            ],
            "timeline": [
                {
                    "at": iso(h.at),
                    "kind": h.kind,
                    "channel": h.channel,
                    "direction": h.direction,
                    "ticket_id": h.ticket_id,
                    "text": h.text,
                }
                for h in timeline
            ],
            "calls": [
                {
                    "direction": c.direction,
                    "from": c.from_number,
                    "to": c.to_number,
                    "status": c.status,
                    "outcome": c.outcome,
                    "started_at": iso(c.started_at),
                    "ended_at": iso(c.ended_at),
                    "duration_s": c.duration_s,
                    "transcript": c.transcript,
                    "recording_url": c.recording_url,
                }
                for c in calls
            ],
            "chat_sessions": [
                {
                    "visitor_id": cs.visitor_id,
                    "name": cs.name,
                    "email": cs.email,
                    "created_at": iso(cs.created_at),
                }
                for cs in sessions
            ],
            "reminders": [reminders.view(r) for r in scheduled],
        }


async def erase(ctx: Context, customer_id: int) -> dict[str, int]:
    """Erase in one transaction; returns what was erased, by kind."""
    async with ctx.db.write() as s:
        ids = await _family(s, customer_id)
        ticket_ids = list((await s.execute(select(Ticket.id).where(Ticket.customer_id.in_(ids)))).scalars())
        message_ids = select(Message.id).where(Message.ticket_id.in_(ticket_ids))
        scrubbed_calls: dict[str, Any] = {
            "from_number": "",
            "transcript": None,
            "recording_url": None,
            "steps": [],
        }
        counts = {
            "customers": len(ids),
            "tickets": len(ticket_ids),
            "attachments": await _n(s, delete(Attachment).where(Attachment.ticket_id.in_(ticket_ids))),
            "raw_mails": await _n(s, delete(Quarantine).where(Quarantine.message_id.in_(message_ids))),
            "messages": await _n(
                s, update(Message).where(Message.ticket_id.in_(ticket_ids)).values(body=ERASED, meta={})
            ),
            "timeline": await _n(
                s, update(HistoryEntry).where(HistoryEntry.customer_id.in_(ids)).values(text="", data={})
            ),
            "calls": await _n(s, update(Call).where(Call.customer_id.in_(ids)).values(**scrubbed_calls)),
            "chat_sessions": await _n(s, delete(ChatSession).where(ChatSession.customer_id.in_(ids))),
            "identities": await _n(s, delete(Identity).where(Identity.customer_id.in_(ids))),
            "reminders": await _n(s, delete(Reminder).where(Reminder.customer_id.in_(ids))),
        }
        await s.execute(update(Ticket).where(Ticket.id.in_(ticket_ids)).values(subject=ERASED, tags=[]))
        for cid in ids:
            await s.execute(
                update(Customer)
                .where(Customer.id == cid)
                .values(
                    name=f"Erased customer {cid}", company="", tags=[], attributes={}, updated_at=utcnow()
                )
            )
    return counts


async def _n(s: AsyncSession, statement: Any) -> int:
    """Rows the statement touched."""
    result = await s.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)
