"""Threading of inbound messages at the action level, on SQLite and PostgreSQL: a sender known by a verified
identity is their customer (or the customer that customer was merged into); a conversational channel
continues the customer's open conversation; a new message after that one was resolved opens a new one."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select, update

from app.actions import inbound
from app.actions.context import Context
from app.domain.models import Customer, HistoryEntry, Identity, Message, Ticket
from channels.email.parse import parse_email
from tests.support import sms_text


@pytest.fixture
def ctx(action_ctx: Context) -> Context:
    return action_ctx


async def test_open_conversation_merged_customers_and_resolved_tickets(ctx: Context) -> None:
    first = await inbound.receive_inbound(ctx, sms_text(1, "+14155550101"))
    again = await inbound.receive_inbound(ctx, sms_text(2, "+14155550101"))
    assert again.ticket_id == first.ticket_id and again.customer_id == first.customer_id
    assert not again.new_ticket
    # an identity still naming a customer that was merged away reaches the survivor (a chain of two)
    other = await inbound.receive_inbound(ctx, sms_text(3, "+14155550102"))
    async with ctx.db.write() as s:
        middle = Customer(name="middle")
        s.add(middle)
        await s.flush()
        await s.execute(
            update(Customer).where(Customer.id == other.customer_id).values(merged_into_id=middle.id)
        )
        await s.execute(
            update(Customer).where(Customer.id == middle.id).values(merged_into_id=first.customer_id)
        )
    merged = await inbound.receive_inbound(ctx, sms_text(4, "+14155550102"))
    assert merged.customer_id == first.customer_id
    # the survivor's open SMS conversation takes it
    assert merged.ticket_id == first.ticket_id
    # resolved: the next text opens a new conversation
    async with ctx.db.write() as s:
        await s.execute(update(Ticket).where(Ticket.id == first.ticket_id).values(status="resolved"))
    later = await inbound.receive_inbound(ctx, sms_text(5, "+14155550101"))
    assert later.new_ticket and later.ticket_id != first.ticket_id
    async with ctx.db.read() as s:
        seqs = (
            (
                await s.execute(
                    select(Message.seq).where(Message.ticket_id == first.ticket_id).order_by(Message.seq)
                )
            )
            .scalars()
            .all()
        )
        meta = (
            await s.execute(select(Message.meta).where(Message.ticket_id == later.ticket_id))
        ).scalar_one()
        identities = (await s.execute(select(Identity.customer_id).where(Identity.kind == "phone"))).all()
    assert list(seqs) == [1, 2, 3]
    assert meta["from"] == "+14155550101" and meta["thread_reason"] == "new conversation"
    assert len(identities) == 2


async def test_a_flooding_sender_is_counted_from_their_own_tickets(ctx: Context) -> None:
    """Over the hourly limit, a sender's texts are stored but not answerable; other senders' texts do not
    count. On SQLite the count starts from the sender's tickets: on `channel =` the planner (with no
    statistics) walked every SMS ever received, for every text."""
    for n in range(30):  # other senders' texts, the channel's history
        await inbound.receive_inbound(ctx, sms_text(100 + n, f"+1415555{n:04d}"))
    statements: list[tuple[str, object]] = []

    def seen(_conn: object, _cursor: object, statement: str, params: object, *_: object) -> None:
        if "count(" in statement:
            statements.append((statement, params))

    event.listen(ctx.db.engine.sync_engine, "before_cursor_execute", seen)
    try:
        got = [await inbound.receive_inbound(ctx, sms_text(200 + n, "+14155559999")) for n in range(21)]
    finally:
        event.remove(ctx.db.engine.sync_engine, "before_cursor_execute", seen)
    assert [r.answerable for r in got] == [True] * inbound.SENDER_HOURLY_LIMIT + [False]
    assert len({r.ticket_id for r in got}) == 1
    if not ctx.db.is_sqlite:
        return
    statement, params = statements[-1]
    async with ctx.db.read() as s:
        conn = await s.connection()
        plan = (await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)).all()
    steps = [row[-1] for row in plan if row[-1].startswith(("SEARCH", "SCAN"))]
    assert steps[0].startswith("SEARCH tickets"), plan
    assert steps[1].startswith("SEARCH messages") and "(ticket_id=?)" in steps[1], plan


async def test_a_mail_joining_another_channels_ticket_is_stored_once_as_email(ctx: Context) -> None:
    """A mail whose subject names the sender's SMS conversation ([#N]) joins it, stored as the email it is;
    delivered again, it is found by its Message-ID and stored once."""
    sms = await inbound.receive_inbound(ctx, sms_text(1, "+14155550101"))
    async with ctx.db.write() as s:  # the same person by email (as after a merge)
        s.add(Identity(customer_id=sms.customer_id, kind="email", address="ann@example.com", verified=True))
    raw = (
        "From: Ann <ann@example.com>\r\nTo: support@example.com\r\n"
        f"Subject: more on [#{sms.ticket_id}]\r\nMessage-ID: <join-1@example.com>\r\n\r\n"
        "The photo you asked for.\r\n"
    ).encode()
    first = await inbound.receive_inbound(ctx, parse_email(raw), raw)
    again = await inbound.receive_inbound(ctx, parse_email(raw), raw)
    assert first.ticket_id == sms.ticket_id and not first.duplicate
    assert again.duplicate and again.message_id == first.message_id
    async with ctx.db.read() as s:
        rows = (
            await s.execute(select(Message.channel, Message.seq).where(Message.ticket_id == sms.ticket_id))
        ).all()
        line = (
            await s.execute(select(HistoryEntry.channel).where(HistoryEntry.message_id == first.message_id))
        ).scalar_one()
    assert sorted(rows, key=lambda r: r.seq) == [("sms", 1), ("email", 2)]
    assert line == "email"  # on the customer's timeline too
