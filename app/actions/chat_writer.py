"""Group commit for chat: the customer messages of running conversations are written by one task, many
to a transaction, with one statement per kind of row for the whole batch.

A message waits only while the previous batch commits, so under load batches grow and the cost per
message falls; alone, a message is written at once. Each message is still acked only after its batch
commits, and stored once per client_id (within a batch too). New conversations, reopened tickets and
anything unusual take the ordinary path (app.actions.chat.customer_message).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from app.actions.chat import Sent, customer_message
from app.actions.common import LOCKED_TICKETS, StoredMessage, message_event
from app.actions.context import Context
from app.actions.errors import Invalid
from app.background import BackgroundTask, next_batch, settle
from app.bus import Event
from app.db.bulk import Many
from app.domain.models import Base
from app.domain.types import utcnow

log = logging.getLogger(__name__)
MAX_BATCH = 256


@dataclass(frozen=True)
class Author:
    """The visitor behind a socket, as far as the writer needs it."""

    session_id: int
    visitor_id: str
    name: str


@dataclass
class _Pending:
    author: Author
    ticket_id: int
    text: str
    client_id: str
    future: asyncio.Future[Sent]


# what a batch came to: the messages done (with their Sent), those for the ordinary path, the events
Written = tuple[list[tuple[_Pending, Sent]], list[_Pending], list[Event]]


class ChatWriter(BackgroundTask):
    name = "chat-writer"

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()

    async def submit(self, author: Author, ticket_id: int | None, text: str, client_id: str) -> Sent:
        """Store the message (once per client_id); committed when this returns."""
        if not text.strip():
            raise Invalid("empty message", "empty")
        if not client_id or len(client_id) > 200:
            raise Invalid("client_id must be 1 to 200 characters", "bad_client_id")
        if ticket_id is None or not self.running:
            return await customer_message(self.ctx, author.session_id, text, client_id)
        future: asyncio.Future[Sent] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(author, ticket_id, text, client_id, future))
        return await future

    async def _run(self) -> None:
        while True:
            batch = await next_batch(self._queue, MAX_BATCH)
            try:
                slow = await self._commit(batch)
            except Exception:
                log.warning(
                    "a batch of %d chat messages failed; writing them one by one", len(batch), exc_info=True
                )
                slow = [p for p in batch if not p.future.done()]
            for p in slow:
                self.ctx.spawn(
                    settle(p.future, customer_message(self.ctx, p.author.session_id, p.text, p.client_id))
                )

    async def _commit(self, batch: list[_Pending]) -> list[_Pending]:
        """Write the batch in one transaction (one synchronous function, `_write`, through the session's
        `run_sync`); returns what must take the ordinary path."""
        async with self.ctx.db.write() as s:
            done, slow, events = await s.run_sync(lambda sync: _write(sync.connection(), batch))
        await self.ctx.publish(events)
        for p, sent in done:
            if not p.future.done():
                p.future.set_result(sent)
        return slow


_M, _T, _H = (Base.metadata.tables[name] for name in ("messages", "tickets", "history"))
_DEDUPE = select(_M.c.external_id, _M.c.id, _M.c.ticket_id, _M.c.seq).where(
    _M.c.channel == "chat", _M.c.external_id.in_(bindparam("ext", expanding=True))
)
_LOCK_TICKETS = LOCKED_TICKETS.where(_T.c.id.in_(bindparam("ids", expanding=True))).order_by(_T.c.id)
_BUMP_TICKET = Many(
    update(_T)
    .where(_T.c.id == bindparam("tid"))
    .values(last_seq=bindparam("last_seq"), version=bindparam("version"), updated_at=bindparam("at")),
    shared=("at",),
    per_row=("tid", "last_seq", "version"),
)
_MESSAGE = {
    "author": "customer",
    "direction": "in",
    "internal": False,
    "channel": "chat",
    "meta": {},
    "attempts": 0,
}
_INSERT_MESSAGES = Many(
    insert(_M), shared=(*_MESSAGE, "created_at"), per_row=("ticket_id", "seq", "body", "external_id")
)
_HISTORY = {
    "kind": "message",
    "channel": "chat",
    "direction": "in",
    "author": "customer",
    "text": "",
    "data": {},
}
_INSERT_HISTORY = Many(
    insert(_H), shared=(*_HISTORY, "at"), per_row=("customer_id", "ticket_id", "message_id")
)


def _write(c: Connection, batch: list[_Pending]) -> Written:
    """The batch's rows, in the caller's transaction: what is done (with its Sent), what must take the
    ordinary path, and the events to publish after commit. Core statements only: at 1,000 messages a
    second the ORM's unit of work cost more than SQLite itself (4.5 ms of CPU for a batch of 7)."""
    slow: list[_Pending] = []
    done: list[tuple[_Pending, Sent]] = []
    now = utcnow()
    ext = [f"{p.author.visitor_id}:{p.client_id}" for p in batch]
    stored = {
        e: Sent(mid, tid, seq, True) for e, mid, tid, seq in c.execute(_DEDUPE, {"ext": sorted(set(ext))})
    }
    locked = c.execute(_LOCK_TICKETS, {"ids": sorted({p.ticket_id for p in batch})})
    keys = list(locked.keys())  # a dict per row by hand: Row._asdict() cost 15 µs a row, more than the read
    tickets = {row.id: dict(zip(keys, row, strict=True)) for row in locked}
    fresh: list[tuple[_Pending, str, dict[str, Any], int, int]] = []  # with the ticket's seq and version
    repeats: list[tuple[_Pending, str]] = []
    in_batch: set[str] = set()
    for p, e in zip(batch, ext, strict=True):
        if e in stored:
            done.append((p, stored[e]))
            continue
        if e in in_batch:
            repeats.append((p, e))
            continue
        ticket = tickets.get(p.ticket_id)
        if ticket is None or ticket["status"] in ("resolved", "closed"):
            slow.append(p)
            continue
        in_batch.add(e)
        ticket["last_seq"] += 1
        ticket["version"] += 1
        ticket["updated_at"] = now
        fresh.append((p, e, ticket, ticket["last_seq"], ticket["version"]))
    if not fresh:
        return done, slow, []
    changed = {t["id"]: t for _p, _e, t, _s, _v in fresh}
    _BUMP_TICKET(c, {"at": now}, [(t["id"], t["last_seq"], t["version"]) for t in changed.values()])
    _INSERT_MESSAGES(
        c, {**_MESSAGE, "created_at": now}, [(t["id"], seq, p.text, e) for p, e, t, seq, _v in fresh]
    )
    # the new ids, through the (channel, external_id) index (an INSERT ... RETURNING that must keep the
    # rows' order runs one row at a time on SQLite)
    new_ids = {e: mid for e, mid, _t, _s in c.execute(_DEDUPE, {"ext": [e for _p, e, _t, _s, _v in fresh]})}
    ids = [new_ids[e] for _p, e, _t, _s, _v in fresh]
    _INSERT_HISTORY(
        c,
        {**_HISTORY, "at": now},
        [(t["customer_id"], t["id"], mid) for (_p, _e, t, _s, _v), mid in zip(fresh, ids, strict=True)],
    )
    events: list[Event] = []
    by_ext: dict[str, Sent] = {}
    for (p, e, t, seq, version), mid in zip(fresh, ids, strict=True):
        msg = StoredMessage(mid, t["id"], seq, p.text, now, "chat")
        # each message's event carries the ticket as it was after that message
        row = SimpleNamespace(**{**t, "version": version})
        events.append(message_event(row, msg, t["queue_name"], p.author.name or None))
        by_ext[e] = Sent(mid, t["id"], seq, False)
        done.append((p, by_ext[e]))
    for p, e in repeats:
        first = by_ext.get(e)
        if first is None:  # its first copy takes the ordinary path: so does this one
            slow.append(p)
        else:
            done.append((p, Sent(first.message_id, first.ticket_id, first.seq, True)))
    return done, slow, events
