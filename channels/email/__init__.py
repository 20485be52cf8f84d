"""The email channel: parsing raw RFC 5322 mail into an InboundMessage."""

from channels.email.parse import parse_email

__all__ = ["parse_email"]
