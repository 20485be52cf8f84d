"""Outgoing webhooks: admins register URLs for event types; each committed event of those types becomes a
delivery row (the outbox), which the sender (app/webhook_sender.py) POSTs, signed, and retries with backoff.

Signature (as Stripe's): `X-Switchboard-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`;
a receiver recomputes it over the raw body and refuses a stale `t`."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, insert, select, update

from app.actions.context import Context
from app.actions.errors import Invalid, NotFound
from app.bus import Event
from app.domain.models import Webhook, WebhookDelivery
from app.domain.types import utcnow
from app.domain.views import iso

EVENTS = ("ticket.created", "ticket.updated", "ticket.assigned", "message.created", "rule.matched")
MAX_ATTEMPTS = 8
LEASE_S = 60.0
BACKOFF_CAP_S = 6 * 3600.0
KEEP_DAYS = 30  # sent and failed deliveries are kept this long for admins to look at


def sign(secret: str, body: bytes, at: int | None = None) -> str:
    t = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def backoff_s(attempts: int, base_s: float) -> float:
    """The wait after the `attempts`-th failed try: base, 3x, 9x... capped at 6 hours."""
    return float(min(BACKOFF_CAP_S, base_s * 3 ** max(0, attempts - 1)))


def view(w: Webhook) -> dict[str, Any]:
    return {
        "id": w.id,
        "url": w.url,
        "secret": w.secret,
        "events": list(w.events or []),
        "description": w.description,
        "active": w.active,
        "created_at": iso(w.created_at),
    }


def delivery_view(d: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "webhook_id": d.webhook_id,
        "event": d.event,
        "status": d.status,
        "attempts": d.attempts,
        "next_attempt_at": iso(d.next_attempt_at),
        "last_status": d.last_status,
        "last_error": d.last_error,
        "created_at": iso(d.created_at),
        "delivered_at": iso(d.delivered_at),
    }


def _url(raw: Any) -> str:
    if not isinstance(raw, str) or len(raw) > 2000:
        raise Invalid("url must be an http(s) URL of at most 2000 characters", "bad_url")
    parts = urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid("url must be an http(s) URL", "bad_url")
    return raw.strip()


def _events(raw: Any) -> list[str]:
    if raw == ["*"]:
        return ["*"]
    if not isinstance(raw, list) or not raw or not all(e in EVENTS for e in raw):
        raise Invalid(f'events must be ["*"] or a list of: {", ".join(EVENTS)}', "bad_events")
    return sorted(set(raw))


def _fields(body: dict[str, Any], creating: bool) -> dict[str, Any]:
    unknown = set(body) - {"url", "events", "description", "active"}
    if unknown:
        raise Invalid(f"unknown fields: {', '.join(sorted(unknown))}", "unknown_field")
    out: dict[str, Any] = {}
    if "url" in body or creating:
        out["url"] = _url(body.get("url"))
    if "events" in body or creating:
        out["events"] = _events(body.get("events", ["*"]))
    if "description" in body:
        if not isinstance(body["description"], str) or len(body["description"]) > 200:
            raise Invalid("description must be a text of at most 200 characters", "bad_description")
        out["description"] = body["description"]
    if "active" in body:
        if not isinstance(body["active"], bool):
            raise Invalid("active must be true or false", "bad_active")
        out["active"] = body["active"]
    return out


async def create(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    async with ctx.db.write() as s:
        w = Webhook(secret=secrets.token_hex(32), **_fields(body, creating=True))
        s.add(w)
        await s.flush()
        return view(w)


async def change(ctx: Context, webhook_id: int, body: dict[str, Any]) -> dict[str, Any]:
    fields = _fields(body, creating=False)
    async with ctx.db.write() as s:
        w = await s.get(Webhook, webhook_id, with_for_update=True)
        if w is None:
            raise NotFound(f"webhook {webhook_id} not found")
        for key, value in fields.items():
            setattr(w, key, value)
        return view(w)


async def remove(ctx: Context, webhook_id: int) -> None:
    async with ctx.db.write() as s:
        w = await s.get(Webhook, webhook_id, with_for_update=True)
        if w is None:
            raise NotFound(f"webhook {webhook_id} not found")
        await s.execute(delete(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id))
        await s.delete(w)


async def listing(ctx: Context) -> list[dict[str, Any]]:
    async with ctx.db.read() as s:
        return [view(w) for w in (await s.execute(select(Webhook).order_by(Webhook.id))).scalars()]


async def deliveries(ctx: Context, webhook_id: int, limit: int = 100) -> list[dict[str, Any]]:
    async with ctx.db.read() as s:
        if await s.get(Webhook, webhook_id) is None:
            raise NotFound(f"webhook {webhook_id} not found")
        rows = await s.execute(
            select(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == webhook_id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
        return [delivery_view(d) for d in rows.scalars()]


def payload(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """What a receiver gets (besides the delivery's id): the widget's copy of a message stays out."""
    return {
        "type": event_type,
        "created_at": iso(utcnow()),
        "data": {k: v for k, v in data.items() if k != "widget"},
    }


async def enqueue(ctx: Context, hooks: list[tuple[int, str]], event_type: str, data: dict[str, Any]) -> None:
    """One pending delivery per webhook, due now."""
    if not hooks:
        return
    body = payload(event_type, data)
    now = utcnow()
    rows = [
        {
            "webhook_id": hook_id,
            "event": event_type,
            "payload": body,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "last_error": "",
            "created_at": now,
        }
        for hook_id, _ in hooks
    ]
    async with ctx.db.write() as s:
        await s.execute(insert(WebhookDelivery), rows)


async def claim_due(ctx: Context, limit: int) -> list[tuple[WebhookDelivery, Webhook]]:
    """Deliveries whose try is due, each leased to this worker (another process skips them)."""
    now = utcnow()
    async with ctx.db.write() as s:
        rows = (
            await s.execute(
                select(WebhookDelivery, Webhook)
                .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
                .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                .limit(limit)
                .with_for_update(skip_locked=True, of=WebhookDelivery)
            )
        ).all()
        for d, _ in rows:
            d.next_attempt_at = now + timedelta(seconds=LEASE_S)
            d.attempts += 1
        return [(d, w) for d, w in rows]


async def record(ctx: Context, delivery_id: int, status: int | None, error: str, retry_s: float) -> str:
    """The outcome of one try: sent (2xx), pending again later, or failed after the last try."""
    now = utcnow()
    async with ctx.db.write() as s:
        d = await s.get(WebhookDelivery, delivery_id, with_for_update=True)
        if d is None:  # its webhook was removed meanwhile
            return "gone"
        d.last_status, d.last_error = status, error[:500]
        if status is not None and 200 <= status < 300:
            d.status, d.delivered_at, d.next_attempt_at = "sent", now, None
        elif d.attempts >= MAX_ATTEMPTS:
            d.status, d.next_attempt_at = "failed", None
        else:
            d.next_attempt_at = now + timedelta(seconds=backoff_s(d.attempts, retry_s))
        if d.id % 100 == 0:  # now and then, what is old and done goes
            await s.execute(
                delete(WebhookDelivery).where(
                    WebhookDelivery.status.in_(("sent", "failed")),
                    WebhookDelivery.created_at < now - timedelta(days=KEEP_DAYS),
                )
            )
        return d.status


async def next_due(ctx: Context) -> datetime | None:
    async with ctx.db.read() as s:
        return (
            await s.execute(
                select(WebhookDelivery.next_attempt_at)
                .where(WebhookDelivery.status == "pending")
                .order_by(WebhookDelivery.next_attempt_at)
                .limit(1)
            )
        ).scalar_one_or_none()


async def active_hooks(ctx: Context) -> list[tuple[int, list[str]]]:
    async with ctx.db.read() as s:
        rows = await s.execute(select(Webhook.id, Webhook.events).where(Webhook.active))
        return [(hook_id, list(events or [])) for hook_id, events in rows.all()]


async def redeliver(ctx: Context, webhook_id: int, delivery_id: int) -> dict[str, Any]:
    """A failed (or sent) delivery tried again now, from the first try."""
    async with ctx.db.write() as s:
        d = await s.get(WebhookDelivery, delivery_id, with_for_update=True)
        if d is None or d.webhook_id != webhook_id:
            raise NotFound(f"webhook {webhook_id} has no delivery {delivery_id}")
        await s.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id)
            .values(status="pending", attempts=0, next_attempt_at=utcnow())
        )
        await s.refresh(d)
        return delivery_view(d)


def interested(hooks: list[tuple[int, list[str]]], event: Event) -> list[tuple[int, str]]:
    return [(hook_id, event.type) for hook_id, events in hooks if "*" in events or event.type in events]
