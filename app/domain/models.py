"""The data model: customers with identities, tickets with messages, agents in queues, the FAQ, the
customer timeline. Every table is created by the Alembic migrations in app/db/migrations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from app.domain.types import UTCDateTime, utcnow

TICKET_STATUSES = ("new", "open", "pending", "resolved", "closed")
# statuses in which an assigned ticket takes one unit of its agent's capacity
ACTIVE_STATUSES = ("new", "open")
PRIORITIES = ("low", "normal", "high", "urgent")
ROLES = ("agent", "supervisor", "admin")
AUTHORS = ("customer", "agent", "bot", "system")
CHANNELS = ("chat", "email", "sms", "voice")
ATTRIBUTE_TYPES = ("text", "number", "date", "choice")


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}


class BusinessCalendar(Base):
    """Opening hours in a time zone, with holidays (app/domain/calendar.py reads them); a queue's SLA
    timers and the rules' business_hours condition count in its calendar."""

    __tablename__ = "calendars"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # {"mon": [["09:00", "17:00"]], ...}
    hours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # ["2026-12-24", ...]
    holidays: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Queue(Base):
    __tablename__ = "queues"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    # (removing a calendar sets its queues' back to none first: app/actions/calendars.py)
    calendar_id: Mapped[int | None] = mapped_column(ForeignKey("calendars.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Agent(Base):
    __tablename__ = "agents"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="agent")
    capacity: Mapped[int] = mapped_column(Integer, default=3)
    # E.164 number calls are put through to (<Dial>); none: the agent takes no calls
    phone: Mapped[str | None] = mapped_column(String(32))
    presence: Mapped[str] = mapped_column(String(16), default="away")
    presence_at: Mapped[datetime] = mapped_column(default=utcnow)
    # when the agent last became free to take work (ties in routing go to the longest idle)
    idle_since: Mapped[datetime] = mapped_column(default=utcnow)
    # bumped on a password change: every token issued before is void
    token_epoch: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # two-step sign-in (TOTP, RFC 6238): the secret once confirmed, the one being set up, and the time step
    # of the last code accepted (a code is good once)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_pending: Mapped[str | None] = mapped_column(String(64))
    totp_step: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    queues: Mapped[list[Queue]] = relationship(secondary="agent_queues", lazy="selectin")


class AgentQueue(Base):
    __tablename__ = "agent_queues"
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True)


class AuthToken(Base):
    __tablename__ = "auth_tokens"
    # sha256 of the bearer token: the token itself is never stored
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    epoch: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class LoginThrottle(Base):
    """Failed logins in a row for one email address, known or not (so a lockout tells nothing about which
    addresses are agents'), and until when further tries are refused."""

    __tablename__ = "login_throttle"
    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Who read or changed what: one signed-in request of an agent (or a login, or a command), kept apart
    from the customers' timelines."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_agent", "agent_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # no foreign key: the trail outlives whatever it names
    agent_id: Mapped[int | None]
    agent_email: Mapped[str] = mapped_column(String(320), default="")
    action: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(8), default="")
    path: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[int] = mapped_column(Integer, default=0)
    client: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    # SMS STOP: no further text messages until START
    sms_opt_out: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # no reminders or other mail the customer did not ask for (replies to their own mail still go)
    email_unsubscribed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    company: Mapped[str] = mapped_column(String(200), default="", server_default="")
    tags: Mapped[list[str]] = mapped_column(default=list, server_default=text("'[]'"))
    # values of the attributes admins define (AttributeDef), by key
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None]
    identities: Mapped[list[Identity]] = relationship(
        back_populates="customer", lazy="selectin", order_by="Identity.id"
    )


class AttributeDef(Base):
    """A customer attribute an admin defined: its key in Customer.attributes, its label, its type (text,
    number, date, choice) and, for a choice, the allowed values."""

    __tablename__ = "attribute_defs"
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    label: Mapped[str] = mapped_column(String(120))
    type: Mapped[str] = mapped_column(String(16))
    choices: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustomerMerge(Base):
    """One customer folded into another: what moved (ids by table), so the merge can be undone."""

    __tablename__ = "customer_merges"
    id: Mapped[int] = mapped_column(primary_key=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    other_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    # {"identities": [ids], "tickets": [...], "chat_sessions": [...], "history": [...], "calls": [...],
    #  "customers": [ids merged into the other earlier], "survivor": {the survivor's profile before}}
    moved: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_at: Mapped[datetime | None]
    undone_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))


class DuplicatePair(Base):
    """Two customers the duplicate finder holds to be one person (a < b), with its reasons; open until an
    agent merges or dismisses them (a dismissed pair is not suggested again)."""

    __tablename__ = "duplicate_pairs"
    __table_args__ = (
        UniqueConstraint("a_id", "b_id", name="uq_duplicate_pair"),
        Index("ix_duplicate_open", "status", "score"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    a_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    b_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # open, dismissed, merged
    status: Mapped[str] = mapped_column(String(16), default="open")
    found_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))


