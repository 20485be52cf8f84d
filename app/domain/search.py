"""Full-text search: customers by name, company and address; tickets by subject and by the text of their
messages (internal notes included), only those the caller may see.

The indexes are the database's own (migration 0012): FTS5 tables kept current by triggers on SQLite,
tsvectors with GIN indexes on PostgreSQL ('simple': names are not stemmed away), accents folded on both.
A query is never handed to either as query syntax: it is cut into words (letters and digits), and each
word goes in quoted (FTS5) or as a plain lexeme (tsquery), so quotes, NEAR, `*`, `-`, `:` or `&` typed by
someone are only text. Every word must match; the last one as typed may be the start of a longer word
(`lindq` finds Lindqvist); a query with an `@` matches its words in order (greta@lind.example).

Results are newest first (customers by id, tickets by their newest match), which needs only the newest
matching rows, however many there are; ranking a common word by relevance would read every match.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, Row, Select, column, func, literal_column, select, table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.domain.models import Customer, Message, Queue, Ticket
from app.domain.views import ticket_view

MAX_QUERY = 200  # characters of a query that are read
MAX_WORDS = 8
MAX_LIMIT = 100
MIN_PREFIX = 2  # a last word shorter than this is matched whole: a one-letter prefix matches nearly all
PAGE = 200  # matching messages read at a time, newest first, until enough tickets
WINDOW = 50  # PostgreSQL: the newest `page` x WINDOW rows are looked at first (see _newest)
MAX_PAGES = 10
SNIPPET = 160  # characters of a snippet

_WORD = re.compile(r"[^\W_]+")
_PHONE = re.compile(r"[\d\s()+\-./]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def include_name(name: str | None, type_: str, _parents: Any) -> bool:
    """For alembic's comparison of the database with the models (`include_name`): the search index's
    objects (FTS5 tables and their shadow tables, generated tsvector columns, GIN indexes, all named
    search_*) are made by raw SQL in migration 0012 and are not the models' business."""
    return not (type_ in ("table", "column", "index") and (name or "").startswith("search_"))


@dataclass(frozen=True)
class Terms:
    """What a query asks for: words that must all match, the last maybe as the start of a word, and
    whether in this order (an address)."""

    words: tuple[str, ...]
    prefix: bool
    phrase: bool


def clean(q: str) -> str:
    """The query as read: no NUL or other control characters (PostgreSQL text holds no NUL), composed
    (NFKC), at most MAX_QUERY characters."""
    return unicodedata.normalize("NFKC", _CONTROL.sub(" ", q))[:MAX_QUERY].strip()


def parse(q: str, *, phone: bool = False) -> Terms | None:
    """The words of a query (None: nothing to look for). `phone`: a query of digits and the signs phone
    numbers are written with is one number (`+46 70 12` is the start of +4670 12...)."""
    q = clean(q)
    if phone and _PHONE.fullmatch(q):
        digits = re.sub(r"\D", "", q)
        if digits.startswith("00"):  # 0046...: the international prefix written out
            digits = digits[2:]
        if digits:
            return Terms((digits,), prefix=len(digits) >= MIN_PREFIX, phrase=False)
    words = _WORD.findall(q)[:MAX_WORDS]
    if not words:
        return None
    # as typed: "greta lind" may go on to "lindqvist"; "greta lind " has ended its last word
    prefix = bool(_WORD.search(q[-1])) and len(words[-1]) >= MIN_PREFIX
    return Terms(tuple(words), prefix=prefix, phrase="@" in q and len(words) > 1)


def fts5_query(t: Terms) -> str:
    """FTS5: each word a quoted string (nothing in it is syntax), all of them (implicit AND) or one phrase;
    `*` after the last makes it a prefix."""
    # words are letters and digits: there is no quote in them to escape
    expr = f'"{" ".join(t.words)}"' if t.phrase else " ".join(f'"{w}"' for w in t.words)
    return expr + ("*" if t.prefix else "")


def tsquery(t: Terms) -> str:
    """to_tsquery's text: each word a quoted lexeme (letters and digits only), & between them, or <->
    for a phrase; `:*` makes the last a prefix."""
    parts = [f"'{w}'" for w in t.words]
    if t.prefix:
        parts[-1] += ":*"
    return (" <-> " if t.phrase else " & ").join(parts)


def _is_sqlite(s: AsyncSession) -> bool:
    return s.get_bind().dialect.name == "sqlite"


def _fts(name: str) -> Any:
    return table(name, column("rowid", Integer))


