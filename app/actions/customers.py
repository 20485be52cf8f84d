"""Customer actions: folding a duplicate into the customer who stays, undoing that, and SMS consent."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions.common import customer_line
from app.actions.context import Context
from app.actions.errors import Conflict, Invalid, NotFound
from app.domain.models import (
    Call,
    ChatSession,
    Customer,
    CustomerMerge,
    DuplicatePair,
    HistoryEntry,
    Identity,
    Reminder,
    Ticket,
)
from app.domain.types import utcnow
from app.domain.views import iso

# what a merge moves from the other customer to the survivor, by its key in CustomerMerge.moved
MOVED: tuple[tuple[str, Any], ...] = (
    ("identities", Identity),
    ("tickets", Ticket),
    ("chat_sessions", ChatSession),
    ("history", HistoryEntry),
    ("calls", Call),
    ("reminders", Reminder),
)
PROFILE = ("name", "company", "tags", "attributes", "sms_opt_out", "email_unsubscribed")


def _profile(c: Customer) -> dict[str, Any]:
    return {
        "name": c.name,
        "company": c.company,
        "tags": list(c.tags or []),
        "attributes": dict(c.attributes or {}),
        "sms_opt_out": c.sms_opt_out,
        "email_unsubscribed": c.email_unsubscribed,
    }


async def _lock(s: AsyncSession, customer_id: int) -> Customer:
    customer = await s.get(Customer, customer_id, with_for_update=True)
    if customer is None:
        raise NotFound(f"customer {customer_id} not found")
    return customer


def _pair(a: int, b: int) -> Any:
    return and_(DuplicatePair.a_id == min(a, b), DuplicatePair.b_id == max(a, b))


async def merge(ctx: Context, survivor_id: int, other_id: int, agent_id: int | None) -> int:
    """Move the other customer's identities, tickets, chat visitors, history and calls to the survivor;
    the other keeps its row, marked merged_into, so old links lead to the survivor. What moved is recorded
    (CustomerMerge) so the merge can be undone. Returns the merge's id."""
    if survivor_id == other_id:
        raise Invalid("a customer cannot be merged into itself", "same_customer")
    async with ctx.db.write() as s:
        survivor = await _lock(s, survivor_id)
        other = await _lock(s, other_id)
        if survivor.merged_into_id is not None:
            raise NotFound(f"customer {survivor_id} not found")
        if other.merged_into_id is not None:
            raise NotFound(f"customer {other_id} not found")
        moved: dict[str, Any] = {}
        for key, model in MOVED:
            result = await s.execute(
                update(model)
                .where(model.customer_id == other_id)
                .values(customer_id=survivor_id)
                .returning(model.id)
            )
            moved[key] = sorted(result.scalars())
        # customers merged into the other earlier now point at the survivor directly
        result = await s.execute(
            update(Customer)
            .where(Customer.merged_into_id == other_id)
            .values(merged_into_id=survivor_id)
            .returning(Customer.id)
        )
        moved["customers"] = sorted(result.scalars())
        moved["survivor_before"] = _profile(survivor)
        other.merged_into_id = survivor_id
        # the profile: what the survivor lacks comes from the other; the survivor's own values win
        survivor.name = survivor.name or other.name
        survivor.company = survivor.company or other.company
        survivor.tags = sorted(set(survivor.tags or []) | set(other.tags or []))
        survivor.attributes = {**(other.attributes or {}), **(survivor.attributes or {})}
        survivor.sms_opt_out = survivor.sms_opt_out or other.sms_opt_out
        survivor.email_unsubscribed = survivor.email_unsubscribed or other.email_unsubscribed
        survivor.updated_at = utcnow()
        moved["survivor_after"] = _profile(survivor)
        record = CustomerMerge(survivor_id=survivor_id, other_id=other_id, agent_id=agent_id, moved=moved)
        s.add(record)
        await s.flush()
        s.add(
            customer_line(
                survivor_id,
                agent_id,
                "merge",
                f"customer {other_id} ({other.name}) merged into this one",
                {"other_id": other_id, "merge_id": record.id},
            )
        )
        await s.execute(
            update(DuplicatePair)
            .where(_pair(survivor_id, other_id))
            .values(status="merged", decided_at=utcnow(), decided_by=agent_id)
        )
        return record.id


