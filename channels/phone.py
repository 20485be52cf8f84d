"""Phone numbers as E.164, with the phonenumbers library (never by hand)."""

from __future__ import annotations

import phonenumbers


def to_e164(raw: str, region: str | None = None) -> str | None:
    """The number in E.164 (+14155550100), or None when it is not a possible phone number.
    Without a country code a number needs `region` (e.g. "US")."""
    text = (raw or "").strip()
    if not text or len(text) > 40:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
