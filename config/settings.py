"""One typed Settings object, read from command-line flags and the environment.

Every setting has an environment variable; the ones users change often also have a flag. Flags win over
the environment, the environment over the defaults.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./switchboard.db"


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    smtp_port: int = 2525
    database_url: str = DEFAULT_DATABASE_URL
    bus_url: str = "memory://"
    public_url: str = ""
    smtp_relay: str = ""
    support_address: str = "support@example.com"
    # addresses the SMTP listener accepts mail for (comma-separated); empty: the support address
    inbound_addresses: str = ""
    smtp_max_bytes: int = 25 * 1024 * 1024
    # another source of mail: imap[s]://user:pass@host[:port][/MAILBOX][?move=Processed]; empty: off
    imap_url: str = ""
    imap_interval_s: float = 30.0
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from_number: str = ""
    twilio_api_url: str = "https://api.twilio.com"
    # How long an agent whose last socket dropped stays "available" before going away.
    presence_grace_s: float = 15.0
    # Every process refreshes the presence of the agents connected to it this often; an available agent
    # nobody refreshed for presence_expiry_s (their process died) goes away and their unanswered tickets
    # go back to the queue. The same sweep re-runs the router, should an event have been lost.
    presence_heartbeat_s: float = 10.0
    presence_expiry_s: float = 45.0
    # Largest websocket text frame the application accepts (bytes of UTF-8).
    max_frame_bytes: int = 64 * 1024
    # New widget visitors (each a row in the database) one client address may start in 10 minutes, per
    # process; 0: no limit (a load test from one machine).
    widget_new_visitors: int = 300
    # Messages one widget socket may send in 10 seconds (a person types far fewer); 0: no limit.
    widget_messages_per_10s: int = 300
    # The secret the embedding site signs its user ids with (HMAC-SHA256) to identify widget visitors;
    # empty: every visitor is anonymous.
    widget_secret: str = ""
    # Every socket is pinged this often; one that has not answered within as long again is closed (a dead
    # peer goes within twice this).
    ws_ping_s: float = 20.0
    # Where phone numbers written without their country code are (ISO 3166 code such as "SE" or "US");
    # empty: agents type numbers with their country code.
    phone_region: str = ""
    # How often the customers of new email addresses and phone numbers are checked for likely duplicates.
    duplicate_check_s: float = 5.0
    # The first retry of an outgoing webhook that failed comes after this; each next one after 3x as long
    # (capped at 6 hours), 8 tries in all.
    webhook_retry_s: float = 10.0
    # How often tickets are checked for missed SLA targets (by one process).
    sla_check_s: float = 15.0
    # How often pending tickets are woken at their time and due reminders sent (by one process).
    reminder_check_s: float = 15.0
    # 1: a customer whose ticket a person resolved gets a one-question satisfaction survey; 0: none.
    csat: int = 1
    # Lifetime of an agent's bearer token.
    token_ttl_s: int = 12 * 3600
    log_level: str = "info"
    # worker processes of `serve` on one machine (PostgreSQL and a Redis bus required above 1)
    workers: int = 1
    demo: bool = field(default=False)

    @property
    def accepted_addresses(self) -> set[str]:
        listed = {a.strip().lower() for a in self.inbound_addresses.split(",") if a.strip()}
        return listed or {self.support_address.strip().lower()}

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"


# setting name -> environment variable
ENV_NAMES: dict[str, str] = {
    "host": "SWITCHBOARD_HOST",
    "port": "SWITCHBOARD_PORT",
    "smtp_port": "SWITCHBOARD_SMTP_PORT",
    "database_url": "SWITCHBOARD_DATABASE_URL",
    "bus_url": "SWITCHBOARD_BUS_URL",
    "public_url": "SWITCHBOARD_PUBLIC_URL",
    "smtp_relay": "SWITCHBOARD_SMTP_RELAY",
    "support_address": "SWITCHBOARD_SUPPORT_ADDRESS",
    "inbound_addresses": "SWITCHBOARD_INBOUND_ADDRESSES",
    "smtp_max_bytes": "SWITCHBOARD_SMTP_MAX_BYTES",
    "imap_url": "SWITCHBOARD_IMAP_URL",
    "imap_interval_s": "SWITCHBOARD_IMAP_INTERVAL_S",
    "twilio_account_sid": "TWILIO_ACCOUNT_SID",
    "twilio_auth_token": "TWILIO_AUTH_TOKEN",
    "twilio_from_number": "TWILIO_FROM_NUMBER",
    "twilio_api_url": "SWITCHBOARD_TWILIO_API_URL",
    "presence_grace_s": "SWITCHBOARD_PRESENCE_GRACE_S",
    "presence_heartbeat_s": "SWITCHBOARD_PRESENCE_HEARTBEAT_S",
    "presence_expiry_s": "SWITCHBOARD_PRESENCE_EXPIRY_S",
    "max_frame_bytes": "SWITCHBOARD_MAX_FRAME_BYTES",
    "ws_ping_s": "SWITCHBOARD_WS_PING_S",
    "widget_secret": "SWITCHBOARD_WIDGET_SECRET",
    "widget_new_visitors": "SWITCHBOARD_WIDGET_NEW_VISITORS",
    "widget_messages_per_10s": "SWITCHBOARD_WIDGET_MESSAGES_PER_10S",
    "phone_region": "SWITCHBOARD_PHONE_REGION",
    "duplicate_check_s": "SWITCHBOARD_DUPLICATE_CHECK_S",
    "webhook_retry_s": "SWITCHBOARD_WEBHOOK_RETRY_S",
    "sla_check_s": "SWITCHBOARD_SLA_CHECK_S",
    "reminder_check_s": "SWITCHBOARD_REMINDER_CHECK_S",
    "csat": "SWITCHBOARD_CSAT",
    "token_ttl_s": "SWITCHBOARD_TOKEN_TTL_S",
    "log_level": "SWITCHBOARD_LOG_LEVEL",
    "workers": "SWITCHBOARD_WORKERS",
}

# settings that also have a command-line flag (the flag is --name-with-dashes)
FLAGS = ("host", "port", "smtp_port", "database_url", "bus_url", "log_level", "workers")


class SettingsError(ValueError):
    pass


def _convert(name: str, raw: str) -> object:
    kind = {f.name: f.type for f in fields(Settings)}[name]
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError as e:
        raise SettingsError(f"{ENV_NAMES.get(name, name)}={raw!r} is not a number") from e
    return raw


def add_flags(parser: argparse.ArgumentParser) -> None:
    """The database/bus flags shared by every command; serve adds the rest."""
    parser.add_argument(
        "--database-url", help=f"SQLAlchemy URL (env SWITCHBOARD_DATABASE_URL; {DEFAULT_DATABASE_URL})"
    )
    parser.add_argument(
        "--bus-url", help="event bus: memory:// or redis://host:port/db (env SWITCHBOARD_BUS_URL)"
    )


def add_serve_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="HTTP bind address (env SWITCHBOARD_HOST; 127.0.0.1)")
    parser.add_argument("--port", help="HTTP port (env SWITCHBOARD_PORT; 8000)")
    parser.add_argument("--smtp-port", help="inbound SMTP port, 0 = off (env SWITCHBOARD_SMTP_PORT; 2525)")
    parser.add_argument("--log-level", help="debug, info, warning (env SWITCHBOARD_LOG_LEVEL; info)")
    parser.add_argument(
        "--workers",
        help="worker processes sharing the port (env SWITCHBOARD_WORKERS; 1); above 1 needs PostgreSQL and "
        "a redis:// bus",
    )
    parser.add_argument("--demo", action="store_true", help="seed demo agents, queues and FAQ entries")


def load(env: Mapping[str, str] | None = None, args: argparse.Namespace | None = None) -> Settings:
    env = os.environ if env is None else env
    values: dict[str, object] = {}
    for name, var in ENV_NAMES.items():
        if env.get(var, "") != "":
            values[name] = _convert(name, env[var])
    if args is not None:
        for name in FLAGS:
            raw = getattr(args, name, None)
            if raw is not None:
                values[name] = _convert(name, str(raw))
        if getattr(args, "demo", False):
            values["demo"] = True
    settings = Settings(**values)  # type: ignore[arg-type]
    if settings.max_frame_bytes < 1024:
        raise SettingsError("SWITCHBOARD_MAX_FRAME_BYTES must be at least 1024")
    if not 0.1 <= settings.ws_ping_s <= 3600:
        raise SettingsError("SWITCHBOARD_WS_PING_S must be between 0.1 and 3600")
    if not 1 <= settings.workers <= 64:
        raise SettingsError("--workers must be between 1 and 64")
    if settings.workers > 1 and settings.database_url.startswith("sqlite"):
        raise SettingsError(
            "--workers above 1 needs PostgreSQL (--database-url postgresql://…): SQLite has one writer"
        )
    if settings.workers > 1 and settings.bus_url.startswith("memory"):
        raise SettingsError("--workers above 1 needs a shared bus (--bus-url redis://…) for the events")
    if settings.imap_url:
        from channels.email.imap import ImapSource

        try:
            ImapSource.parse(settings.imap_url)
        except ValueError as e:
            raise SettingsError(f"SWITCHBOARD_IMAP_URL: {e}") from e
    return settings
