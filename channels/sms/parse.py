"""Twilio's Messaging webhook form -> InboundMessage. Pure: a dict in, a message out."""

from __future__ import annotations

from collections.abc import Mapping

from channels.base import InboundMessage, Unparseable
from channels.phone import to_e164

MAX_MEDIA = 10
OPT_OUT = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout", "revoke"})
OPT_IN = frozenset({"start", "yes", "unstop", "optin"})
HELP = frozenset({"help", "info"})


def parse_sms(form: Mapping[str, str]) -> InboundMessage:
    sid = (form.get("MessageSid") or form.get("SmsSid") or "").strip()
    sender = to_e164(form.get("From", ""))
    if not sid or sender is None:
        raise Unparseable("an SMS webhook needs MessageSid and a From number")
    try:
        n_media = max(0, min(MAX_MEDIA, int(form.get("NumMedia") or 0)))
    except ValueError:
        n_media = 0
    media = tuple(u for i in range(n_media) if (u := form.get(f"MediaUrl{i}", "").strip()))
    to = to_e164(form.get("To", ""))
    return InboundMessage(
        channel="sms",
        sender=sender,
        body=(form.get("Body") or "").replace("\x00", "")[: 64 * 1024],
        external_id=sid[:300],
        recipients=(to,) if to else (),
        media_urls=media,
    )


def keyword(body: str) -> str | None:
    """ "stop", "start" or "help" when the whole message is one of the carrier keywords, else None."""
    word = body.strip().strip(".!").lower()
    if word in OPT_OUT:
        return "stop"
    if word in OPT_IN:
        return "start"
    if word in HELP:
        return "help"
    return None
