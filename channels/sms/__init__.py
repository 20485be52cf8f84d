"""SMS through Twilio: the Messaging webhook's form in, the REST API out."""

from channels.sms.parse import keyword, parse_sms

__all__ = ["keyword", "parse_sms"]
