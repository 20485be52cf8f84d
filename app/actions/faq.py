"""The FAQ knowledge base: entries (an answer and its phrasings), CSV import and export, what agents teach
it from the questions the bot handed to them, and the revision that tells every process to reload. Every
write bumps the revision in its own transaction."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions.access import check_ticket
from app.actions.agents import Principal
from app.actions.common import history
from app.actions.context import Context
from app.actions.errors import Conflict, Invalid, NotFound
from app.domain.models import FaqEntry, FaqPhrasing, Setting, Ticket
from app.domain.types import utcnow

REVISION_KEY = "faq_revision"
MAX_ANSWER = 10_000
MAX_PHRASING = 1_000
MAX_PHRASINGS = 500  # per entry
MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL: a larger one names nothing
LEARN_FIELDS = ("question", "answer", "entry_id", "ticket_id")
# a cell a spreadsheet would run as a formula; exported with a leading apostrophe, which import removes
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


async def _bump(s: AsyncSession) -> None:
    row = await s.get(Setting, REVISION_KEY)
    if row is None:
        s.add(Setting(key=REVISION_KEY, value=uuid.uuid4().hex))
    else:
        row.value = uuid.uuid4().hex


async def revision(s: AsyncSession) -> str:
    row = await s.get(Setting, REVISION_KEY)
    return row.value if row is not None else ""


def view(entry: FaqEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "answer": entry.answer,
        "phrasings": [p.text for p in entry.phrasings],
        "created_at": entry.created_at.isoformat(),
        "updated_at": entry.updated_at.isoformat(),
    }


def _text(value: Any, limit: int, what: str, code: str) -> str:
    """A non-blank string of at most `limit` characters, stripped."""
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise Invalid(f"{what} must be text of 1 to {limit} characters", code)
    return value.strip()


def _answer(value: Any) -> str:
    return _text(value, MAX_ANSWER, "answer", "bad_answer")


def _phrasings(value: Any) -> list[str]:
    """Stripped, without repeats, in order; at least one."""
    if not isinstance(value, list) or not value:
        raise Invalid("phrasings must be a non-empty list of questions", "bad_phrasings")
    out: list[str] = []
    for item in value:
        text = _text(item, MAX_PHRASING, "every phrasing", "bad_phrasings")
        if text not in out:
            out.append(text)
    if len(out) > MAX_PHRASINGS:
        raise Invalid(f"at most {MAX_PHRASINGS} phrasings per entry", "bad_phrasings")
    return out


def _fields(body: dict[str, Any], partial: bool) -> dict[str, Any]:
    unknown = set(body) - {"answer", "phrasings"}
    if unknown:
        raise Invalid(f"unknown fields: {', '.join(sorted(unknown))}", "unknown_field")
    out: dict[str, Any] = {}
    if "answer" in body or not partial:
        out["answer"] = _answer(body.get("answer"))
    if "phrasings" in body or not partial:
        out["phrasings"] = _phrasings(body.get("phrasings"))
    if partial and not out:
        raise Invalid("nothing to change: send answer and/or phrasings", "empty_patch")
    return out


async def _check_answer_free(s: AsyncSession, answer: str, entry_id: int | None) -> None:
    """Rows that share an answer are one entry (the CSV format says so): two entries may not."""
    other = (await s.execute(select(FaqEntry.id).where(FaqEntry.answer == answer))).scalars().first()
    if other is not None and other != entry_id:
        raise Conflict(f"entry {other} already has this answer: add the phrasings to it", "answer_taken")


async def list_entries(ctx: Context, q: str | None = None) -> tuple[list[dict[str, Any]], str]:
    """Every entry, oldest first, or those whose answer or a phrasing contains `q` (any case); and the
    revision they were read at."""
    async with ctx.db.read() as s:
        entries = (await s.execute(select(FaqEntry).order_by(FaqEntry.id))).scalars().all()
        rev = await revision(s)
    if q:
        needle = q.casefold()
        entries = [
            e
            for e in entries
            if needle in e.answer.casefold() or any(needle in p.text.casefold() for p in e.phrasings)
        ]
    return [view(e) for e in entries], rev


async def get_entry(ctx: Context, entry_id: int) -> dict[str, Any]:
    async with ctx.db.read() as s:
        entry = await s.get(FaqEntry, entry_id)
        if entry is None:
            raise NotFound(f"FAQ entry {entry_id} not found")
        return view(entry)


async def create_entry(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    values = _fields(body, partial=False)
    async with ctx.db.write() as s:
        await _check_answer_free(s, values["answer"], None)
        entry = FaqEntry(
            answer=values["answer"], phrasings=[FaqPhrasing(text=t) for t in values["phrasings"]]
        )
        s.add(entry)
        await _bump(s)
        await s.flush()
        return view(entry)


async def update_entry(ctx: Context, entry_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Change the answer and/or replace the phrasings (a phrasing kept keeps its row)."""
    values = _fields(body, partial=True)
    async with ctx.db.write() as s:
        entry = await s.get(FaqEntry, entry_id)
        if entry is None:
            raise NotFound(f"FAQ entry {entry_id} not found")
        if "answer" in values:
            await _check_answer_free(s, values["answer"], entry_id)
            entry.answer = values["answer"]
        if "phrasings" in values:
            wanted: list[str] = values["phrasings"]
            kept = {p.text: p for p in entry.phrasings if p.text in wanted}
            entry.phrasings = [kept.get(t) or FaqPhrasing(text=t) for t in wanted]
        entry.updated_at = utcnow()
        await _bump(s)
        await s.flush()
        return view(entry)