async def undo_merge(ctx: Context, merge_id: int, agent_id: int | None) -> tuple[int, int]:
    """Give the other customer back what the merge moved (what has moved since stays where it is), unmark
    it, and restore the profile fields of the survivor that nobody changed since. The pair is then known
    not to be one person (dismissed). Returns (survivor_id, other_id)."""
    async with ctx.db.write() as s:
        record = await s.get(CustomerMerge, merge_id, with_for_update=True)
        if record is None:
            raise NotFound(f"merge {merge_id} not found")
        if record.undone_at is not None:
            raise Conflict(f"merge {merge_id} was undone already", "already_undone")
        survivor = await _lock(s, record.survivor_id)
        other = await _lock(s, record.other_id)
        if survivor.merged_into_id is not None:
            raise Conflict(
                f"customer {survivor.id} was merged into customer {survivor.merged_into_id} since: undo that "
                "merge first",
                "merged_since",
            )
        if other.merged_into_id != survivor.id:
            raise Conflict(f"customer {other.id} is not merged into customer {survivor.id}", "not_merged")
        moved = record.moved or {}
        for key, model in MOVED:
            ids = moved.get(key) or []
            for start in range(0, len(ids), 5000):
                await s.execute(
                    update(model)
                    .where(model.id.in_(ids[start : start + 5000]), model.customer_id == survivor.id)
                    .values(customer_id=other.id)
                )
        earlier = moved.get("customers") or []
        if earlier:
            await s.execute(
                update(Customer)
                .where(Customer.id.in_(earlier), Customer.merged_into_id == survivor.id)
                .values(merged_into_id=other.id)
            )
        other.merged_into_id = None
        before, after = moved.get("survivor_before") or {}, moved.get("survivor_after") or {}
        now = _profile(survivor)
        for field in PROFILE:
            if field in before and now.get(field) == after.get(field):
                setattr(survivor, field, before[field])
        survivor.updated_at = other.updated_at = utcnow()
        record.undone_at, record.undone_by = utcnow(), agent_id
        data = {"merge_id": record.id, "other_id": other.id, "survivor_id": survivor.id}
        s.add(
            customer_line(
                survivor.id, agent_id, "unmerge", f"merge of customer {other.id} ({other.name}) undone", data
            )
        )
        s.add(
            customer_line(other.id, agent_id, "unmerge", f"split off again from customer {survivor.id}", data)
        )
        await s.execute(
            update(DuplicatePair)
            .where(_pair(survivor.id, other.id))
            .values(status="dismissed", decided_at=utcnow(), decided_by=agent_id)
        )
        return survivor.id, other.id


def merge_view(m: CustomerMerge, other_name: str) -> dict[str, Any]:
    return {
        "id": m.id,
        "survivor_id": m.survivor_id,
        "other_id": m.other_id,
        "other_name": other_name,
        "agent_id": m.agent_id,
        "at": iso(m.at),
        "undone_at": iso(m.undone_at),
        "moved": {key: len(m.moved.get(key) or []) for key, _ in MOVED},
    }


async def merges(ctx: Context, customer_id: int) -> list[dict[str, Any]]:
    """Merges into (or out of) the customer, newest first."""
    async with ctx.db.read() as s:
        rows = await s.execute(
            select(CustomerMerge, Customer.name)
            .join(Customer, Customer.id == CustomerMerge.other_id)
            .where(or_(CustomerMerge.survivor_id == customer_id, CustomerMerge.other_id == customer_id))
            .order_by(CustomerMerge.id.desc())
            .limit(200)
        )
        return [merge_view(m, name) for m, name in rows.all()]


async def set_sms_opt_out(ctx: Context, customer_id: int, opt_out: bool, ticket_id: int | None) -> None:
    """STOP / START by text: recorded on the customer and their timeline."""
    async with ctx.db.write() as s:
        customer = await s.get(Customer, customer_id, with_for_update=True)
        if customer is None or customer.sms_opt_out == opt_out:
            return
        customer.sms_opt_out = opt_out
        s.add(
            HistoryEntry(
                customer_id=customer_id,
                ticket_id=ticket_id,
                kind="consent",
                channel="sms",
                author="customer",
                text="opted out of SMS (STOP)" if opt_out else "opted in to SMS again (START)",
                data={"sms_opt_out": opt_out},
                at=utcnow(),
            )
        )