def _sqlite_match(name: str, t: Terms) -> ColumnElement[bool]:
    return literal_column(name).op("MATCH", is_comparison=True)(fts5_query(t))


def _pg_match(doc: ColumnElement[Any], t: Terms) -> ColumnElement[bool]:
    query = func.to_tsquery(literal_column("'simple'::regconfig"), func.search_unaccent(tsquery(t)))
    return doc.op("@@", is_comparison=True)(query)


# PostgreSQL, for the rest of the transaction: plan each search for its own words (a prepared statement,
# and asyncpg prepares them all, otherwise goes over to one generic plan after five runs, the same for a
# word in half the messages and one in none); no parallel workers (starting them costs 5 to 10 ms, more
# than a search through the index takes); and the rows found joined to their ticket or customer by its
# primary key, never by hashing the whole table (50 ms at 100,000 tickets), which the planner prefers when
# it takes a rare word for a common one
PLANS = {
    "plan_cache_mode": "force_custom_plan",
    "max_parallel_workers_per_gather": "0",
    "enable_hashjoin": "off",
    "enable_mergejoin": "off",
}


def _set_local(**settings: str) -> list[ColumnElement[Any]]:
    """set_config(name, value, true) for each: SET LOCAL, as columns of a SELECT."""
    return [func.set_config(name, value, True) for name, value in settings.items()]


async def customers(s: AsyncSession, t: Terms, limit: int) -> list[Customer]:
    """Customers (not merged away) whose name, company or addresses hold the words, newest first."""
    key: Key
    if _is_sqlite(s):
        key = _fts("search_customers").c.rowid
        match = _sqlite_match("search_customers", t)
    else:
        doc = table("search_customers", column("customer_id", Integer), column("doc"))
        key, match = doc.c.customer_id, _pg_match(doc.c.doc, t)
    base = select(key).join(Customer, Customer.id == key).where(match, Customer.merged_into_id.is_(None))
    ids = [row[0] for row in await _newest(s, base, key, limit, lambda rows: len(rows) >= limit)][:limit]
    if not ids:
        return []
    found = {c.id: c for c in (await s.execute(select(Customer).where(Customer.id.in_(ids)))).scalars()}
    return [found[cid] for cid in ids if cid in found]


@dataclass
class _Hit:
    at: datetime
    message_id: int | None


Key = ColumnElement[int] | InstrumentedAttribute[int]
AnySelect = Select[*tuple[Any, ...]]
AnyRow = Row[*tuple[Any, ...]]


async def _newest(
    s: AsyncSession, base: AnySelect, key: Key, page: int, enough: Callable[[list[AnyRow]], bool]
) -> list[AnyRow]:
    """The rows of `base` (matching rows, the first column `key`), newest first: pages of `page` rows until
    `enough` of them (or MAX_PAGES pages a span: a word in half the messages of tickets the caller may
    not see must not read them all).

    SQLite reads the full-text index newest first as it is. PostgreSQL chooses between the words' index
    (every match, then sorted: right for a rare word) and the table newest first, testing each row (right
    for a common one) by its statistics, and a word unknown to them can get the wrong one: 50 ms for a
    rare word in 100,000 subjects. So it looks at the newest rows first, which costs little either way (a
    word in 2% of the rows fills a page there), and reads older ones, if it must (the word is rarer there),
    sorted by `key + 0`, which no index gives: through the words' index."""
    spans: list[tuple[ColumnElement[bool] | None, ColumnElement[Any]]] = [(None, key.desc())]
    if not _is_sqlite(s):
        top = (await s.execute(select(func.max(key), *_set_local(**PLANS)))).scalar() or 0
        floor = top - page * WINDOW
        spans = [(key > floor, key.desc()), (key <= floor, (key + literal_column("0")).desc())]
    rows: list[AnyRow] = []
    for span, order in spans:
        stmt = base.order_by(order).limit(page)
        if span is not None:
            stmt = stmt.where(span)
        before: int | None = None
        for _ in range(MAX_PAGES):
            found = (await s.execute(stmt if before is None else stmt.where(key < before))).all()
            rows += found
            if len(found) < page or enough(rows):
                break
            before = found[-1][0]
        if enough(rows):
            break
    return rows


