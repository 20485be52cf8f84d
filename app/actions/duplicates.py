"""Likely duplicate customers: found for one customer on demand, for the customers of every new identity
as they arrive (DuplicateWatch), and over the whole base on demand (scan). What is found is kept as
DuplicatePair rows for agents to merge or dismiss; a dismissed or merged pair is not suggested again."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.actions import kv
from app.actions.context import Context
from app.actions.errors import Conflict, NotFound
from app.background import BackgroundTask
from app.domain.dedupe import Match, Record, company_key, duplicates_of, email_key, find_duplicates
from app.domain.models import Customer, DuplicatePair, Identity
from app.domain.types import utcnow
from app.domain.views import customer_view, iso

log = logging.getLogger(__name__)
WATERMARK = "dedupe.identity_id"
KINDS = ("email", "phone")
CANDIDATES = 500  # most customers one customer is compared with on demand


def record_of(c: Customer) -> Record:
    return Record(
        id=c.id,
        name=c.name or "",
        company=c.company or "",
        emails=tuple(i.address for i in c.identities if i.kind == "email"),
        phones=tuple(i.address for i in c.identities if i.kind == "phone"),
    )


async def _candidates(s: AsyncSession, c: Customer) -> list[Customer]:
    """Live customers who share a blocking key with `c`: an email up to case and plus-addressing, a phone,
    a company. (Gmail's dots are matched by the whole-base scan only.)"""
    conditions: list[Any] = []
    emails = {email_key(i.address) for i in c.identities if i.kind == "email"}
    for key in emails:
        local, _, domain = key.partition("@")
        conditions.append(
            (Identity.kind == "email")
            & or_(
                Identity.address == key, Identity.address.like(f"{_escape(local)}+%@{_escape(domain)}", "\\")
            )
        )
    phones = [i.address for i in c.identities if i.kind == "phone"]
    if phones:
        conditions.append((Identity.kind == "phone") & Identity.address.in_(phones))
    ids: set[int] = set()
    if conditions:
        rows = await s.execute(select(Identity.customer_id).where(or_(*conditions)).limit(CANDIDATES))
        ids |= set(rows.scalars())
    company = company_key(c.company or "")
    if company:
        first = company.split()[0]
        rows = await s.execute(
            select(Customer.id)
            .where(
                func.lower(Customer.company).like(f"%{_escape(first)}%", "\\"),
                Customer.merged_into_id.is_(None),
            )
            .limit(CANDIDATES)
        )
        ids |= set(rows.scalars())
    ids.discard(c.id)
    if not ids:
        return []
    found = await s.execute(select(Customer).where(Customer.id.in_(ids), Customer.merged_into_id.is_(None)))
    return list(found.scalars())


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def _decided(s: AsyncSession, customer_id: int) -> set[tuple[int, int]]:
    rows = await s.execute(
        select(DuplicatePair.a_id, DuplicatePair.b_id).where(
            or_(DuplicatePair.a_id == customer_id, DuplicatePair.b_id == customer_id),
            DuplicatePair.status != "open",
        )
    )
    return {(a, b) for a, b in rows.all()}


async def _matches_for(s: AsyncSession, c: Customer, region: str) -> list[tuple[Match, Customer]]:
    """The likely duplicates of `c`, each with the other customer, best first (decided pairs left out)."""
    others = {o.id: o for o in await _candidates(s, c)}
    decided = await _decided(s, c.id)
    found = duplicates_of(record_of(c), [record_of(o) for o in others.values()], region or None)
    return [(m, others[m.b if m.a == c.id else m.a]) for m in found if (m.a, m.b) not in decided]


async def of_customer(ctx: Context, customer_id: int) -> list[dict[str, Any]]:
    """The likely duplicates of one customer, best first, with the reasons."""
    async with ctx.db.read() as s:
        c = await s.get(Customer, customer_id)
        if c is None or c.merged_into_id is not None:
            raise NotFound(f"customer {customer_id} not found")
        return [
            {"customer": customer_view(other), "score": m.score, "reasons": [r.as_dict() for r in m.reasons]}
            for m, other in await _matches_for(s, c, ctx.settings.phone_region)
        ]


async def _keep(ctx: Context, matches: Sequence[Match]) -> int:
    """Store new pairs (those known already, open or decided, stay as they are); returns how many were new."""
    if not matches:
        return 0
    dialect = sqlite if ctx.db.is_sqlite else postgresql
    now = utcnow()
    new = 0
    async with ctx.db.write() as s:
        for start in range(0, len(matches), 500):
            chunk = matches[start : start + 500]
            statement = (
                dialect.insert(DuplicatePair)
                .values(
                    [
                        {
                            "a_id": m.a,
                            "b_id": m.b,
                            "score": m.score,
                            "reasons": [r.as_dict() for r in m.reasons],
                            "status": "open",
                            "found_at": now,
                        }
                        for m in chunk
                    ]
                )
                .on_conflict_do_nothing(index_elements=["a_id", "b_id"])
                .returning(DuplicatePair.id)
            )
            new += len((await s.execute(statement)).all())
    return new


async def check_customers(ctx: Context, customer_ids: Iterable[int]) -> int:
    """Look for duplicates of these customers and keep what is found; returns the number of new pairs."""
    matches: list[Match] = []
    async with ctx.db.read() as s:
        for cid in sorted(set(customer_ids)):
            c = await s.get(Customer, cid)
            if c is not None and c.merged_into_id is None:
                matches += [m for m, _ in await _matches_for(s, c, ctx.settings.phone_region)]
    return await _keep(ctx, matches)


async def check_new_identities(ctx: Context, batch: int = 500) -> bool:
    """The customers of identities added since the last call (email and phone ones), checked; True when
    there may be more. The first call on a base only notes where it stands: the whole base is the scan's."""
    mark = await kv.get(ctx, WATERMARK)
    async with ctx.db.read() as s:
        if mark is None:
            top = (await s.execute(select(func.max(Identity.id)))).scalar_one_or_none() or 0
            await kv.put(ctx, WATERMARK, str(top))
            return False
        rows = (
            await s.execute(
                select(Identity.id, Identity.customer_id)
                .where(Identity.id > int(mark), Identity.kind.in_(KINDS))
                .order_by(Identity.id)
                .limit(batch)
            )
        ).all()
    if not rows:
        return False
    await check_customers(ctx, [cid for _, cid in rows])
    await kv.put(ctx, WATERMARK, str(rows[-1][0]))
    return len(rows) == batch


async def load_records(ctx: Context) -> list[Record]:
    """Every live customer as a Record (names, companies, emails, phones), read in two queries."""
    async with ctx.db.read() as s:
        people = (
            await s.execute(
                select(Customer.id, Customer.name, Customer.company).where(Customer.merged_into_id.is_(None))
            )
        ).all()
        addresses: dict[int, dict[str, list[str]]] = defaultdict(lambda: {"email": [], "phone": []})
        live = select(Customer.id).where(Customer.merged_into_id.is_(None))
        rows = await s.execute(
            select(Identity.customer_id, Identity.kind, Identity.address).where(
                Identity.kind.in_(KINDS), Identity.customer_id.in_(live)
            )
        )
        for cid, kind, address in rows.all():
            addresses[cid][kind].append(address)
    return [
        Record(
            id=cid,
            name=name or "",
            company=company or "",
            emails=tuple(addresses[cid]["email"]) if cid in addresses else (),
            phones=tuple(addresses[cid]["phone"]) if cid in addresses else (),
        )
        for cid, name, company in people
    ]


async def scan(ctx: Context) -> dict[str, int]:
    """The whole base compared (in a thread: the comparison is CPU work); new pairs kept."""
    records = await load_records(ctx)
    region = ctx.settings.phone_region or None
    matches = await asyncio.to_thread(find_duplicates, records, region)
    new = await _keep(ctx, matches)
    async with ctx.db.read() as s:
        open_ = (await s.execute(select(func.count()).where(DuplicatePair.status == "open"))).scalar_one()
    return {"customers": len(records), "found": len(matches), "new": new, "open": int(open_)}


def pair_view(p: DuplicatePair, a: Customer, b: Customer) -> dict[str, Any]:
    return {
        "id": p.id,
        "score": p.score,
        "reasons": p.reasons,
        "status": p.status,
        "found_at": iso(p.found_at),
        "decided_at": iso(p.decided_at),
        "a": customer_view(a),
        "b": customer_view(b),
    }


async def pairs(ctx: Context, status: str = "open", limit: int = 50) -> list[dict[str, Any]]:
    """Kept pairs of this status, best first; pairs of which one customer has been merged away are left
    out (the survivor is checked again when the merge happens)."""
    a, b = aliased(Customer), aliased(Customer)
    async with ctx.db.read() as s:
        rows = await s.execute(
            select(DuplicatePair, a, b)
            .join(a, a.id == DuplicatePair.a_id)
            .join(b, b.id == DuplicatePair.b_id)
            .where(DuplicatePair.status == status, a.merged_into_id.is_(None), b.merged_into_id.is_(None))
            .order_by(DuplicatePair.score.desc(), DuplicatePair.id)
            .limit(limit)
        )
        return [pair_view(p, x, y) for p, x, y in rows.all()]


async def dismiss(ctx: Context, pair_id: int, agent_id: int) -> None:
    """Not one person: the pair is not suggested again."""
    async with ctx.db.write() as s:
        p = await s.get(DuplicatePair, pair_id, with_for_update=True)
        if p is None:
            raise NotFound(f"duplicate pair {pair_id} not found")
        if p.status == "merged":
            raise Conflict(f"pair {pair_id} was merged already", "merged")
        await s.execute(
            update(DuplicatePair)
            .where(DuplicatePair.id == pair_id)
            .values(status="dismissed", decided_at=utcnow(), decided_by=agent_id)
        )


class DuplicateWatch(BackgroundTask):
    """Every few seconds, the customers of new identities are checked for duplicates (every process runs
    one; a pair found twice is kept once)."""

    name = "duplicate-watch"

    def __init__(self, ctx: Context, interval_s: float) -> None:
        self.ctx, self.interval_s = ctx, interval_s

    async def _run(self) -> None:
        while True:
            try:
                for _ in range(100):  # a burst of new identities, batch after batch (bounded)
                    if not await check_new_identities(self.ctx):
                        break
            except Exception:  # the database may be down for a moment: try again next round
                log.warning("duplicate check failed", exc_info=True)
            await asyncio.sleep(self.interval_s)
