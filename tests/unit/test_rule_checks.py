"""Rules as data: what the checker refuses, and how each condition decides."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.rules import Facts, RuleError, check_rule, fill, matches

BASE: dict[str, Any] = {
    "name": "r",
    "trigger": "ticket.created",
    "actions": [{"type": "add_tags", "tags": ["x"]}],
}
FACTS = Facts(
    channel="email",
    queue="billing",
    priority="high",
    status="open",
    subject="Refund for order 42",
    text="I was charged TWICE",
    customer_tags=frozenset({"vip"}),
    ticket_tags=frozenset({"billing"}),
    business_hours=False,
)


def holds(field: str, op: str, value: Any) -> bool:
    rule = check_rule({**BASE, "conditions": [{"field": field, "op": op, "value": value}]})
    return matches(rule["conditions"], FACTS)


def test_each_condition() -> None:
    assert holds("channel", "is", "email") and not holds("channel", "is_not", "email")
    assert holds("queue", "in", ["billing", "general"]) and holds("priority", "not_in", ["low", "normal"])
    assert holds("subject", "contains", "refund") and not holds("subject", "contains", "twice")
    assert holds("text", "contains", "twice")  # the text is the subject and the customer's message
    assert holds("text", "contains_any", ["chargeback", "charged twice"])
    assert holds("text", "not_contains", "cancel")
    assert holds("customer_tag", "has", "vip") and holds("ticket_tag", "has_not", "vip")
    assert holds("business_hours", "is", False) and not holds("business_hours", "is", True)
    assert matches([], FACTS)  # no conditions: always


@pytest.mark.parametrize(
    "change",
    [
        {"name": ""},
        {"trigger": "ticket.deleted"},
        {"actions": []},
        {"actions": [{"type": "explode"}]},
        {"actions": [{"type": "set_priority", "priority": "asap"}]},
        {"actions": [{"type": "assign", "agent_id": "7"}]},
        {"actions": [{"type": "reply", "body": " "}]},
        {"actions": [{"type": "add_tags", "tags": "vip"}]},
        {"actions": [{"type": "add_tags", "tags": ["x"], "extra": 1}]},
        {"conditions": [{"field": "channel", "op": "contains", "value": "e"}]},
        {"conditions": [{"field": "priority", "op": "is", "value": "asap"}]},
        {"conditions": [{"field": "queue", "op": "in", "value": []}]},
        {"conditions": [{"field": "business_hours", "op": "is", "value": "yes"}]},
        {"conditions": "channel is email"},
        {"active": "yes"},
        {"colour": "red"},
    ],
)
def test_bad_rules_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(RuleError):
        check_rule({**BASE, **change})


def test_reply_placeholders() -> None:
    assert fill("Hi {{customer.first_name}} ({{customer.name}})", "Greta Lind") == "Hi Greta (Greta Lind)"
    assert fill("Hi {{customer.first_name}}", "") == "Hi "
