"""The sliding window behind the login and widget limits."""

from __future__ import annotations

from app.http.ratelimit import Window


def test_a_key_is_refused_at_its_limit_and_others_are_not() -> None:
    w = Window(limit=2, period_s=60)
    for _ in range(2):
        assert w.retry_after("a") == 0
        w.hit("a")
    assert 0 < w.retry_after("a") <= 60
    assert w.retry_after("b") == 0


def test_the_oldest_keys_are_forgotten_past_the_bound() -> None:
    w = Window(limit=1, period_s=60, keys=2)
    for key in ("a", "b", "c"):
        w.hit(key)
    assert w.retry_after("a") == 0 and w.retry_after("c") > 0


def test_a_limit_of_zero_counts_nothing_and_refuses_nothing() -> None:
    w = Window(limit=0, period_s=60)
    for _ in range(100):
        w.hit("a")
    assert w.retry_after("a") == 0
