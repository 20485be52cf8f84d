"""The FAQ bot as a subscriber: it answers a customer's message while the ticket is still the bot's, and
hands the ticket to a person when the customer asks for one, says its answer did not help, or it is not
confident twice in a row (once, by email); the policy is `decide`.

The knowledge base is read from the database and rebuilt when its revision changes (an import from
another process bumps it), checked at most every `refresh_s` seconds.

Two matchers: the lexical one (bots/faq/matcher.py) is built at once, in a worker thread; the semantic
one (bots/faq/semantic.py) needs the model, loaded in a background thread on first use, and embeddings
for every phrasing (about 3 ms each here). Until it is ready the lexical matcher answers, so start-up
never waits for it. When the knowledge base changes, the semantic matcher is rebuilt incrementally
(only new phrasings are embedded); if that is a small job (`QUICK_PHRASINGS`) the new revision waits
for it, up to `QUICK_WAIT_S`, so an edit is answered semantically at once; a big import is answered
lexically until its embeddings are done. Without the model package the bot stays lexical.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable
from dataclasses import replace

from sqlalchemy import select

from app.actions import faq, tickets
from app.actions.context import Context
from app.actions.tickets import NO_STEP, BotState, BotStep
from app.bus import Event
from app.domain.models import FaqEntry
from bots.faq.handoff import not_helped
from bots.faq.matcher import FaqDoc, Match, Matcher
from bots.faq.semantic import Indexer, SemanticMatcher

# at most this many phrasings to embed (about 3 ms each here): a new revision waits for its semantic index,
# so a knowledge base of a few hundred entries answers semantically from its first question (and start-up
# waits for it); a bigger import is answered lexically until its embeddings are done
QUICK_PHRASINGS = 2000
QUICK_WAIT_S = 15.0  # ... at most this long (the first time, loading the model included)
# channels where the customer is in a conversation: the bot may ask them to put a question another way
CONVERSATIONAL = frozenset({"chat", "sms", "voice"})
CLARIFY_TEXT = (
    "I'm not sure I understood. Could you put it another way? You can also ask for a person at any time."
)


class FaqBot:
    def __init__(self, ctx: Context, refresh_s: float = 2.0, semantic: bool = True) -> None:
        self.ctx = ctx
        self.refresh_s = refresh_s
        self._matcher: Matcher | SemanticMatcher = Matcher([])
        self._revision: str | None = None
        self._checked = -math.inf  # when the revision was last read (monotonic)
        self._lock = asyncio.Lock()
        self.indexer: Indexer | None = Indexer() if semantic else None

    async def matcher(self) -> Matcher | SemanticMatcher:
        self._adopt()
        # an empty knowledge base (no revision yet) is read again every refresh_s too, not every question
        if time.monotonic() - self._checked < self.refresh_s:
            return self._matcher
        async with self._lock:
            if time.monotonic() - self._checked < self.refresh_s:
                return self._matcher
            async with self.ctx.db.read() as s:
                rev = await faq.revision(s)
                if rev != self._revision:
                    entries = (await s.execute(select(FaqEntry).order_by(FaqEntry.id))).scalars().all()
                    docs = [FaqDoc(e.id, tuple(p.text for p in e.phrasings), e.answer) for e in entries]
                    await self._rebuild(rev, docs)
            self._checked = time.monotonic()
        return self._matcher

    async def _rebuild(self, rev: str, docs: list[FaqDoc]) -> None:
        lexical = await asyncio.to_thread(Matcher, docs)
        self._matcher, self._revision = lexical, rev
        indexer = self.indexer
        if indexer is None or not indexer.usable or not len(lexical):
            return
        indexer.request(rev, lexical)
        texts = [p for phrasings in lexical.phrasings for p in phrasings]
        if indexer.cache.missing(texts) <= QUICK_PHRASINGS:
            built = await asyncio.to_thread(indexer.wait, rev, QUICK_WAIT_S)
            if built is not None and self._revision == rev:
                self._matcher = built

    def _adopt(self) -> None:
        """Swap in the semantic matcher of the current revision once the background thread has built it."""
        if (
            self.indexer is not None
            and self._revision is not None
            and not isinstance(self._matcher, SemanticMatcher)
        ):
            built = self.indexer.built(self._revision)
            if built is not None:
                self._matcher = built

    def invalidate(self) -> None:
        """Check the revision on the next question (this process just changed the knowledge base)."""
        self._checked = -math.inf

    def close(self) -> None:
        """Stop background indexing (the thread is a daemon: this only saves work at shutdown)."""
        if self.indexer is not None:
            self.indexer.close()

    async def ask(self, text: str) -> Match:
        matcher = await self.matcher()
        if isinstance(matcher, SemanticMatcher):
            return await asyncio.to_thread(matcher.ask, text)  # ~10 ms of NumPy: off the event loop
        return matcher.ask(text)

    def on_event(self, event: Event) -> Awaitable[object] | None:
        """The answer to a customer's message on a ticket the bot still holds; None for any other event."""
        if event.type != "message.created" or event.data.get("author") != "customer":
            return None
        if event.data.get("bot_inline"):
            return None  # the webhook that received it runs the bot itself (SMS answers in its TwiML)
        ticket = event.data.get("ticket") or {}
        if ticket.get("status") != "new" or ticket.get("queued_at"):
            return None
        if not event.data.get("answerable", True):
            return None  # automated mail (auto-replies, bounces, lists) or a flooding sender: not answered
        return self.respond(int(event.data["ticket_id"]), str(event.data.get("body", "")))

    async def respond(self, ticket_id: int, text: str, inline_until: float | None = None) -> str | None:
        """Answer the customer's message, ask them to put it another way, or hand the ticket to a person
        (see `decide`). With `inline_until` (a monotonic deadline) a reply written before it is returned for
        the caller to deliver itself; later ones go out through the channel as usual."""
        match = await self.ask(text)
        if match.reason == "empty_question" and not not_helped(text):
            return None  # nothing to answer ("ok", "?"): no need to take the ticket's lock
        inline = inline_until is not None and time.monotonic() < inline_until
        step = await tickets.bot_turn(self.ctx, ticket_id, lambda state: decide(state, match, text), inline)
        if inline and step is not None and step.kind in ("answer", "clarify"):
            return step.body
        return None


