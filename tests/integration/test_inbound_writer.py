"""Group commit of inbound messages (app.actions.inbound.InboundWriter), on SQLite and PostgreSQL: texts that
arrive together share transactions and are each stored once, in order; a batch that fails is written again
one message at a time; what waits when the writer stops is still written."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from app.actions import inbound
from app.actions.context import Context
from app.domain.models import Message
from channels.base import InboundMessage
from tests.support import sms_text


@pytest.fixture
async def ctx(action_ctx: Context) -> AsyncIterator[Context]:
    writer = action_ctx.inbound_writer = inbound.InboundWriter(action_ctx)
    writer.start()
    yield action_ctx
    await writer.stop()


def _burst() -> list[InboundMessage]:
    """Eight texts from each of five senders, and a redelivery of every fourth."""
    texts = [sms_text(n, f"+1415555{n % 5:04d}", f"text {n} from {n % 5}") for n in range(40)]
    return texts + [texts[n] for n in range(0, 40, 4)]


async def _stored(ctx: Context) -> list[tuple[int, int, str]]:
    async with ctx.db.read() as s:
        rows = await s.execute(select(Message.ticket_id, Message.seq, Message.body).order_by(Message.id))
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_texts_arriving_together_share_transactions_and_are_stored_once_in_order(ctx: Context) -> None:
    commits = 0

    def committed(_conn: Any) -> None:
        nonlocal commits
        commits += 1

    event.listen(ctx.db.engine.sync_engine, "commit", committed)
    try:
        got = await asyncio.gather(*(inbound.receive_inbound(ctx, m, bot_inline=True) for m in _burst()))
    finally:
        event.remove(ctx.db.engine.sync_engine, "commit", committed)
    first, again = got[:40], got[40:]
    assert not any(r.duplicate for r in first) and all(r.duplicate for r in again)
    assert [r.message_id for r in again] == [first[n].message_id for n in range(0, 40, 4)]
    assert commits < 20, f"{commits} transactions for 50 messages: no group commit"
    stored = await _stored(ctx)
    assert len(stored) == 40
    # each sender's texts in one ticket, numbered 1..8 in the order they arrived
    by_ticket: dict[int, list[tuple[int, str]]] = {}
    for ticket_id, seq, body in stored:
        by_ticket.setdefault(ticket_id, []).append((seq, body))
    assert len(by_ticket) == 5
    for rows in by_ticket.values():
        assert [seq for seq, _ in rows] == list(range(1, 9))
        sender = rows[0][1].rsplit(" ", 1)[1]
        assert [body for _, body in rows] == [f"text {n} from {sender}" for n in range(int(sender), 40, 5)]
    assert len({r.ticket_id for r in first[:5]}) == 5 and all(r.new_ticket for r in first[:5])


async def test_a_failing_batch_is_written_again_one_message_at_a_time(
    ctx: Context, caplog: pytest.LogCaptureFixture
) -> None:
    """As when the same text raced in through another process: the whole batch rolls back, then each
    message goes alone (and the raced one finds itself stored, or stores itself)."""
    failed: list[str] = []

    def race(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.startswith("INSERT INTO messages") and not failed:
            values = params.values() if isinstance(params, dict) else params
            if any(v == "SM" + "9" * 32 for v in values):
                failed.append(statement)
                raise IntegrityError(statement, params, Exception("raced"))

    texts = [sms_text(n, f"+1415555{n % 3:04d}", f"text {n}") for n in range(11)]
    texts.append(sms_text(int("9" * 32), "+14155550000", "the raced one"))
    event.listen(ctx.db.engine.sync_engine, "before_cursor_execute", race)
    try:
        with caplog.at_level(logging.WARNING, logger="app.actions.inbound"):
            got = await asyncio.gather(*(inbound.receive_inbound(ctx, m) for m in texts))
    finally:
        event.remove(ctx.db.engine.sync_engine, "before_cursor_execute", race)
    assert failed and "writing each alone" in caplog.text
    assert not any(r.duplicate for r in got)
    stored = await _stored(ctx)
    assert sorted(body for _t, _s, body in stored) == sorted(m.body for m in texts)
    async with ctx.db.read() as s:
        distinct = await s.scalar(select(func.count(func.distinct(Message.external_id))))
    assert distinct == 12


async def test_what_waits_when_the_writer_stops_is_still_written(ctx: Context) -> None:
    writer = ctx.inbound_writer
    assert writer is not None
    texts = [sms_text(n, f"+1415555{n % 4:04d}", f"text {n}") for n in range(30)]
    tasks = [asyncio.create_task(inbound.receive_inbound(ctx, m)) for m in texts]
    for _ in range(3):
        await asyncio.sleep(0)
    await writer.stop()
    got = await asyncio.wait_for(asyncio.gather(*tasks), 30)
    assert len({r.message_id for r in got}) == 30
    assert len(await _stored(ctx)) == 30
