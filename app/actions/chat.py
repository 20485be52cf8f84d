"""Chat widget actions: a visitor says hello, a visitor sends a message.

A visitor token is 256 random bits handed to the widget once; the database keeps only its sha256. The
conversation (a chat ticket) is bound to the token: knowing a name or an email address never opens it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

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
from app.actions.errors import Invalid, NotFound
from app.bus import Event
from app.domain.models import ChatSession, Customer, Identity, Message, Queue, Ticket

DEFAULT_QUEUE = "general"
MAX_NAME = 200


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Visitor:
    session_id: int
    token: str
    ticket_id: int | None
    visitor_id: str = ""
    name: str = ""


async def hello(
    ctx: Context, token: str | None, name: str = "", email: str = "", create: bool = True
) -> Visitor | None:
    """The visitor this token belongs to, or a new visitor (with a new token) when it belongs to none
    (None instead, when `create` is false)."""
    if token:
        async with ctx.db.read() as s:
            found = (
                await s.execute(select(ChatSession).where(ChatSession.token_hash == token_hash(token)))
            ).scalar_one_or_none()
        if found is not None:
            return Visitor(found.id, token, found.ticket_id, found.visitor_id, found.name)
    if not create:
        return None
    async with ctx.db.write() as s:
        return await new_visitor(s, name, email)


def claimed_email(email: str) -> str:
    """An address typed into the widget, as kept (never used to find anybody); empty if it is none."""
    return email.strip().lower()[:320] if "@" in email else ""


async def new_visitor(
    s: AsyncSession, name: str, email: str, customer_id: int | None = None, ticket_id: int | None = None
) -> Visitor:
    """A new chat session (its token returned once, only its hash kept), added to the caller's transaction."""
    token = secrets.token_urlsafe(32)
    session = ChatSession(
        token_hash=token_hash(token),
        visitor_id=secrets.token_hex(12),
        name=name.strip()[:MAX_NAME],
        email=claimed_email(email),
        customer_id=customer_id,
        ticket_id=ticket_id,
    )
    s.add(session)
    await s.flush()
    return Visitor(session.id, token, ticket_id, session.visitor_id, session.name)


async def default_queue(s: AsyncSession) -> Queue:
    """The queue new conversations go to: `general`, else the first there is (made when there is none)."""
    queue = (await s.execute(select(Queue).where(Queue.name == DEFAULT_QUEUE))).scalar_one_or_none()
    if queue is None:
        queue = (await s.execute(select(Queue).order_by(Queue.id).limit(1))).scalar_one_or_none()
    if queue is None:
        queue = Queue(name=DEFAULT_QUEUE)
        s.add(queue)
        await s.flush()
    return queue


async def _customer_for(s: AsyncSession, session: ChatSession) -> int:
    if session.customer_id is not None:
        return session.customer_id
    customer = Customer(name=session.name or f"Visitor {session.visitor_id[:6]}")
    s.add(customer)
    await s.flush()
    s.add(Identity(customer_id=customer.id, kind="chat", address=session.visitor_id, verified=True))
    if session.email:
        # typed into the widget, not proven: kept and searchable, never used to find the customer
        s.add(Identity(customer_id=customer.id, kind="email", address=session.email, verified=False))
    session.customer_id = customer.id
    return customer.id


async def _ticket_for(
    s: AsyncSession, session: ChatSession, customer_id: int, text: str
) -> tuple[Ticket, bool]:
    """The conversation's ticket, locked; a resolved or closed one reopens (the bot answers first again)."""
    if session.ticket_id is not None:
        ticket = await lock_ticket(s, session.ticket_id)
        if ticket.status in ("resolved", "closed"):
            old = ticket.status
            ticket.status = "new"
            ticket.queued_at = None
            ticket.resolved_at = None
            touch(ticket)
            history(s, ticket, "status", text=f"reopened by the customer ({old} -> new)", data={"from": old})
        return ticket, False
    queue = await default_queue(s)
    subject = " ".join(text.split())[:80]
    ticket = Ticket(
        customer_id=customer_id, subject=subject, status="new", queue_id=queue.id, channel="chat", tags=[]
    )
    s.add(ticket)
    await s.flush()
    session.ticket_id = ticket.id
    history(s, ticket, "ticket.created", text=f"chat conversation started: {subject}")
    return ticket, True


@dataclass(frozen=True)
class Sent:
    message_id: int
    ticket_id: int
    seq: int
    duplicate: bool


async def _existing(s: AsyncSession, external_id: str) -> Message | None:
    return (
        await s.execute(select(Message).where(Message.channel == "chat", Message.external_id == external_id))
    ).scalar_one_or_none()


async def customer_message(ctx: Context, session_id: int, text: str, client_id: str) -> Sent:
    """Store a visitor's message once per client_id; committed when this returns."""
    if not text.strip():
        raise Invalid("empty message", "empty")
    if not client_id or len(client_id) > 200:
        raise Invalid("client_id must be 1 to 200 characters", "bad_client_id")
    events: list[Event] = []
    for attempt in range(2):
        try:
            async with ctx.db.write() as s:
                session = await s.get(ChatSession, session_id, with_for_update=True)
                if session is None:
                    raise NotFound("unknown visitor")
                external_id = f"{session.visitor_id}:{client_id}"
                dup = await _existing(s, external_id)
                if dup is not None:
                    return Sent(dup.id, dup.ticket_id, dup.seq, True)
                customer_id = await _customer_for(s, session)
                ticket, created = await _ticket_for(s, session, customer_id, text)
                msg = await add_message(
                    s, ticket, body=text, author="customer", direction="in", external_id=external_id
                )
                qname = await queue_name(s, ticket.queue_id)
                if created:
                    events.append(ticket_event("ticket.created", ticket, qname))
                events.append(message_event(ticket, msg, qname, session.name or None))
                sent = Sent(msg.id, ticket.id, msg.seq, False)
            break
        except IntegrityError:
            # the same client_id raced in on another connection: the other one stored it
            if attempt:
                raise
            events.clear()
    await ctx.publish(events)
    return sent


async def replay(ctx: Context, ticket_id: int, after_seq: int, upto_seq: int | None = None) -> list[Message]:
    """The conversation's public messages with after_seq < seq (<= upto_seq), oldest first."""
    async with ctx.db.read() as s:
        q = select(Message).where(
            Message.ticket_id == ticket_id, Message.seq > after_seq, Message.internal.is_(False)
        )
        if upto_seq is not None:
            q = q.where(Message.seq <= upto_seq)
        return list((await s.execute(q.order_by(Message.seq))).scalars())
