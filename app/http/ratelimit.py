"""A sliding window of events per key, counted in this process: at most `limit` in any `period_s` (a limit
of 0: no limit, nothing counted).

Used for what one client may do however many addresses or accounts it tries (failed logins per client
address). Bounded: the `keys` most recently seen keys are remembered, the oldest forgotten first."""

from __future__ import annotations

import time
from collections import OrderedDict, deque


class Window:
    def __init__(self, limit: int, period_s: float, keys: int = 10_000) -> None:
        self.limit = limit
        self.period_s = period_s
        self.keys = keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, key: str) -> float:
        """0 while the key is under its limit, else the seconds until its oldest event leaves the window."""
        if self.limit <= 0:
            return 0.0
        hits = self._recent(key, time.monotonic())
        if hits is None or len(hits) < self.limit:
            return 0.0
        return hits[0] + self.period_s - time.monotonic()

    def hit(self, key: str) -> None:
        if self.limit <= 0:
            return
        now = time.monotonic()
        hits = self._recent(key, now)
        if hits is None:
            hits = self._hits[key] = deque(maxlen=self.limit)
            while len(self._hits) > self.keys:
                self._hits.popitem(last=False)
        hits.append(now)
        self._hits.move_to_end(key)

    def _recent(self, key: str, now: float) -> deque[float] | None:
        hits = self._hits.get(key)
        if hits is None:
            return None
        while hits and hits[0] <= now - self.period_s:
            hits.popleft()
        return hits
