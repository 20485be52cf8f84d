"""Reminders as data (pure): what an agent or a rule asks for, checked, and when a rule's reminder falls due.

A reminder to a customer: {"kind": "renewal" | "payment" | "other", "channel": "email" | "sms", "body",
"subject" (email only, optional), "due_at" (an ISO 8601 time with its offset)}. A rule's `remind` action
says when relative to the moment it fires (`in_days`) or to a date attribute of the customer
(`attribute`, `days_before`): at 09:00 UTC that day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

KINDS = ("renewal", "payment", "other")
CHANNELS = ("email", "sms")
STATUSES = ("scheduled", "sent", "skipped", "cancelled")
BODY_MAX = {"email": 10_000, "sms": 1_600}
SUBJECT_MAX = 300
MAX_DAYS = 3 * 366
HORIZON = timedelta(days=MAX_DAYS)  # the furthest ahead a reminder, a rule's delay or a wake-up may be set
SEND_AT = time(9, 0, tzinfo=UTC)  # the hour of a reminder set by a date attribute


class ReminderError(ValueError):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def parse_time(value: Any, name: str, now: datetime) -> datetime:
    """An ISO 8601 time with its offset, not more than HORIZON ahead (a past one means now)."""
    if not isinstance(value, str) or len(value) > 40:
        raise ReminderError(f"{name} must be an ISO 8601 time with its offset", f"bad_{name}")
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise ReminderError(f"{name} must be an ISO 8601 time with its offset", f"bad_{name}") from None
    if at.tzinfo is None:
        raise ReminderError(f"{name} needs its offset (e.g. 2027-01-31T09:00:00+01:00)", f"bad_{name}")
    at = at.astimezone(UTC)
    if at - now > HORIZON:
        raise ReminderError(f"{name} is more than three years ahead", f"bad_{name}")
    return max(at, now)


def _text(value: Any, name: str, most: int, required: bool) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > most:
        raise ReminderError(f"{name} must be a text of {int(required)} to {most} characters", f"bad_{name}")
    return value.strip()


def _shape(raw: dict[str, Any]) -> dict[str, Any]:
    """kind, channel, body and subject, checked."""
    if raw.get("kind", "other") not in KINDS:
        raise ReminderError(f"kind must be one of {', '.join(KINDS)}", "bad_kind")
    if raw.get("channel") not in CHANNELS:
        raise ReminderError(f"channel must be one of {', '.join(CHANNELS)}", "bad_channel")
    channel = raw["channel"]
    subject = _text(raw.get("subject"), "subject", SUBJECT_MAX, required=False)
    if subject and channel != "email":
        raise ReminderError("only an email has a subject", "bad_subject")
    return {
        "kind": raw.get("kind", "other"),
        "channel": channel,
        "body": _text(raw.get("body"), "body", BODY_MAX[channel], required=True),
        "subject": subject,
    }


def check_request(raw: Any, now: datetime) -> dict[str, Any]:
    """An agent's reminder: kind, channel, body, subject, due_at (and ticket_id, whose the caller checks)."""
    if not isinstance(raw, dict):
        raise ReminderError("a reminder is an object", "bad_reminder")
    unknown = set(raw) - {"kind", "channel", "body", "subject", "due_at", "ticket_id"}
    if unknown:
        raise ReminderError(f"unknown fields: {', '.join(sorted(unknown))}", "unknown_field")
    ticket_id = raw.get("ticket_id")
    if ticket_id is not None and (isinstance(ticket_id, bool) or not isinstance(ticket_id, int)):
        raise ReminderError("ticket_id must be a ticket's id", "bad_ticket_id")
    return {**_shape(raw), "due_at": parse_time(raw.get("due_at"), "due_at", now), "ticket_id": ticket_id}


def check_action(raw: dict[str, Any], where: str) -> dict[str, Any]:
    """A rule's `remind` action: {type, kind, channel, body, subject?} and either in_days or attribute
    with days_before."""
    allowed = {"type", "kind", "channel", "body", "subject", "in_days", "attribute", "days_before"}
    unknown = set(raw) - allowed
    if unknown:
        raise ReminderError(f"{where}: remind does not take {', '.join(sorted(unknown))}", "bad_rule")
    try:
        action: dict[str, Any] = {"type": "remind", **_shape(raw)}
    except ReminderError as e:
        raise ReminderError(f"{where}: {e}", "bad_rule") from None
    if ("in_days" in raw) == ("attribute" in raw):
        raise ReminderError(f"{where}: remind takes in_days, or attribute with days_before", "bad_rule")
    key = "in_days" if "in_days" in raw else "days_before"
    days = raw.get(key, 0)
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_DAYS:
        raise ReminderError(f"{where}: {key} must be a whole number of 0 to {MAX_DAYS}", "bad_rule")
    action[key] = days
    if "attribute" in raw:
        if not isinstance(raw["attribute"], str) or not raw["attribute"].strip():
            raise ReminderError(f"{where}: attribute must be the key of a date attribute", "bad_rule")
        action["attribute"] = raw["attribute"].strip()
    elif "days_before" in raw:
        raise ReminderError(f"{where}: days_before goes with attribute", "bad_rule")
    return action


def due_for(action: dict[str, Any], attributes: dict[str, Any], now: datetime) -> datetime | None:
    """When a rule's reminder falls due for a customer with these attributes; None when it cannot (the
    attribute is not set, or its day less days_before has passed)."""
    if "in_days" in action:
        return now + timedelta(days=int(action["in_days"]))
    value = attributes.get(action["attribute"])
    try:
        day = date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        day = None
    if day is None:
        return None
    at = datetime.combine(day - timedelta(days=int(action["days_before"])), SEND_AT)
    return at if at >= now else None


def describe(action: dict[str, Any]) -> str:
    when = (
        f"in {action['in_days']} days"
        if "in_days" in action
        else f"{action['days_before']} days before {action['attribute']}"
    )
    return f"{action['kind']} reminder by {action['channel']} {when}"
