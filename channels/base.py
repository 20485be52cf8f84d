"""The one shape every channel adapter turns its wire format into, and the adapter interface.

Adapters know their wire format and nothing else: `parse()` is pure (bytes or a form in, InboundMessage
out, testable on fixture files) and `send()` delivers an OutboundMessage and returns the provider's id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


class Unparseable(ValueError):
    """The input cannot be understood; the caller keeps it raw in quarantine, never drops it."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str | None = None  # for inline `cid:` images, without the angle brackets
    inline: bool = False

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class InboundMessage:
    channel: str  # "email", "sms", "voice", "chat"
    sender: str  # the sender's address on the channel, normalised: lower-case email, E.164 phone
    body: str  # the new text (for email: the quoted history split off)
    external_id: str  # the provider's id (Message-ID without <>, MessageSid): unique per channel
    sender_name: str = ""
    subject: str = ""
    recipients: tuple[str, ...] = ()  # normalised addresses it was sent to (To, Cc)
    # message ids this one answers (In-Reply-To first, then References, newest first), without <>
    references: tuple[str, ...] = ()
    automated: bool = False  # an auto-reply, bounce, list mail...: stored, never answered
    automated_reason: str = ""
    bounce_of: str | None = None  # for a bounce: the Message-ID of the mail that failed, when found
    quoted: str = ""  # the quoted history split off the body
    html: str | None = None  # sanitised HTML of an HTML mail, for display
    attachments: tuple[Attachment, ...] = ()
    media_urls: tuple[str, ...] = ()  # MMS media
    sent_at: datetime | None = None  # the Date the sender claims
    warnings: tuple[str, ...] = field(default=())  # what was repaired while parsing (broken headers...)


@dataclass(frozen=True)
class OutboundMessage:
    channel: str
    to: str
    body: str
    ticket_id: int
    message_id: int
    subject: str = ""
    # email threading: our own Message-ID for this mail, and the ids it answers (without <>)
    email_message_id: str = ""
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    automated: bool = False


class ChannelAdapter(Protocol):
    name: str

    async def send(self, message: OutboundMessage) -> str:
        """Deliver; return the provider's id. Raises on failure (the caller retries or marks it failed)."""
        ...
