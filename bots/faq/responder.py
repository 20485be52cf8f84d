"""The FAQ bot as a subscriber: it answers a customer's message while the ticket is still the bot's, and
hands the ticket to a person when it is not confident or the customer asks for one.

The knowledge base is read from the database and rebuilt when its revision changes (an import from
another process bumps it), checked at most every `refresh_s` seconds.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import select

from app.actions import faq, tickets
from app.actions.context import Context
from app.bus import Event
from app.domain.models import FaqEntry
from bots.faq.matcher import FaqDoc, Match, Matcher


class FaqBot:
    def __init__(self, ctx: Context, refresh_s: float = 2.0) -> None:
        self.ctx = ctx
        self.refresh_s = refresh_s
        self._matcher: Matcher = Matcher([])
        self._revision: str | None = None
        self._checked = 0.0
        self._lock = asyncio.Lock()

    async def matcher(self) -> Matcher:
        if time.monotonic() - self._checked < self.refresh_s and self._revision is not None:
            return self._matcher
        async with self._lock:
            if time.monotonic() - self._checked < self.refresh_s and self._revision is not None:
                return self._matcher
            async with self.ctx.db.read() as s:
                rev = await faq.revision(s)
                if rev != self._revision:
                    entries = (await s.execute(select(FaqEntry).order_by(FaqEntry.id))).scalars().all()
                    docs = [FaqDoc(e.id, tuple(p.text for p in e.phrasings), e.answer) for e in entries]
                    self._matcher = await asyncio.to_thread(Matcher, docs)
                    self._revision = rev
            self._checked = time.monotonic()
        return self._matcher

    async def ask(self, text: str) -> Match:
        return (await self.matcher()).ask(text)

    async def on_event(self, event: Event) -> None:
        if event.type != "message.created" or event.data.get("author") != "customer":
            return
        if event.data.get("bot_inline"):
            return  # the webhook that received it runs the bot itself (SMS answers in its TwiML)
        ticket = event.data.get("ticket") or {}
        if ticket.get("status") != "new" or ticket.get("queued_at"):
            return
        if not event.data.get("answerable", True):
            return  # automated mail (auto-replies, bounces, lists) or a flooding sender: stored, not answered
        await self.respond(int(event.data["ticket_id"]), str(event.data.get("body", "")))

    async def respond(self, ticket_id: int, text: str, inline_until: float | None = None) -> str | None:
        """Answer the customer's message or hand the ticket to a person. With `inline_until` (a monotonic
        deadline) an answer written before it is returned for the caller to deliver itself; later ones go
        out through the channel as usual."""
        match = await self.ask(text)
        if match.reason == "empty_question":
            return None
        if not match.handoff and match.answer is not None:
            inline = inline_until is not None and time.monotonic() < inline_until
            # False when the bot already answered this (non-chat) ticket once: then a person takes over
            if await tickets.bot_answer(
                self.ctx, ticket_id, match.answer, match.entry_id, match.confidence, inline=inline
            ):
                return match.answer if inline else None
        reason = match.reason if match.handoff else "already answered once"
        await tickets.handoff(self.ctx, ticket_id, reason, match.confidence)
        return None
