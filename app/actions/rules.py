"""Automation rules: kept by admins, run when a ticket is created or updated (RuleRunner, a subscriber),
and tried against past tickets without changing anything (dry_run).

Conditions are checked against the ticket as the event left it; the actions of every matching rule then
run in one transaction, in the rules' order. The changes a rule makes are published with reason "rule"
and do not trigger rules again (no loops)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions import calendars, outbound, reminders, webhooks
from app.actions.common import (
    add_message,
    history,
    lock_ticket,
    message_event,
    queue_name,
    ticket_event,
    touch,
)
from app.actions.context import Context
from app.actions.errors import Invalid, NotFound
from app.bus import Event
from app.domain import reminders as reminder_rules
from app.domain import rules as R
from app.domain.models import (
    ACTIVE_STATUSES,
    Agent,
    AttributeDef,
    Customer,
    Message,
    Queue,
    Rule,
    Ticket,
    Webhook,
)
from app.domain.types import utcnow
from app.domain.views import iso, ticket_view

log = logging.getLogger(__name__)
RULES_TTL_S = 5.0  # a rule added or changed in another process runs within this
DRY_RUN_MAX = 1000
REPLY_CHANNELS = ("chat", "email", "sms")


def view(r: Rule) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": r.name,
        "trigger": r.trigger,
        "conditions": r.conditions,
        "actions": r.actions,
        "active": r.active,
        "position": r.position,
        "created_at": iso(r.created_at),
        "updated_at": iso(r.updated_at),
    }


async def _checked(s: AsyncSession, raw: Any) -> dict[str, Any]:
    """The rule as stored; its queues, agents and webhooks must exist."""
    try:
        rule = R.check_rule(raw)
    except R.RuleError as e:
        raise Invalid(str(e), "bad_rule") from e
    for i, a in enumerate(rule["actions"]):
        where = f"action {i + 1}"
        if a["type"] == "set_queue":
            if (await s.execute(select(Queue.id).where(Queue.name == a["queue"]))).first() is None:
                raise Invalid(f"{where}: no queue named {a['queue']!r}", "bad_rule")
        elif a["type"] == "assign":
            agent = await s.get(Agent, a["agent_id"])
            if agent is None or not agent.active:
                raise Invalid(f"{where}: no agent {a['agent_id']}", "bad_rule")
        elif a["type"] == "webhook" and await s.get(Webhook, a["webhook_id"]) is None:
            raise Invalid(f"{where}: no webhook {a['webhook_id']}", "bad_rule")
        elif a["type"] == "remind" and "attribute" in a:
            found = await s.execute(select(AttributeDef.type).where(AttributeDef.key == a["attribute"]))
            if found.scalar_one_or_none() != "date":
                raise Invalid(f"{where}: no date attribute {a['attribute']!r}", "bad_rule")
    return rule


async def create(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    async with ctx.db.write() as s:
        rule = Rule(**await _checked(s, body))
        s.add(rule)
        await s.flush()
        return view(rule)


async def replace(ctx: Context, rule_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """PUT: the whole rule anew (what is left out takes its default)."""
    async with ctx.db.write() as s:
        rule = await s.get(Rule, rule_id, with_for_update=True)
        if rule is None:
            raise NotFound(f"rule {rule_id} not found")
        for key, value in (await _checked(s, body)).items():
            setattr(rule, key, value)
        rule.updated_at = utcnow()
        await s.flush()
        return view(rule)


async def remove(ctx: Context, rule_id: int) -> None:
    async with ctx.db.write() as s:
        rule = await s.get(Rule, rule_id, with_for_update=True)
        if rule is None:
            raise NotFound(f"rule {rule_id} not found")
        await s.delete(rule)


async def listing(ctx: Context) -> list[dict[str, Any]]:
    async with ctx.db.read() as s:
        rows = await s.execute(select(Rule).order_by(Rule.position, Rule.id))
        return [view(r) for r in rows.scalars()]


@dataclass(frozen=True)
class Loaded:
    """A rule as the runner keeps it."""

    id: int
    name: str
    trigger: str
    conditions: list[dict[str, Any]]
    actions: list[dict[str, Any]]


async def active_rules(ctx: Context) -> list[Loaded]:
    async with ctx.db.read() as s:
        rows = await s.execute(select(Rule).where(Rule.active).order_by(Rule.position, Rule.id))
        return [Loaded(r.id, r.name, r.trigger, r.conditions, r.actions) for r in rows.scalars()]


async def facts_of(s: AsyncSession, ticket_ids: Sequence[int], at: datetime | None) -> dict[int, R.Facts]:
    """What conditions look at, for each ticket: business hours now (`at`), or when it was created."""
    if not ticket_ids:
        return {}
    latest = (
        select(Message.ticket_id, func.max(Message.seq).label("seq"))
        .where(Message.ticket_id.in_(ticket_ids), Message.author == "customer")
        .group_by(Message.ticket_id)
        .subquery()
    )
    texts = dict(
        (
            await s.execute(
                select(Message.ticket_id, Message.body).join(
                    latest, (Message.ticket_id == latest.c.ticket_id) & (Message.seq == latest.c.seq)
                )
            )
        ).all()
    )
    rows = await s.execute(
        select(Ticket, Queue.name, Customer.tags)
        .join(Queue, Queue.id == Ticket.queue_id)
        .join(Customer, Customer.id == Ticket.customer_id)
        .where(Ticket.id.in_(ticket_ids))
    )
    hours = await calendars.by_queue(s)
    out: dict[int, R.Facts] = {}
    for t, qname, customer_tags in rows.all():
        out[t.id] = R.Facts(
            channel=t.channel,
            queue=qname,
            priority=t.priority,
            status=t.status,
            subject=t.subject or "",
            text=texts.get(t.id, "") or "",
            customer_tags=frozenset(customer_tags or []),
            ticket_tags=frozenset(t.tags or []),
            business_hours=calendars.is_open(hours, t.queue_id, at or t.created_at),
        )
    return out


def describe(action: dict[str, Any]) -> str:
    kind = action["type"]
    if kind == "set_queue":
        return f"queue -> {action['queue']}"
    if kind == "set_priority":
        return f"priority -> {action['priority']}"
    if kind in ("add_tags", "remove_tags"):
        return f"{'add' if kind == 'add_tags' else 'remove'} tags {', '.join(action['tags'])}"
    if kind == "assign":
        return f"assign to agent {action['agent_id']}"
    if kind == "reply":
        return "reply: " + " ".join(action["body"].split())[:80]
    if kind == "remind":
        return reminder_rules.describe(action)
    return f"notify webhook {action['webhook_id']}"


async def dry_run(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    """Which of the latest tickets a rule (saved, or as written) would match, and what it would do; nothing
    is changed. Tickets are seen as they are now, business hours as when each was created."""
    limit = body.get("limit", 200)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= DRY_RUN_MAX:
        raise Invalid(f"limit must be 1 to {DRY_RUN_MAX}", "bad_limit")
    async with ctx.db.read() as s:
        if "rule_id" in body:
            saved = await s.get(Rule, body["rule_id"]) if isinstance(body["rule_id"], int) else None
            if saved is None:
                raise NotFound(f"rule {body['rule_id']} not found")
            rule: dict[str, Any] = {"conditions": saved.conditions, "actions": saved.actions}
        else:
            rule = await _checked(s, body.get("rule"))
        ids = list((await s.execute(select(Ticket.id).order_by(Ticket.id.desc()).limit(limit))).scalars())
        facts = await facts_of(s, ids, None)
        hits = [tid for tid in ids if tid in facts and R.matches(rule["conditions"], facts[tid])]
        tickets = {t.id: t for t in (await s.execute(select(Ticket).where(Ticket.id.in_(hits)))).scalars()}
    would = [describe(a) for a in rule["actions"]]
    return {
        "checked": len(ids),
        "matched": [
            {
                "ticket_id": tid,
                "subject": tickets[tid].subject,
                "status": tickets[tid].status,
                "channel": tickets[tid].channel,
                "queue": facts[tid].queue,
                "would": would,
            }
            for tid in hits
        ],
    }


async def apply(ctx: Context, ticket_id: int, matched: Sequence[Loaded]) -> None:
    """Run the actions of the rules that matched, in one transaction; publish after commit."""
    events: list[Event] = []
    hooks: list[tuple[int, dict[str, Any]]] = []
    async with ctx.db.write() as s:
        ticket = await lock_ticket(s, ticket_id)
        before_assignee = ticket.assignee_id
        customer = await s.get(Customer, ticket.customer_id)
        replies: list[Message] = []
        fired: list[int] = []
        for rule in matched:
            done = [
                d
                for a in rule.actions
                if (d := await _act(ctx, s, ticket, a, customer, replies, hooks, rule))
            ]
            if done:  # a rule whose actions changed nothing (its tags are there already...) leaves no trace
                fired.append(rule.id)
                history(
                    s,
                    ticket,
                    "rule",
                    text=f"rule {rule.name!r}: " + "; ".join(done),
                    data={"rule_id": rule.id},
                )
        if not fired:
            return
        touch(ticket)
        qname = await queue_name(s, ticket.queue_id)
        for msg in replies:
            events.append(message_event(ticket, msg, qname, "Switchboard"))
        kind = "ticket.assigned" if ticket.assignee_id not in (None, before_assignee) else "ticket.updated"
        events.append(
            ticket_event(
                kind,
                ticket,
                qname,
                before_assignee,
                freed_agent_id=before_assignee if ticket.assignee_id != before_assignee else None,
                reason="rule",
                rules=fired,
            )
        )
        view = ticket_view(ticket, qname)
    await ctx.publish(events)
    for hook_id, rule_data in hooks:
        await webhooks.enqueue(
            ctx, [(hook_id, "rule.matched")], "rule.matched", {**rule_data, "ticket": view}
        )


async def _act(
    ctx: Context,
    s: AsyncSession,
    ticket: Ticket,
    a: dict[str, Any],
    customer: Customer | None,
    replies: list[Message],
    hooks: list[tuple[int, dict[str, Any]]],
    rule: Loaded,
) -> str:
    """One action on the locked ticket; what it did, for the timeline ("" when it changed nothing)."""
    kind = a["type"]
    if kind == "set_queue":
        queue = (await s.execute(select(Queue).where(Queue.name == a["queue"]))).scalar_one_or_none()
        if queue is None or queue.id == ticket.queue_id:
            return "" if queue else f"no queue {a['queue']!r} (skipped)"
        ticket.queue_id = queue.id
        if ticket.assignee_id is not None:  # a transfer puts the ticket back in line there
            ticket.assignee_id, ticket.assigned_at = None, None
        if ticket.status in ACTIVE_STATUSES and ticket.queued_at is not None:
            ticket.queued_at = utcnow()
        return describe(a)
    if kind == "set_priority":
        if ticket.priority == a["priority"]:
            return ""
        ticket.priority = a["priority"]
        return describe(a)
    if kind in ("add_tags", "remove_tags"):
        tags = set(ticket.tags or [])
        new = tags | set(a["tags"]) if kind == "add_tags" else tags - set(a["tags"])
        if new == tags:
            return ""
        ticket.tags = sorted(new)
        return describe(a)
    if kind == "assign":
        agent = await s.get(Agent, a["agent_id"])
        if agent is None or not agent.active:
            return f"agent {a['agent_id']} is gone (skipped)"
        if ticket.assignee_id != agent.id:
            ticket.assignee_id, ticket.assigned_at = agent.id, utcnow()
            ticket.queued_at = ticket.queued_at or utcnow()
        return describe(a)
    if kind == "reply":
        if ticket.channel not in REPLY_CHANNELS:
            return f"no reply on {ticket.channel} (skipped)"
        body = R.fill(a["body"], customer.name if customer else "")
        msg = await add_message(s, ticket, body=body, author="system", direction="out", status="delivered")
        if ticket.channel != "chat":
            await outbound.prepare(s, ticket, msg, ctx.settings.support_address, automated=True)
        msg.meta = {**(msg.meta or {}), "rule_id": rule.id}
        replies.append(msg)
        return describe(a)
    if kind == "remind":
        return await reminders.from_rule(s, ticket, customer, a, rule.id)
    hooks.append((a["webhook_id"], {"rule_id": rule.id, "rule_name": rule.name}))
    return describe(a)


class RuleRunner:
    """The subscriber: on a ticket's creation or update (not one a rule made), the active rules of that
    trigger are checked and the matching ones applied."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._rules: list[Loaded] = []
        self._at = -RULES_TTL_S

    def changed(self) -> None:
        self._at = -RULES_TTL_S

    def on_event(self, event: Event) -> Awaitable[None] | None:
        if event.type not in ("ticket.created", "ticket.updated", "ticket.assigned"):
            return None
        # a rule's own change; new SLA due times; a reminder's own ticket (a rule may have scheduled it)
        if event.data.get("reason") in ("rule", "sla", "reminder"):
            return None
        trigger = "ticket.created" if event.type == "ticket.created" else "ticket.updated"
        ticket_id = int(event.data["ticket_id"])
        if time.monotonic() - self._at >= RULES_TTL_S:
            return self._run(trigger, ticket_id, reload=True)
        if not any(r.trigger == trigger for r in self._rules):
            return None
        return self._run(trigger, ticket_id, reload=False)

    async def _run(self, trigger: str, ticket_id: int, reload: bool) -> None:
        if reload:
            self._rules, self._at = await active_rules(self.ctx), time.monotonic()
        rules = [r for r in self._rules if r.trigger == trigger]
        if not rules:
            return
        async with self.ctx.db.read() as s:
            facts = (await facts_of(s, [ticket_id], utcnow())).get(ticket_id)
        if facts is None:
            return
        matched = [r for r in rules if R.matches(r.conditions, facts)]
        if matched:
            await apply(self.ctx, ticket_id, matched)
