"""Automation rules as data (pure): checking a rule an admin wrote, and deciding whether its conditions
hold for a ticket's facts.

A rule: {"name", "trigger": "ticket.created" | "ticket.updated", "conditions": [...], "actions": [...]}.
Every condition must hold: {"field", "op", "value"}:
- channel, queue, priority, status: op `is`, `is_not` (value a text) or `in`, `not_in` (a list);
- subject, text (the subject and the customer's latest message): op `contains`, `not_contains` (a text,
  any case), `contains_any` (a list of words or phrases);
- customer_tag, ticket_tag: op `has`, `has_not` (a tag);
- business_hours: op `is` with true or false (the ticket's queue calendar; without one, Monday to Friday
  09:00-17:00 UTC).
Actions, in order: set_queue {queue}, set_priority {priority}, add_tags {tags}, remove_tags {tags},
assign {agent_id}, reply {body} (through the ticket's channel; {{customer.first_name}} and
{{customer.name}} filled in), webhook {webhook_id} (a rule.matched delivery), remind {kind, channel, body,
subject?, in_days | attribute + days_before} (a reminder to the ticket's customer: app.domain.reminders).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.domain import reminders
from app.domain.models import CHANNELS, PRIORITIES, TICKET_STATUSES

TRIGGERS = ("ticket.created", "ticket.updated")
CHOICE_FIELDS = ("channel", "queue", "priority", "status")
TEXT_FIELDS = ("subject", "text")
TAG_FIELDS = ("customer_tag", "ticket_tag")
OPS = {
    **{f: ("is", "is_not", "in", "not_in") for f in CHOICE_FIELDS},
    **{f: ("contains", "not_contains", "contains_any") for f in TEXT_FIELDS},
    **{f: ("has", "has_not") for f in TAG_FIELDS},
    "business_hours": ("is",),
}
ACTIONS = ("set_queue", "set_priority", "add_tags", "remove_tags", "assign", "reply", "webhook", "remind")
KNOWN = {"channel": CHANNELS, "priority": PRIORITIES, "status": TICKET_STATUSES}
MAX_CONDITIONS = 20
MAX_ACTIONS = 10
REPLY_MAX = 10_000


class RuleError(ValueError):
    pass


@dataclass(frozen=True)
class Facts:
    """What conditions look at, for one ticket."""

    channel: str
    queue: str
    priority: str
    status: str
    subject: str = ""
    text: str = ""
    customer_tags: frozenset[str] = field(default_factory=frozenset)
    ticket_tags: frozenset[str] = field(default_factory=frozenset)
    business_hours: bool = True


def _text_value(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 500:
        raise RuleError(f"{where}: value must be a text of 1 to 500 characters")
    return value.strip()


def check_condition(raw: Any, i: int) -> dict[str, Any]:
    where = f"condition {i + 1}"
    if not isinstance(raw, dict) or set(raw) - {"field", "op", "value"}:
        raise RuleError(f"{where}: must be {{field, op, value}}")
    name, op, value = raw.get("field"), raw.get("op"), raw.get("value")
    if name not in OPS:
        raise RuleError(f"{where}: field must be one of {', '.join(OPS)}")
    if op not in OPS[name]:
        raise RuleError(f"{where}: {name} takes op {', '.join(OPS[name])}")
    if name == "business_hours":
        if not isinstance(value, bool):
            raise RuleError(f"{where}: business_hours is true or false")
        return {"field": name, "op": op, "value": value}
    if op in ("in", "not_in", "contains_any"):
        if not isinstance(value, list) or not value or len(value) > 100:
            raise RuleError(f"{where}: value must be a list of 1 to 100 texts")
        values = [_text_value(v, where) for v in value]
        for v in values if name in KNOWN else ():
            if v not in KNOWN[name]:
                raise RuleError(f"{where}: {v!r} is not a {name} ({', '.join(KNOWN[name])})")
        return {"field": name, "op": op, "value": values}
    text = _text_value(value, where)
    if name in KNOWN and text not in KNOWN[name]:
        raise RuleError(f"{where}: {text!r} is not a {name} ({', '.join(KNOWN[name])})")
    return {"field": name, "op": op, "value": text}


def check_action(raw: Any, i: int) -> dict[str, Any]:
    """The shape of an action; whether its queue, agent or webhook exists is the caller's to check."""
    where = f"action {i + 1}"
    if not isinstance(raw, dict) or raw.get("type") not in ACTIONS:
        raise RuleError(f"{where}: type must be one of {', '.join(ACTIONS)}")
    kind = raw["type"]
    if kind == "remind":
        try:
            return reminders.check_action(raw, where)
        except reminders.ReminderError as e:
            raise RuleError(str(e)) from None
    wanted = {
        "set_queue": "queue",
        "set_priority": "priority",
        "add_tags": "tags",
        "remove_tags": "tags",
        "assign": "agent_id",
        "reply": "body",
        "webhook": "webhook_id",
    }[kind]
    if set(raw) != {"type", wanted}:
        raise RuleError(f"{where}: {kind} takes {{type, {wanted}}}")
    value = raw[wanted]
    if wanted in ("agent_id", "webhook_id"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise RuleError(f"{where}: {wanted} must be an id")
    elif wanted == "tags":
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(t, str) and 0 < len(t) <= 64 for t in value)
        ):
            raise RuleError(f"{where}: tags must be a list of texts of 1 to 64 characters")
        value = sorted(set(value))
    elif wanted == "priority":
        if value not in PRIORITIES:
            raise RuleError(f"{where}: priority must be one of {', '.join(PRIORITIES)}")
    elif wanted == "body":
        if not isinstance(value, str) or not value.strip() or len(value) > REPLY_MAX:
            raise RuleError(f"{where}: body must be a text of 1 to {REPLY_MAX} characters")
    elif not isinstance(value, str) or not value.strip():
        raise RuleError(f"{where}: {wanted} must be a text")
    return {"type": kind, wanted: value}