class Identity(Base):
    """How a customer is reached: an email, an E.164 phone, a chat visitor. A verified identity (one the
    channel proved: mail from the address, a call from the number) is unique; a claimed one (an address
    typed into the widget) is kept but never used to find the customer."""

    __tablename__ = "identities"
    __table_args__ = (
        Index(
            "uq_identity_verified",
            "kind",
            "address",
            unique=True,
            sqlite_where=text("verified"),
            postgresql_where=text("verified"),
        ),
        Index("ix_identity_lookup", "kind", "address"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    verified: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    customer: Mapped[Customer] = relationship(back_populates="identities")


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_ticket_waiting", "queue_id", "status", "assignee_id"),
        Index("ix_ticket_assignee", "assignee_id", "status"),
        # the board's figures read only the live part of the table, whatever its size: the active tickets
        # (waiting ones and agents' loads), and today's resolutions and first responses
        Index("ix_ticket_active", "status", "assignee_id", "queue_id", "queued_at"),
        Index("ix_ticket_resolved", "resolved_at", "queue_id"),
        Index("ix_ticket_first_response", "first_response_at"),
        # the reports (app/domain/reports.py): covering, so a year's figures read no table rows
        Index("ix_ticket_created", "created_at", "queue_id", "channel"),
        Index("ix_ticket_first_response_report", "first_response_at", "created_at", "queue_id", "channel"),
        Index("ix_ticket_resolved_report", "resolved_at", "created_at", "queue_id", "channel"),
        Index("ix_ticket_first_response_due", "first_response_due_at"),
        Index("ix_ticket_resolution_due", "resolution_due_at"),
        Index("ix_ticket_pending_until", "pending_until"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    subject: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(16), default="new")
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    channel: Mapped[str] = mapped_column(String(16))
    tags: Mapped[list[str]] = mapped_column(default=list)
    # a person is wanted: set at handoff, cleared when resolved; with no assignee it means "waiting"
    queued_at: Mapped[datetime | None]
    assigned_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    # the SLA's targets (app/actions/sla.py), in business time of the queue's calendar, and when they were
    # missed (set once, by the sweep)
    first_response_due_at: Mapped[datetime | None]
    resolution_due_at: Mapped[datetime | None]
    first_response_breached_at: Mapped[datetime | None]
    resolution_breached_at: Mapped[datetime | None]
    # a pending ticket wakes up (back to open) at this time (app/actions/reminders.py)
    pending_until: Mapped[datetime | None]
    # the last message seq handed out (messages are numbered 1, 2, ... per ticket)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    # bumped by every change to the ticket or its messages; events carry it as their seq
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("ticket_id", "seq", name="uq_message_seq"),
        UniqueConstraint("channel", "external_id", name="uq_message_external"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    seq: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(3))
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    channel: Mapped[str] = mapped_column(String(16))
    # the provider's id (or the widget's client_id), unique per channel: a redelivery is stored once
    external_id: Mapped[str | None] = mapped_column(String(300))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    # delivery state of outbound messages: queued, sent, delivered, failed
    status: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # channel details: sender and recipients, threading decision, automated flag, sanitised HTML...
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'"))
    # outbound delivery: tries so far, and when the next one is due (None: not queued)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)


class Attachment(Base):
    """A file that came with a message. Its id is 128 random bits (hex), never a guessable counter."""

    __tablename__ = "attachments"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    content_id: Mapped[str | None] = mapped_column(String(255))
    inline: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Quarantine(Base):
    """Input that could not be understood, kept raw for admins to look at and process again."""

    __tablename__ = "quarantine"
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    error: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))


