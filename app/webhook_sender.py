"""Sends outgoing webhooks: committed events of the types a webhook follows become delivery rows (the
outbox, app/actions/webhooks.py); this task POSTs them, signed, retrying with backoff. Like the
deliverer of replies, it wakes when this process queued one and otherwise sleeps until the next retry is
due (at most IDLE_S, so deliveries queued by another process are found too)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable

import httpx

from app.actions import webhooks
from app.actions.context import Context
from app.background import BackgroundTask
from app.bus import Event
from app.domain.models import Webhook, WebhookDelivery
from app.domain.types import utcnow

log = logging.getLogger(__name__)
IDLE_S = 5.0
PARALLEL = 8
TIMEOUT_S = 10.0
HOOKS_TTL_S = 5.0  # a webhook added or changed in another process is followed within this


class WebhookSender(BackgroundTask):
    name = "webhooks"

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._wake = asyncio.Event()
        self._hooks: list[tuple[int, list[str]]] = []
        self._hooks_at = 0.0
        self._http: httpx.AsyncClient | None = None

    def on_event(self, event: Event) -> Awaitable[None] | None:
        """The deliveries of a committed event of this process, written to the outbox (None: nobody follows
        events of its type)."""
        targets = webhooks.interested(self._hooks, event)
        if not targets:
            return None
        return self._enqueue(targets, event)

    async def _enqueue(self, targets: list[tuple[int, str]], event: Event) -> None:
        await webhooks.enqueue(self.ctx, targets, event.type, event.data)
        self._wake.set()

    def changed(self) -> None:
        """A webhook was added, changed or removed here: read them again now."""
        self._hooks_at = 0.0
        self._wake.set()

    async def _refresh(self) -> None:
        if time.monotonic() - self._hooks_at >= HOOKS_TTL_S:
            self._hooks = await webhooks.active_hooks(self.ctx)
            self._hooks_at = time.monotonic()

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=TIMEOUT_S, follow_redirects=False) as http:
            self._http = http
            while True:
                try:
                    await self._refresh()
                    while batch := await webhooks.claim_due(self.ctx, PARALLEL):
                        await asyncio.gather(*(self._send(d, w) for d, w in batch))
                    due = await webhooks.next_due(self.ctx)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("webhook loop failed; retrying")
                    due = None
                wait = IDLE_S if due is None else max(0.02, min(IDLE_S, (due - utcnow()).total_seconds()))
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)

    async def _send(self, d: WebhookDelivery, w: Webhook) -> None:
        assert self._http is not None
        body = json.dumps({"id": d.id, **d.payload}, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Switchboard-Webhooks/1",
            "X-Switchboard-Event": d.event,
            "X-Switchboard-Delivery": str(d.id),
            "X-Switchboard-Signature": webhooks.sign(w.secret, body),
        }
        status: int | None = None
        error = ""
        try:
            answer = await self._http.post(w.url, content=body, headers=headers)
            status = answer.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except httpx.HTTPError as e:
            error = f"{type(e).__name__}: {e}"
        outcome = await webhooks.record(self.ctx, d.id, status, error, self.ctx.settings.webhook_retry_s)
        if outcome != "sent":
            log.info("webhook %s delivery %s try %s: %s (%s)", w.id, d.id, d.attempts, error, outcome)