def check_rule(raw: Any) -> dict[str, Any]:
    """The rule as stored, or RuleError saying what is wrong."""
    if not isinstance(raw, dict):
        raise RuleError("a rule is an object")
    unknown = set(raw) - {"name", "trigger", "conditions", "actions", "active", "position"}
    if unknown:
        raise RuleError(f"unknown fields: {', '.join(sorted(unknown))}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 120:
        raise RuleError("name must be a text of 1 to 120 characters")
    if raw.get("trigger") not in TRIGGERS:
        raise RuleError(f"trigger must be one of {', '.join(TRIGGERS)}")
    conditions, actions = raw.get("conditions", []), raw.get("actions")
    if not isinstance(conditions, list) or len(conditions) > MAX_CONDITIONS:
        raise RuleError(f"conditions must be a list of at most {MAX_CONDITIONS}")
    if not isinstance(actions, list) or not actions or len(actions) > MAX_ACTIONS:
        raise RuleError(f"actions must be a list of 1 to {MAX_ACTIONS}")
    active, position = raw.get("active", True), raw.get("position", 0)
    if not isinstance(active, bool):
        raise RuleError("active must be true or false")
    if isinstance(position, bool) or not isinstance(position, int):
        raise RuleError("position must be a whole number")
    return {
        "name": name.strip(),
        "trigger": raw["trigger"],
        "conditions": [check_condition(c, i) for i, c in enumerate(conditions)],
        "actions": [check_action(a, i) for i, a in enumerate(actions)],
        "active": active,
        "position": position,
    }


def _holds(c: dict[str, Any], facts: Facts) -> bool:
    name, op, value = c["field"], c["op"], c["value"]
    if name == "business_hours":
        return bool(facts.business_hours == value)
    if name in CHOICE_FIELDS:
        mine = str(getattr(facts, name))
        options = value if isinstance(value, list) else [value]
        if op == "is":
            return bool(mine == value)
        if op == "is_not":
            return bool(mine != value)
        return (mine in options) if op == "in" else (mine not in options)
    if name in TEXT_FIELDS:
        haystack = (facts.subject if name == "subject" else f"{facts.subject}\n{facts.text}").casefold()
        if op == "contains_any":
            return any(str(v).casefold() in haystack for v in value)
        found = str(value).casefold() in haystack
        return found if op == "contains" else not found
    tags = facts.customer_tags if name == "customer_tag" else facts.ticket_tags
    return (value in tags) if op == "has" else (value not in tags)


def matches(conditions: list[dict[str, Any]], facts: Facts) -> bool:
    return all(_holds(c, facts) for c in conditions)


def fill(body: str, customer_name: str) -> str:
    first = customer_name.split()[0] if customer_name.split() else ""
    return body.replace("{{customer.first_name}}", first).replace("{{customer.name}}", customer_name)
