"""Delivers queued outbound messages through their channel adapters, with retries.

A subscriber wakes it when a reply is queued; otherwise it sleeps until the next retry is due (at most
30 s, so work queued by another process is found too). Permanent failures fail at once, others back off
(app.actions.outbound).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from app.actions import outbound
from app.actions.common import SUPERVISORS
from app.actions.context import Context
from app.background import BackgroundTask
from app.bus import Event
from app.domain.types import utcnow
from channels.base import ChannelAdapter
from channels.email.outbound import PermanentFailure

log = logging.getLogger(__name__)
IDLE_S = 30.0
PARALLEL = 8


class Deliverer(BackgroundTask):
    name = "delivery"

    def __init__(self, ctx: Context, adapters: dict[str, ChannelAdapter]) -> None:
        self.ctx = ctx
        self.adapters = adapters
        self._wake = asyncio.Event()

    def on_event(self, event: Event) -> None:
        message = event.data.get("message") or {}
        if event.type == "message.created" and message.get("status") == "queued":
            self._wake.set()

    async def _run(self) -> None:
        channels = set(self.adapters)
        while True:
            try:
                while batch := await outbound.claim_due(self.ctx, channels, limit=PARALLEL):
                    await asyncio.gather(
                        *(self._deliver(msg.id, outbound.to_outbound(msg, t)) for msg, t in batch)
                    )
                due = await outbound.next_due(self.ctx, channels)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery loop failed; retrying")
                due = None
            wait = IDLE_S if due is None else max(0.05, min(IDLE_S, (due - utcnow()).total_seconds()))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def _deliver(self, message_id: int, message: outbound.OutboundMessage) -> None:
        adapter = self.adapters[message.channel]
        provider_id: str | None = None
        error: str | None = None
        try:
            provider_id = await adapter.send(message)
        except PermanentFailure as e:
            error = f"permanent: {e}"
        except Exception as e:
            error = f"{type(e).__name__}: {e}"
        if error:
            log.warning("delivering message %s on %s failed: %s", message_id, message.channel, error)
        status, ticket_id = await outbound.record(self.ctx, message_id, provider_id=provider_id, error=error)
        await self.ctx.publish(
            [
                Event(
                    "message.updated",
                    0,
                    {"ticket_id": ticket_id, "message_id": message_id, "status": status, "error": error},
                    (f"ticket:{ticket_id}", SUPERVISORS),
                )
            ]
        )
