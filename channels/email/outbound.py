"""Sending mail through the relay of SWITCHBOARD_SMTP_RELAY with aiosmtplib.

`smtp://[user:pass@]host[:port]` uses STARTTLS when the relay offers it; `smtps://` speaks TLS from the
start. Every mail carries our own Message-ID and, for replies, In-Reply-To and References, so the
customer's answer threads back into its ticket; automated mail says so (Auto-Submitted: auto-replied).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

import aiosmtplib

from channels.base import OutboundMessage


class PermanentFailure(Exception):
    """Retrying will not help (a malformed address, a relay that refuses the recipient, no relay)."""


@dataclass(frozen=True)
class Relay:
    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool

    @classmethod
    def parse(cls, url: str) -> Relay:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"SWITCHBOARD_SMTP_RELAY must look like smtp://user:pass@host:port, not {url!r}")
        implicit = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if implicit else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=implicit,
        )


def build(message: OutboundMessage, sender: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = message.to
    mail["Subject"] = message.subject
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = f"<{message.email_message_id}>"
    if message.in_reply_to:
        mail["In-Reply-To"] = f"<{message.in_reply_to}>"
    if message.references:
        mail["References"] = " ".join(f"<{r}>" for r in message.references)
    if message.automated:
        mail["Auto-Submitted"] = "auto-replied"
        mail["X-Auto-Response-Suppress"] = "All"
    mail["X-Switchboard-Ticket"] = str(message.ticket_id)
    mail.set_content(message.body)
    mail.add_alternative(to_html(message.body), subtype="html")
    return mail


def to_html(text: str) -> str:
    """The reply as simple HTML: the text escaped (never interpreted), paragraphs and line breaks kept."""
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    body = "\n".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return (
        '<!doctype html><html><head><meta charset="utf-8"></head>'
        f'<body style="font-family: sans-serif; font-size: 14px; line-height: 1.5">{body}</body></html>'
    )


class EmailAdapter:
    name = "email"

    def __init__(self, relay_url: str, sender: str, timeout: float = 30.0) -> None:
        self.relay = Relay.parse(relay_url) if relay_url else None
        self.sender = sender
        self.timeout = timeout

    async def send(self, message: OutboundMessage) -> str:
        if self.relay is None:
            raise PermanentFailure("no SMTP relay configured (SWITCHBOARD_SMTP_RELAY)")
        if "@" not in message.to:
            raise PermanentFailure(f"no email address to reply to ({message.to!r})")
        mail = build(message, self.sender)
        try:
            await aiosmtplib.send(
                mail,
                hostname=self.relay.host,
                port=self.relay.port,
                username=self.relay.username,
                password=self.relay.password,
                use_tls=self.relay.implicit_tls,
                start_tls=None if not self.relay.implicit_tls else False,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as e:
            raise PermanentFailure(f"the relay refused the recipient: {e}") from e
        except aiosmtplib.SMTPResponseException as e:
            if 500 <= e.code < 600:
                raise PermanentFailure(f"the relay refused the mail: {e.code} {e.message}") from e
            raise
        return message.email_message_id
