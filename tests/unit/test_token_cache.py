"""The bearer-token cache: what it remembers, and every way an entry goes."""

from __future__ import annotations

import time
from datetime import timedelta

from app.actions.token_cache import TokenCache
from app.bus import GAP, Event
from app.domain.types import utcnow

LATER = utcnow() + timedelta(hours=1)


def test_remembered_until_revoked_or_the_agent_changes() -> None:
    cache: TokenCache[str] = TokenCache()
    cache.put("h1", 7, LATER, "ana", cache.generation)
    cache.put("h2", 7, LATER, "ana again", cache.generation)
    cache.put("h3", 8, LATER, "ben", cache.generation)
    assert (cache.get("h1"), cache.get("h3")) == ("ana", "ben")
    cache.observe(Event("auth.revoked", 0, {}, ("token:h1",)))
    assert cache.get("h1") is None and cache.get("h2") == "ana again"
    cache.observe(Event("agent.updated", 0, {"agent_id": 7, "queue_ids": [2]}, ()))
    assert cache.get("h2") is None and cache.get("h3") == "ben"
    cache.observe(Event("message.created", 5, {"agent_id": 8}, ("token:h3",)))  # not a change of hers
    assert cache.get("h3") == "ben"
    cache.put("h4", 9, LATER, "cy", cache.generation)
    cache.observe(Event("auth.revoked", 0, {"agent_id": 9}, ()))  # every token of agent 9 (a new password)
    assert cache.get("h4") is None and cache.get("h3") == "ben"
    generation = cache.generation
    cache.observe(Event(GAP, 0, {}, ()))  # the bus lost events: a revocation may be among them
    assert cache.get("h3") is None and cache.generation > generation


def test_a_lookup_that_raced_a_revocation_is_not_remembered() -> None:
    cache: TokenCache[str] = TokenCache()
    began = cache.generation  # the request reads the token from the database...
    cache.drop_token("h1")  # ...while a logout commits
    cache.put("h1", 7, LATER, "ana", began)
    assert cache.get("h1") is None


def test_entries_age_out_and_never_outlive_the_token() -> None:
    cache: TokenCache[str] = TokenCache(ttl_s=0.05, size=2)
    cache.put("short", 7, utcnow() - timedelta(seconds=1), "expired", cache.generation)
    assert cache.get("short") is None
    cache.put("h1", 7, LATER, "ana", cache.generation)
    time.sleep(0.06)
    assert cache.get("h1") is None
    for k in ("a", "b", "c"):
        cache.put(k, 1, LATER, k, cache.generation)
    assert cache.get("a") is None and cache.get("c") == "c"  # the oldest went
