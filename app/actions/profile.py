"""An agent's edits to a customer's profile: name, company, tags, attribute values, consent flags, notes,
and the addresses (emails, phones) an agent adds or removes. Every change is a line on the timeline."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.actions.attributes import check_value
from app.actions.common import clean_tags, customer_line
from app.actions.context import Context
from app.actions.errors import Conflict, Invalid, NotFound
from app.domain.models import AttributeDef, Customer, HistoryEntry, Identity
from app.domain.types import utcnow
from app.domain.views import iso
from channels.phone import to_e164

FIELDS = ("name", "company", "tags", "attributes", "sms_opt_out", "email_unsubscribed")
NOTE_MAX = 10_000
# the kinds of address an agent may add by hand (chat visitors and signed users come from the widget)
TYPED_KINDS = ("email", "phone")


def _text(field: str, raw: Any, most: int) -> str:
    if not isinstance(raw, str) or len(raw.strip()) > most:
        raise Invalid(f"{field} must be a text of at most {most} characters", f"bad_{field}")
    return " ".join(raw.replace("\x00", "").split())


async def _live(s: Any, customer_id: int) -> Customer:
    customer = await s.get(Customer, customer_id, with_for_update=True)
    if customer is None or customer.merged_into_id is not None:
        raise NotFound(f"customer {customer_id} not found")
    assert isinstance(customer, Customer)
    return customer


async def update(ctx: Context, agent_id: int, customer_id: int, changes: dict[str, Any]) -> None:
    """PATCH a profile. `attributes` is merged key by key (a null value removes one); every key must be
    defined and every value of its type. Nothing is stored unless every field is valid."""
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise Invalid(f"unknown fields: {', '.join(sorted(unknown))}", "unknown_field")
    async with ctx.db.write() as s:
        customer = await _live(s, customer_id)
        said: list[str] = []
        if "name" in changes:
            name = _text("name", changes["name"], 200)
            if not name:
                raise Invalid("name cannot be empty", "bad_name")
            if name != customer.name:
                said.append(f"name {customer.name!r} -> {name!r}")
                customer.name = name
        if "company" in changes:
            company = _text("company", changes["company"], 200)
            if company != customer.company:
                said.append(f"company {customer.company!r} -> {company!r}")
                customer.company = company
        if "tags" in changes:
            tags = clean_tags(changes["tags"])
            if tags != list(customer.tags or []):
                said.append("tags " + (", ".join(tags) or "(none)"))
                customer.tags = tags
        if "attributes" in changes:
            said += await _set_attributes(s, customer, changes["attributes"])
        for flag, on, off in (
            ("sms_opt_out", "opted out of SMS", "opted in to SMS again"),
            ("email_unsubscribed", "unsubscribed from email", "subscribed to email again"),
        ):
            if flag in changes:
                value = changes[flag]
                if not isinstance(value, bool):
                    raise Invalid(f"{flag} must be true or false", f"bad_{flag}")
                if value != getattr(customer, flag):
                    setattr(customer, flag, value)
                    s.add(
                        customer_line(
                            customer.id,
                            agent_id,
                            "consent",
                            f"{on if value else off} (set by an agent)",
                            {flag: value},
                        )
                    )
        if said:
            customer.updated_at = utcnow()
            s.add(
                customer_line(customer.id, agent_id, "profile", "; ".join(said), {"fields": sorted(changes)})
            )


async def _set_attributes(s: Any, customer: Customer, raw: Any) -> list[str]:
    if not isinstance(raw, dict):
        raise Invalid("attributes must be an object of key: value (null removes one)", "bad_attribute")
    defs = {d.key: d for d in (await s.execute(select(AttributeDef))).scalars()}
    values = dict(customer.attributes or {})
    said: list[str] = []
    for key, value in raw.items():
        if value is None:
            if key in values:
                del values[key]
                said.append(f"{key} removed")
            continue
        d = defs.get(key)
        if d is None:
            raise Invalid(f"no attribute {key!r} is defined (an admin defines them)", "unknown_attribute")
        value = check_value(d, value)
        if values.get(key) != value:
            values[key] = value
            said.append(f"{key} = {value}")
    customer.attributes = values
    return said


async def add_note(ctx: Context, agent_id: int, customer_id: int, text: Any) -> dict[str, Any]:
    """A note about the customer (not about one ticket): on the timeline, never sent to anyone."""
    if not isinstance(text, str) or not text.strip() or len(text) > NOTE_MAX:
        raise Invalid(f"text must be a note of 1 to {NOTE_MAX} characters", "bad_text")
    async with ctx.db.write() as s:
        await _live(s, customer_id)
        entry = customer_line(customer_id, agent_id, "note", text.strip().replace("\x00", ""), {})
        s.add(entry)
        await s.flush()
        return note_view(entry)


def note_view(h: HistoryEntry) -> dict[str, Any]:
    return {"id": h.id, "at": iso(h.at), "agent_id": h.agent_id, "text": h.text}


async def notes(ctx: Context, customer_id: int, limit: int = 200) -> list[dict[str, Any]]:
    """The customer's notes, newest first."""
    async with ctx.db.read() as s:
        rows = await s.execute(
            select(HistoryEntry)
            .where(
                HistoryEntry.customer_id == customer_id,
                HistoryEntry.kind == "note",
                HistoryEntry.ticket_id.is_(None),
            )
            .order_by(HistoryEntry.at.desc(), HistoryEntry.id.desc())
            .limit(limit)
        )
        return [note_view(h) for h in rows.scalars()]