class ChatSession(Base):
    """A widget visitor. The visitor token is a 256-bit secret; only its sha256 is stored."""

    __tablename__ = "chat_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # public handle of the visitor, used as its identity address (never the secret)
    visitor_id: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class HistoryEntry(Base):
    """One line of a customer's timeline: a message, a handoff, an assignment, a status change."""

    __tablename__ = "history"
    __table_args__ = (
        Index("ix_history_customer", "customer_id", "at", "id"),
        # the reports' bot deflection: only the bot's lines and handoffs
        Index(
            "ix_history_bot",
            "at",
            "ticket_id",
            "kind",
            "author",
            sqlite_where=text("kind IN ('bot.answer', 'bot.clarify', 'handoff')"),
            postgresql_where=text("kind IN ('bot.answer', 'bot.clarify', 'handoff')"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str | None] = mapped_column(String(16))
    direction: Mapped[str | None] = mapped_column(String(3))
    author: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    # the text of non-message entries; a message's text is read from the message
    text: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class FaqEntry(Base):
    __tablename__ = "faq_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    answer: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    phrasings: Mapped[list[FaqPhrasing]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="FaqPhrasing.id"
    )


class FaqPhrasing(Base):
    __tablename__ = "faq_phrasings"
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("faq_entries.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)


class Setting(Base):
    """Small key/value state shared by processes, e.g. the FAQ revision."""

    __tablename__ = "kv"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class CannedResponse(Base):
    """A saved reply; its body may hold placeholders such as {{customer.first_name}}."""

    __tablename__ = "canned_responses"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    shortcut: Mapped[str | None] = mapped_column(String(40), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Call(Base):
    """A phone call, keyed by Twilio's CallSid (a redelivered webhook finds the same row): who called, where
    the menu led, how it ended (status moves forward only), and its voicemail (RecordingSid, unique). Its
    line on the customer's timeline (`history_id`, kind "call") is kept current as the callbacks arrive."""

    __tablename__ = "calls"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    # the voice ticket the call opened (a menu choice, a missed call, a voicemail); none while in the menu
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("queues.id"))
    # the agent the call was put through to (<Dial>)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    history_id: Mapped[int | None] = mapped_column(ForeignKey("history.id"))
    direction: Mapped[str] = mapped_column(String(16), default="inbound")
    from_number: Mapped[str] = mapped_column(String(64), default="")
    to_number: Mapped[str] = mapped_column(String(64), default="")
    # Twilio's CallStatus: ringing < in-progress < completed | busy | failed | no-answer | canceled
    status: Mapped[str] = mapped_column(String(16), default="ringing")
    duration_s: Mapped[int | None] = mapped_column(Integer)
    # the <Dial> to the agent: completed (answered), busy, no-answer, failed, canceled
    dial_status: Mapped[str | None] = mapped_column(String(16))
    dial_duration_s: Mapped[int | None] = mapped_column(Integer)
    # answered, voicemail, abandoned, no-answer, bot, busy, failed (None while the call runs)
    outcome: Mapped[str | None] = mapped_column(String(16))
    recording_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    recording_url: Mapped[str | None] = mapped_column(String(500))
    recording_duration_s: Mapped[int | None] = mapped_column(Integer)
    voicemail_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    transcript: Mapped[str | None] = mapped_column(Text)
    # what happened in the menu: digits pressed, questions asked and the bot's answers
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Webhook(Base):
    """An outside system following along: events of the listed types are POSTed to its URL, signed with
    its secret (HMAC-SHA256), retried with backoff until it answers 2xx."""

    __tablename__ = "webhooks"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(64))
    # event types (ticket.created, ticket.updated, ticket.assigned, message.created); ["*"]: all of them
    events: Mapped[list[str]] = mapped_column(default=list)
    description: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One event on its way to one webhook: pending until sent (2xx), retried with backoff, failed after
    the last try. Its id travels as X-Switchboard-Delivery, so a receiver can drop a repeat."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries", "webhook_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # pending, sent, failed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


class Rule(Base):
    """An automation admins edit: when a ticket is created or updated (`trigger`) and every condition holds,
    the actions run, in order. Rules run by `position`."""

    __tablename__ = "rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    # ticket.created, ticket.updated
    trigger: Mapped[str] = mapped_column(String(32))
    # [{"field": ..., "op": ..., "value": ...}], all must hold
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # [{"type": ..., ...}]
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SlaPolicy(Base):
    """Targets for tickets of a queue and priority (either may be None: any), in business seconds of the
    queue's calendar. The most specific policy applies: queue and priority, then queue, then priority."""

    __tablename__ = "sla_policies"
    __table_args__ = (UniqueConstraint("queue_id", "priority", name="uq_sla_policy"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("queues.id", ondelete="CASCADE"))
    priority: Mapped[str | None] = mapped_column(String(16))
    first_response_s: Mapped[int | None] = mapped_column(Integer)
    resolution_s: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CsatSurvey(Base):
    """The one-question survey a customer gets when a person resolved their ticket: a link carrying a
    random token (only its sha256 is kept) to a page with five stars; the score, per agent and queue."""

    __tablename__ = "csat_surveys"
    __table_args__ = (Index("ix_csat_answered", "answered_at", "queue_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id"))
    channel: Mapped[str] = mapped_column(String(16))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    score: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None]


class Reminder(Base):
    """A message to a customer at a set time (a renewal, a payment due...), by email or SMS: scheduled by an
    agent or by a rule, sent by the leader's reminder watch unless the customer has opted out of that
    channel by then (skipped, with the reason)."""

    __tablename__ = "reminders"
    __table_args__ = (Index("ix_reminder_due", "status", "due_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    # the ticket it is about, if any; the reminder itself goes out on a ticket of its own
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    # renewal, payment, other
    kind: Mapped[str] = mapped_column(String(16))
    # email, sms
    channel: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime]
    # scheduled, sent, skipped, cancelled
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    # why it was skipped or cancelled
    outcome: Mapped[str] = mapped_column(Text, default="")
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("rules.id", ondelete="SET NULL"))
    # the ticket the reminder went out on
    sent_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]
