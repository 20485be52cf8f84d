"""The FAQ knowledge base: entries (an answer and its phrasings), CSV import and export, and the revision
that tells every process to reload. Every write bumps the revision in its own transaction."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions.context import Context
from app.actions.errors import Conflict, Invalid, NotFound
from app.domain.models import FaqEntry, FaqPhrasing, Setting
from app.domain.types import utcnow

REVISION_KEY = "faq_revision"
MAX_ANSWER = 10_000
MAX_PHRASING = 1_000
MAX_PHRASINGS = 500  # per entry
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


def _answer(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_ANSWER:
        raise Invalid(f"answer must be text of 1 to {MAX_ANSWER} characters", "bad_answer")
    return value.strip()


def _phrasings(value: Any) -> list[str]:
    """Stripped, without repeats, in order; at least one."""
    if not isinstance(value, list) or not value:
        raise Invalid("phrasings must be a non-empty list of questions", "bad_phrasings")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip() or len(item) > MAX_PHRASING:
            raise Invalid(f"every phrasing must be text of 1 to {MAX_PHRASING} characters", "bad_phrasings")
        text = item.strip()
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