async def delete_entry(ctx: Context, entry_id: int) -> None:
    async with ctx.db.write() as s:
        entry = await s.get(FaqEntry, entry_id)
        if entry is None:
            raise NotFound(f"FAQ entry {entry_id} not found")
        await s.delete(entry)
        await _bump(s)


def _ref(body: dict[str, Any], name: str) -> int | None:
    """An optional id field: absent or null, or a positive whole number."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise Invalid(f"{name} must be a positive whole number or null", f"bad_{name}")
    return value


def _learn_fields(body: dict[str, Any]) -> tuple[str, str | None, int | None, int | None]:
    """(question, answer, entry_id, ticket_id) of a learn request: an answer exactly when no entry_id."""
    unknown = set(body) - set(LEARN_FIELDS)
    if unknown:
        raise Invalid(f"unknown fields: {', '.join(sorted(unknown))}", "unknown_field")
    question = _text(body.get("question"), MAX_PHRASING, "question", "bad_question")
    entry_id, ticket_id = _ref(body, "entry_id"), _ref(body, "ticket_id")
    if entry_id is None:
        return question, _answer(body.get("answer")), None, ticket_id
    if body.get("answer") is not None:
        raise Invalid(
            "send entry_id (add the question to that entry) or answer (a new entry), not both",
            "answer_with_entry",
        )
    return question, None, entry_id, ticket_id


async def _learning_entry(s: AsyncSession, entry_id: int | None, answer: str | None) -> FaqEntry | None:
    """The entry to add the question to, locked: `entry_id`'s (404 if none), else the one with this answer
    (None: a new entry)."""
    if entry_id is not None:
        wanted = select(FaqEntry).where(FaqEntry.id == entry_id)
    else:
        wanted = select(FaqEntry).where(FaqEntry.answer == answer).order_by(FaqEntry.id).limit(1)
    entry = None
    if entry_id is None or entry_id <= MAX_ID:
        entry = (await s.execute(wanted.with_for_update())).scalars().first()
    if entry is None and entry_id is not None:
        raise NotFound(f"FAQ entry {entry_id} not found")
    return entry


async def _phrasing_owner(s: AsyncSession, question: str) -> int | None:
    """The entry that has this question as a phrasing already (compared without regard to case)."""
    found = await s.execute(
        select(FaqPhrasing.entry_id)
        .where(func.lower(FaqPhrasing.text) == question.lower())
        .order_by(FaqPhrasing.entry_id)
    )
    return found.scalars().first()


async def learn(ctx: Context, who: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """An agent teaches the bot the answer to a question it handed off. With `entry_id`, the question
    becomes a phrasing of that entry (`answer` must then be absent); without, a new entry with this answer,
    unless an entry has this answer already: then the question becomes its phrasing. A question that is a
    phrasing of another entry already is refused (409: the two entries would compete for it); one that is
    a phrasing of this entry changes nothing. With `ticket_id` (a ticket the agent may see), the ticket's
    history, the customer's timeline, gets a `faq.learned` line. Returns {entry, created, added}."""
    question, answer, entry_id, ticket_id = _learn_fields(body)
    async with ctx.db.write() as s:
        ticket: Ticket | None = None
        if ticket_id is not None:
            found = await s.get(Ticket, ticket_id) if ticket_id <= MAX_ID else None
            ticket = check_ticket(who, found, ticket_id)
        entry = await _learning_entry(s, entry_id, answer)
        owner = await _phrasing_owner(s, question)
        if entry is not None and owner == entry.id:
            return {"entry": view(entry), "created": False, "added": False}
        if owner is not None:
            raise Conflict(
                f"FAQ entry {owner} has this question already: change that entry in the knowledge base",
                "phrasing_taken",
            )
        created = entry is None
        if entry is None:
            entry = FaqEntry(answer=answer, phrasings=[FaqPhrasing(text=question)])
            s.add(entry)
        elif len(entry.phrasings) >= MAX_PHRASINGS:
            raise Conflict(f"FAQ entry {entry.id} has {MAX_PHRASINGS} phrasings", "too_many_phrasings")
        else:
            entry.phrasings.append(FaqPhrasing(text=question))
            entry.updated_at = utcnow()
        await _bump(s)
        await s.flush()
        if ticket is not None:
            saved = f"as new entry {entry.id}" if created else f"to entry {entry.id}"
            quoted = question if len(question) <= 200 else question[:199] + "…"
            history(
                s,
                ticket,
                "faq.learned",
                author="agent",
                agent_id=who.id,
                text=f"saved to the FAQ {saved}: “{quoted}”",
                data={"entry_id": entry.id, "created": created, "question": question},
            )
        return {"entry": view(entry), "created": created, "added": True}