def decide(state: BotState, match: Match, text: str) -> BotStep:
    """The bot's handoff policy, the same on every channel as far as the channel allows. In order:

    1. an explicit request for a person hands off ("asked_for_human");
    2. a reply right after the bot's that says it did not help ("that didn't help", "no, that's not what I
       asked", a bare "no") hands off ("not_helped");
    3. a message with nothing to answer ("ok", "?") changes nothing;
    4. outside chat the bot answers once per ticket: whatever the customer writes after its automated
       answer goes to a person ("already_answered");
    5. a confident match is answered;
    6. a low-confidence question: in a conversation (chat, SMS, voice) the first in a row gets a short
       clarifying question, the second in a row hands off ("low_confidence_twice"), and a confident answer
       in between starts the count again; by email it hands off at once (one automated mail per ticket,
       and a mail asking to rephrase helps nobody);
    7. an empty knowledge base hands off ("empty_kb").
    """
    handoff = BotStep("handoff", entry_id=match.entry_id, confidence=match.confidence)
    if match.reason == "asked_for_human":
        return replace(handoff, reason="asked_for_human")
    if state.last_bot is not None and not_helped(text):
        return replace(handoff, reason="not_helped")
    if match.reason == "empty_question":
        return NO_STEP
    if state.answered and state.channel != "chat":
        return replace(handoff, reason="already_answered")
    if match.reason == "answered" and match.answer is not None:
        return BotStep("answer", match.answer, match.entry_id, match.confidence)
    if match.reason == "low_confidence" and state.channel in CONVERSATIONAL:
        if state.last_bot == "clarify":
            return replace(handoff, reason="low_confidence_twice")
        return BotStep("clarify", CLARIFY_TEXT, match.entry_id, match.confidence)
    return replace(handoff, reason=match.reason)
