"""Who a bearer token belongs to, remembered for a few seconds: every signed-in request (the email webhook's
sender, the console's calls) would otherwise read the token and the agent's queues from the database.

What can make a remembered answer wrong is dropped the moment this process hears of it, from any process
through the bus: a revoked token (`auth.revoked`, on the token's topic), every token of an agent
(`auth.revoked` naming the agent: a new password, an agent switched off) and an agent's changed queues
(`agent.updated`). The action that revokes or changes also drops the entry itself, before its event comes
back. A lookup that was under way while something was dropped is not remembered, so a revocation never
loses a race against a request that read the token just before it. `ttl_s` bounds how long a change made
outside the service (straight in the database) can go unseen, and no entry outlives its token's expiry.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from datetime import datetime
from typing import Generic, TypeVar

from app.bus import GAP, Event
from app.domain.types import utcnow

P = TypeVar("P")
TOKEN_TOPIC = "token:"  # followed by the token's sha256, as app.actions.agents.token_topic names it


class TokenCache(Generic[P]):
    def __init__(self, ttl_s: float = 5.0, size: int = 4096) -> None:
        self.ttl_s = ttl_s
        self.size = size
        self._entries: OrderedDict[str, tuple[float, datetime, int, P]] = OrderedDict()
        self.generation = 0  # moves on with every drop

    def get(self, token_hash: str) -> P | None:
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        until, expires_at, _agent, principal = entry
        if time.monotonic() >= until or utcnow() >= expires_at:
            del self._entries[token_hash]
            return None
        return principal

    def put(
        self, token_hash: str, agent_id: int, expires_at: datetime, principal: P, generation: int
    ) -> None:
        """Remember a lookup that began at `generation` (nothing if something was dropped since)."""
        if generation != self.generation:
            return
        self._entries[token_hash] = (time.monotonic() + self.ttl_s, expires_at, agent_id, principal)
        self._entries.move_to_end(token_hash)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def drop_token(self, token_hash: str) -> None:
        self.generation += 1
        self._entries.pop(token_hash, None)

    def drop_agent(self, agent_id: int) -> None:
        self.generation += 1
        for key in [k for k, entry in self._entries.items() if entry[2] == agent_id]:
            del self._entries[key]

    def observe(self, event: Event) -> None:
        """Every event this process hears, from every process; after a gap in the bus (a revocation may have
        been missed) nothing is remembered."""
        if event.type == GAP:
            self.generation += 1
            self._entries.clear()
        elif event.type == "auth.revoked":
            agent_id = event.data.get("agent_id")
            if isinstance(agent_id, int):  # every token of the agent (a new password, an agent switched off)
                self.drop_agent(agent_id)
            for topic in event.topics:
                if topic.startswith(TOKEN_TOPIC):
                    self.drop_token(topic[len(TOKEN_TOPIC) :])
        elif event.type == "agent.updated":
            agent_id = event.data.get("agent_id")
            if isinstance(agent_id, int):
                self.drop_agent(agent_id)
