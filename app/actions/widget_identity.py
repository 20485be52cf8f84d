"""Visitors the embedding site vouches for: the site signs its own user id with a secret it shares with us
(`SWITCHBOARD_WIDGET_SECRET`): `user_hash` = hex HMAC-SHA256 of `user_id`, as Intercom and Chatwoot do.
A visitor with a valid signature is that user on every device: one customer (identity kind "user"), whose
open chat conversation follows them. Without one, a visitor is anonymous, known only by their visitor
token; a name or an email address typed into the widget never unlocks anybody's conversation."""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions.chat import MAX_NAME, Visitor, claimed_email, new_visitor, token_hash
from app.actions.context import Context
from app.domain.models import ChatSession, Customer, Identity, Ticket

KIND = "user"
MAX_USER_ID = 200


def sign(secret: str, user_id: str) -> str:
    """What the embedding site computes on its server (shown in the README for sites to copy)."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def verified(secret: str, user_id: str, user_hash: str) -> bool:
    if not secret or not user_id or len(user_id) > MAX_USER_ID:
        return False
    return hmac.compare_digest(sign(secret, user_id), user_hash.strip().lower())


async def hello_as_user(
    ctx: Context, token: str | None, user_id: str, name: str = "", email: str = ""
) -> Visitor:
    """The verified user's visitor: the session of this token if it is theirs (or nobody's yet), else a
    new session on their open chat conversation, if they have one."""
    for attempt in range(2):
        try:
            async with ctx.db.write() as s:
                customer_id = await _customer(s, user_id, name, email)
                open_ticket = (
                    await s.execute(
                        select(Ticket.id)
                        .where(
                            Ticket.customer_id == customer_id,
                            Ticket.channel == "chat",
                            Ticket.status.not_in(("resolved", "closed")),
                        )
                        .order_by(Ticket.id.desc())
                        .limit(1)
                    )
                ).scalar()
                session = await _their_session(s, token, customer_id)
                if session is not None and token:
                    if session.ticket_id is None:  # the user started a conversation on another device since
                        session.ticket_id = open_ticket
                    return Visitor(session.id, token, session.ticket_id, session.visitor_id, session.name)
                return await new_visitor(s, name, email, customer_id, open_ticket)
        except IntegrityError:
            if attempt:  # the same user's first hello raced in on another connection: it made the customer
                raise
    raise AssertionError("unreachable")


async def _customer(s: AsyncSession, user_id: str, name: str, email: str) -> int:
    found = (
        await s.execute(
            select(Identity.customer_id).where(
                Identity.kind == KIND, Identity.address == user_id, Identity.verified.is_(True)
            )
        )
    ).scalar()
    if found is not None:
        return int(found)
    customer = Customer(name=name.strip()[:MAX_NAME] or f"User {user_id[:40]}")
    s.add(customer)
    await s.flush()
    s.add(Identity(customer_id=customer.id, kind=KIND, address=user_id, verified=True))
    address = claimed_email(email)
    if address:  # only the id is signed: the address is kept as claimed, never used to find anybody
        s.add(Identity(customer_id=customer.id, kind="email", address=address, verified=False))
    await s.flush()
    return customer.id


async def _their_session(s: AsyncSession, token: str | None, customer_id: int) -> ChatSession | None:
    if not token:
        return None
    session = (
        await s.execute(
            select(ChatSession).where(ChatSession.token_hash == token_hash(token)).with_for_update()
        )
    ).scalar_one_or_none()
    if session is None or session.customer_id not in (None, customer_id):
        return None  # another customer's (an anonymous one, or another user's): never theirs
    session.customer_id = customer_id
    return session