async def _subject_hits(
    s: AsyncSession, t: Terms, visible: ColumnElement[bool], limit: int
) -> dict[int, _Hit]:
    key: Key
    if _is_sqlite(s):
        fts = _fts("search_tickets")
        key = fts.c.rowid
        base = (
            select(key, Ticket.created_at)
            .select_from(fts)
            .join(Ticket, Ticket.id == fts.c.rowid)
            .where(_sqlite_match("search_tickets", t))
        )
    else:
        key = Ticket.id
        base = select(key, Ticket.created_at).where(_pg_match(literal_column("tickets.search_doc"), t))
    rows = await _newest(s, base.where(visible), key, limit, lambda rows: len(rows) >= limit)
    return {tid: _Hit(at, None) for tid, at in rows[:limit]}


async def _message_hits(
    s: AsyncSession, t: Terms, visible: ColumnElement[bool], limit: int
) -> dict[int, _Hit]:
    """The tickets of the newest matching messages, each with its newest match."""
    key: Key
    if _is_sqlite(s):
        fts = _fts("search_messages")
        key = fts.c.rowid
        base = (
            select(key, Message.ticket_id, Message.created_at)
            .select_from(fts)
            .join(Message, Message.id == fts.c.rowid)
            .where(_sqlite_match("search_messages", t))
        )
    else:
        key = Message.id
        base = select(key, Message.ticket_id, Message.created_at).where(
            _pg_match(literal_column("messages.search_doc"), t)
        )
    base = base.join(Ticket, Ticket.id == Message.ticket_id).where(visible)
    rows = await _newest(s, base, key, PAGE, lambda rows: len({r[1] for r in rows}) >= limit)
    hits: dict[int, _Hit] = {}
    for mid, tid, at in rows:
        hits.setdefault(tid, _Hit(at, mid))
    return hits


async def tickets(
    s: AsyncSession, q: str, visible: ColumnElement[bool], limit: int = 20
) -> list[dict[str, Any]]:
    """Tickets `visible` lets through whose subject or messages hold the words, newest match first: each
    `{"ticket": view, "snippet": the text around the match, "message_id": the message (None: the
    subject)}`."""
    t = parse(q)
    if t is None:
        return []
    limit = max(1, min(limit, MAX_LIMIT))
    hits = await _subject_hits(s, t, visible, limit)
    for tid, hit in (await _message_hits(s, t, visible, limit)).items():
        if tid not in hits or hit.at >= hits[tid].at:
            hits[tid] = hit
    chosen = sorted(hits, key=lambda tid: (hits[tid].at, tid), reverse=True)[:limit]
    if not chosen:
        return []
    found = {x.id: x for x in (await s.execute(select(Ticket).where(Ticket.id.in_(chosen)))).scalars()}
    message_ids = [h.message_id for tid in chosen if (h := hits[tid]).message_id is not None]
    bodies: dict[int, str] = {}
    if message_ids:
        rows = await s.execute(select(Message.id, Message.body).where(Message.id.in_(message_ids)))
        bodies = {mid: body for mid, body in rows.all()}
    names = {qid: name for qid, name in (await s.execute(select(Queue.id, Queue.name))).all()}
    out = []
    for tid in chosen:
        ticket, mid = found[tid], hits[tid].message_id
        source = ticket.subject if mid is None else bodies.get(mid, "")
        out.append(
            {
                "ticket": ticket_view(ticket, names.get(ticket.queue_id, "")),
                "snippet": snippet(source, t),
                "message_id": mid,
            }
        )
    return out


def fold(word: str) -> str:
    """A word as both indexes compare it: accents off, case folded."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def snippet(body: str, t: Terms, width: int = SNIPPET) -> str:
    """About `width` characters of `body` around the first word that matches, whitespace collapsed, with
    an ellipsis where it was cut."""
    wanted = [fold(w) for w in t.words]
    exact, last = set(wanted[:-1] if t.prefix else wanted), wanted[-1]
    at = 0
    for m in _WORD.finditer(body):
        word = fold(m.group())
        if word in exact or (t.prefix and word.startswith(last)):
            at = m.start()
            break
    start = max(0, at - width // 4)
    if start > 0:  # begin at a word
        space = body.find(" ", start, at)
        start = space + 1 if space != -1 else start
    end = min(len(body), start + width)
    if end < len(body):
        space = body.rfind(" ", at, end)
        end = space if space > at else end
    text_ = " ".join(body[start:end].split())
    return ("…" if start > 0 else "") + text_ + ("…" if end < len(body) else "")


def limit_param(value: str | None, default: int = 20) -> int | None:
    """The `limit` query parameter: a whole number 1..MAX_LIMIT (None: not one)."""
    if value is None or value == "":
        return default
    if not value.isascii() or not value.isdigit():
        return None
    n = int(value)
    return n if 1 <= n <= MAX_LIMIT else None
