"""Is this mail automated (auto-reply, bounce, list mail), and which mail did a bounce return?"""

from __future__ import annotations

import re
from collections.abc import Callable
from email.message import Message

from channels.email.headers import message_ids, raw_all, raw_to_text

_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply", "auto-reply"})
_DAEMON_LOCALPARTS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"})
_DSN_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})


def _header_values(msg: Message, name: str) -> list[str]:
    return [raw_to_text(v) for v in raw_all(msg, name)]


def automated_reasons(
    msg: Message, sender: str, walk: Callable[[], list[Message]], content_type: Callable[[Message], str]
) -> tuple[list[str], bool]:
    """(reasons, is_bounce). ``walk`` lists the message's parts; ``content_type`` reads one safely."""
    reasons: list[str] = []
    for value in _header_values(msg, "Auto-Submitted"):
        token = re.split(r"[\s;(]", value.strip().lower(), maxsplit=1)[0]
        if token and token != "no":
            reasons.append(f"Auto-Submitted: {token}")
            break
    for value in _header_values(msg, "Precedence"):
        token = value.strip().lower()
        if token in _BULK_PRECEDENCE:
            reasons.append(f"Precedence: {token}")
            break
    for name in (
        "X-Autoreply",
        "X-Autorespond",
        "X-Auto-Response-Suppress",
        "X-Autoreply-From",
        "X-Mail-Autoreply",
    ):
        if raw_all(msg, name):
            reasons.append(f"{name} present")
    for value in _header_values(msg, "Return-Path"):
        if re.fullmatch(r"\s*<\s*>\s*", value):
            reasons.append("empty Return-Path")
            break
    if raw_all(msg, "List-Id") or raw_all(msg, "List-Unsubscribe"):
        reasons.append("mailing list (List-Id/List-Unsubscribe)")

    bounce = False
    top_type = content_type(msg)
    report_type = ""
    try:
        report_type = str(msg.get_param("report-type", "") or "").lower()
    except Exception:
        report_type = ""
    if (
        top_type == "multipart/report"
        and (report_type in ("", "delivery-status") or report_type.endswith("status"))
    ) or any(content_type(p) in _DSN_TYPES for p in walk()):
        bounce = True
    local = sender.split("@", 1)[0].lower() if sender else ""
    if local in _DAEMON_LOCALPARTS:
        bounce = True
    if not sender:
        from_text = " ".join(_header_values(msg, "From")).lower()
        if "mailer-daemon" in from_text or "mailer daemon" in from_text or "postmaster" in from_text:
            bounce = True
    if bounce:
        reasons.insert(0, "delivery status report (bounce)")
    return reasons, bounce


_MSGID_IN_TEXT = re.compile(r"^\s*message-id\s*:\s*(<[^>\s]+>)", re.IGNORECASE | re.MULTILINE)


def bounced_message_id(
    walk: Callable[[], list[Message]],
    content_type: Callable[[Message], str],
    part_text: Callable[[Message], str],
) -> str | None:
    """The Message-ID of the mail a delivery report returns: from its message/rfc822 or
    text/rfc822-headers part, else from a "Message-ID:" line in the report's text."""
    parts = walk()
    for part in parts:
        ctype = content_type(part)
        if ctype in ("message/rfc822", "message/global") and part.is_multipart():
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                for value in raw_all(inner, "Message-ID"):
                    ids = message_ids(value)
                    if ids:
                        return ids[0]
    for part in parts:
        ctype = content_type(part)
        if ctype in (
            "text/rfc822-headers",
            "message/rfc822-headers",
            "message/rfc822",
            "message/global-headers",
        ):
            m = _MSGID_IN_TEXT.search(part_text(part))
            if m:
                ids = message_ids(m.group(1))
                if ids:
                    return ids[0]
    for part in parts:
        if content_type(part).startswith("text/") or isinstance(part.get_payload(), str):
            m = _MSGID_IN_TEXT.search(part_text(part))
            if m:
                ids = message_ids(m.group(1))
                if ids:
                    return ids[0]
    return None
