"""Customer actions: folding a duplicate into the customer who stays."""

from __future__ import annotations

from sqlalchemy import update

from app.actions.context import Context
from app.actions.errors import Invalid, NotFound
from app.domain.models import Call, ChatSession, Customer, HistoryEntry, Identity, Ticket
from app.domain.types import utcnow


async def merge(ctx: Context, survivor_id: int, other_id: int, agent_id: int | None) -> None:
    """Move the other customer's identities, tickets, chat visitors and history to the survivor; the other
    keeps its row, marked merged_into, so old links lead to the survivor. Recorded on the timeline."""
    if survivor_id == other_id:
        raise Invalid("a customer cannot be merged into itself", "same_customer")
    async with ctx.db.write() as s:
        survivor = await s.get(Customer, survivor_id, with_for_update=True)
        other = await s.get(Customer, other_id, with_for_update=True)
        if survivor is None or survivor.merged_into_id is not None:
            raise NotFound(f"customer {survivor_id} not found")
        if other is None or other.merged_into_id is not None:
            raise NotFound(f"customer {other_id} not found")
        for model in (Identity, Ticket, ChatSession, HistoryEntry, Call):
            await s.execute(
                update(model).where(model.customer_id == other_id).values(customer_id=survivor_id)
            )
        # customers merged into the other earlier now point at the survivor directly
        await s.execute(
            update(Customer).where(Customer.merged_into_id == other_id).values(merged_into_id=survivor_id)
        )
        other.merged_into_id = survivor_id
        if not survivor.name and other.name:
            survivor.name = other.name
        # the profile: what the survivor lacks comes from the other; the survivor's own values win
        survivor.company = survivor.company or other.company
        survivor.tags = sorted(set(survivor.tags or []) | set(other.tags or []))
        survivor.attributes = {**(other.attributes or {}), **(survivor.attributes or {})}
        survivor.sms_opt_out = survivor.sms_opt_out or other.sms_opt_out
        survivor.email_unsubscribed = survivor.email_unsubscribed or other.email_unsubscribed
        survivor.updated_at = utcnow()
        s.add(
            HistoryEntry(
                customer_id=survivor_id,
                kind="merge",
                author="agent" if agent_id else "system",
                agent_id=agent_id,
                text=f"customer {other_id} ({other.name}) merged into this one",
                data={"other_id": other_id},
                at=utcnow(),
            )
        )


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