async def import_rows(
    ctx: Context, rows: Iterable[tuple[str, str]], replace: bool = False
) -> tuple[int, int]:
    """Rows of (question, answer); rows that share an answer are phrasings of one entry.
    Returns (entries, phrasings) now in the knowledge base from these rows."""
    grouped: dict[str, list[str]] = {}
    for n, (question, answer) in enumerate(rows, start=2):
        question, answer = question.strip(), answer.strip()
        if not question or not answer:
            raise Invalid(f"row {n}: question and answer must both be filled")
        if len(question) > MAX_PHRASING or len(answer) > MAX_ANSWER:
            raise Invalid(
                f"row {n}: a question has at most {MAX_PHRASING} characters, an answer {MAX_ANSWER}"
            )
        phrasings = grouped.setdefault(answer, [])
        if question not in phrasings:
            phrasings.append(question)
    async with ctx.db.write() as s:
        if replace:
            await s.execute(delete(FaqPhrasing))
            await s.execute(delete(FaqEntry))
        existing = {} if replace else {e.answer: e for e in (await s.execute(select(FaqEntry))).scalars()}
        added = 0
        for answer, questions in grouped.items():
            entry = existing.get(answer)
            if entry is None:
                entry = FaqEntry(answer=answer, phrasings=[])
                s.add(entry)
            known = {p.text for p in entry.phrasings}
            for q in questions:
                if q not in known:
                    entry.phrasings.append(FaqPhrasing(text=q))
                    added += 1
            entry.updated_at = utcnow()
        await _bump(s)
    return len(grouped), added


def parse_csv(text: str) -> list[tuple[str, str]]:
    """CSV with a header naming the columns question and answer (any case, any order, other columns
    ignored) to (question, answer) rows. A leading apostrophe that :func:`export_csv` put before a
    formula-like cell is removed."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        fields = [(c or "").strip().lower() for c in reader.fieldnames or []]
    except csv.Error as e:
        raise Invalid(f"not CSV: {e}", "bad_csv") from e
    if "question" not in fields or "answer" not in fields:
        raise Invalid("the header must name the columns question,answer", "bad_csv")
    reader.fieldnames = fields
    rows: list[tuple[str, str]] = []
    try:
        for row in reader:
            question, answer = row.get("question"), row.get("answer")
            if not isinstance(question, str) or not isinstance(answer, str):
                raise Invalid(f"row {reader.line_num}: question and answer must both be filled", "bad_csv")
            rows.append((_unprotect(question), _unprotect(answer)))
    except csv.Error as e:
        raise Invalid(f"line {reader.line_num}: {e}", "bad_csv") from e
    return rows


def _protect(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def _unprotect(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(_FORMULA_START) else cell


async def export_csv(ctx: Context) -> str:
    """The knowledge base as CSV, one row per phrasing (question,answer): what import reads back."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["question", "answer"])
    async with ctx.db.read() as s:
        for entry in (await s.execute(select(FaqEntry).order_by(FaqEntry.id))).scalars():
            for phrasing in entry.phrasings:
                writer.writerow([_protect(phrasing.text), _protect(entry.answer)])
    return out.getvalue()
