"""Reminders as data: times with their offsets, a rule's `remind` action, and when it falls due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.domain import reminders as R

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def test_times_need_their_offset_and_a_past_one_means_now() -> None:
    assert R.parse_time("2027-01-31T09:00:00+01:00", "due_at", NOW) == datetime(2027, 1, 31, 8, 0, tzinfo=UTC)
    assert R.parse_time("2026-12-01T09:00:00Z", "due_at", NOW) == NOW
    for bad in ("2027-01-31T09:00:00", "tomorrow", "", 5, None, "2030-01-31T09:00:00+00:00", "x" * 50):
        with pytest.raises(R.ReminderError) as e:
            R.parse_time(bad, "due_at", NOW)
        assert e.value.code == "bad_due_at"


def test_a_request_is_checked_field_by_field() -> None:
    good = {"kind": "payment", "channel": "sms", "body": " Pay by Friday ", "due_at": "2027-01-01T09:00:00Z"}
    out = R.check_request(good, NOW)
    assert out["body"] == "Pay by Friday" and out["subject"] == "" and out["ticket_id"] is None
    assert R.check_request({k: v for k, v in good.items() if k != "kind"}, NOW)["kind"] == "other"
    for change, code in (
        ({"channel": "fax"}, "bad_channel"),
        ({"kind": "birthday"}, "bad_kind"),
        ({"body": "x" * 1601}, "bad_body"),  # longer than an SMS may be
        ({"subject": "Hi"}, "bad_subject"),  # an SMS has none
        ({"ticket_id": "7"}, "bad_ticket_id"),
        ({"ticket_id": True}, "bad_ticket_id"),
        ({"when": "now"}, "unknown_field"),
    ):
        with pytest.raises(R.ReminderError) as e:
            R.check_request({**good, **change}, NOW)
        assert e.value.code == code, change
    assert R.check_request({**good, "channel": "email", "body": "x" * 5000}, NOW)["channel"] == "email"


RENEW: dict[str, Any] = {
    "type": "remind",
    "kind": "renewal",
    "channel": "email",
    "body": "Your plan renews soon.",
    "attribute": "renewal_date",
    "days_before": 7,
}


def test_a_rule_says_when_one_way_only() -> None:
    assert R.check_action(RENEW, "action 1") == {**RENEW, "subject": ""}
    later = {k: v for k, v in RENEW.items() if k not in ("attribute", "days_before")} | {"in_days": 3}
    assert R.check_action(later, "action 1")["in_days"] == 3
    for bad in (
        {**RENEW, "in_days": 3},
        {k: v for k, v in RENEW.items() if k != "attribute"},
        {**RENEW, "days_before": -1},
        {**RENEW, "days_before": 1.5},
        {**RENEW, "attribute": " "},
        {**later, "days_before": 2},
        {**RENEW, "colour": "red"},
        {**RENEW, "channel": "voice"},
    ):
        with pytest.raises(R.ReminderError):
            R.check_action(bad, "action 1")


def test_when_a_rules_reminder_falls_due() -> None:
    assert R.due_for({"in_days": 2}, {}, NOW) == NOW + timedelta(days=2)
    # seven days before the renewal date, at 09:00 UTC
    assert R.due_for(RENEW, {"renewal_date": "2027-03-10"}, NOW) == datetime(2027, 3, 3, 9, 0, tzinfo=UTC)
    assert R.due_for(RENEW, {"renewal_date": "2026-12-05"}, NOW) is None  # that day has passed
    assert R.due_for(RENEW, {}, NOW) is None
    assert R.due_for(RENEW, {"renewal_date": "soon"}, NOW) is None
    assert R.due_for(RENEW, {"renewal_date": 20270310}, NOW) is None