def typed_address(kind: Any, raw: Any, region: str) -> tuple[str, str]:
    """An address an agent typed, as it is stored: emails in lower case, phones in E.164 (a number without
    its country code needs the install's SWITCHBOARD_PHONE_REGION)."""
    if kind not in TYPED_KINDS:
        raise Invalid(f"kind must be one of {', '.join(TYPED_KINDS)}", "bad_kind")
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 320:
        raise Invalid("address must be a text of 1 to 320 characters", "bad_address")
    text = raw.strip()
    if kind == "email":
        local, at, domain = text.rpartition("@")
        if not at or not local or "." not in domain or any(c.isspace() for c in text):
            raise Invalid(f"{text!r} is not an email address", "bad_address")
        return kind, text.lower()
    phone = to_e164(text, region or None)
    if phone is None:
        hint = "" if region else " (write it with its country code, e.g. +46 70 123 45 67)"
        raise Invalid(f"{text!r} is not a phone number{hint}", "bad_address")
    return kind, phone


async def add_identity(ctx: Context, agent_id: int, customer_id: int, kind: Any, raw: Any) -> None:
    """An address an agent adds: it finds the customer from then on (a mail from it, a text from the
    number), unless another customer holds it already: 409 naming them, a likely duplicate to merge."""
    kind, address = typed_address(kind, raw, ctx.settings.phone_region)
    try:
        await _add_identity(ctx, agent_id, customer_id, kind, address)
    except IntegrityError as e:  # the same address added to another customer at the same moment
        raise Conflict(f"{address} belongs to another customer", "identity_taken") from e


async def _add_identity(ctx: Context, agent_id: int, customer_id: int, kind: str, address: str) -> None:
    async with ctx.db.write() as s:
        customer = await _live(s, customer_id)
        held = (
            await s.execute(
                select(Identity).where(Identity.kind == kind, Identity.address == address, Identity.verified)
            )
        ).scalar_one_or_none()
        if held is not None:
            if held.customer_id == customer.id:
                return
            raise Conflict(
                f"{address} belongs to customer {held.customer_id}: merge the two if they are one person",
                "identity_taken",
            )
        mine = (
            await s.execute(
                select(Identity).where(
                    Identity.customer_id == customer.id, Identity.kind == kind, Identity.address == address
                )
            )
        ).scalar_one_or_none()
        if mine is not None:  # typed by the customer before; now vouched for by an agent
            mine.verified = True
        else:
            s.add(Identity(customer_id=customer.id, kind=kind, address=address, verified=True))
        s.add(
            customer_line(
                customer.id,
                agent_id,
                "identity",
                f"{kind} {address} added",
                {"kind": kind, "address": address},
            )
        )
        customer.updated_at = utcnow()


async def remove_identity(ctx: Context, agent_id: int, customer_id: int, identity_id: int) -> None:
    async with ctx.db.write() as s:
        customer = await _live(s, customer_id)
        identity = await s.get(Identity, identity_id, with_for_update=True)
        if identity is None or identity.customer_id != customer.id:
            raise NotFound(f"customer {customer_id} has no identity {identity_id}")
        if identity.kind not in TYPED_KINDS:
            raise Invalid("a chat visitor or a signed user stays with their conversations", "bad_kind")
        s.add(
            customer_line(
                customer.id,
                agent_id,
                "identity",
                f"{identity.kind} {identity.address} removed",
                {"kind": identity.kind, "address": identity.address, "removed": True},
            )
        )
        await s.delete(identity)
        customer.updated_at = utcnow()
