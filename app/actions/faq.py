"""The FAQ knowledge base: import from CSV rows, and the revision that tells every process to reload."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions.context import Context
from app.actions.errors import Invalid
from app.domain.models import FaqEntry, FaqPhrasing, Setting
from app.domain.types import utcnow

REVISION_KEY = "faq_revision"


async def _bump(s: AsyncSession) -> None:
    row = await s.get(Setting, REVISION_KEY)
    if row is None:
        s.add(Setting(key=REVISION_KEY, value=uuid.uuid4().hex))
    else:
        row.value = uuid.uuid4().hex


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


async def revision(s: AsyncSession) -> str:
    row = await s.get(Setting, REVISION_KEY)
    return row.value if row is not None else ""
