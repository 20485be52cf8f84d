"""Business hours (pure): a week of opening hours in a time zone, with holidays, and the questions SLAs and
rules ask of it: is it open at this moment, and how many business seconds lie between two moments.

Hours are {"mon": [["09:00", "17:00"]], ...} (several spans a day allowed, none: closed that day);
holidays are ISO dates, closed all day in the calendar's zone."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
DEFAULT_HOURS: dict[str, list[list[str]]] = {d: [["09:00", "17:00"]] for d in DAYS[:5]}
MAX_DAYS = 3700  # how far business time is searched (ten years of closed days)


class CalendarError(ValueError):
    pass


def _minutes(clock: str) -> int:
    h, m = clock.split(":")
    return int(h) * 60 + int(m)


@dataclass(frozen=True)
class Calendar:
    timezone: str = "UTC"
    # per weekday (0 = Monday): spans as (start minute, end minute), sorted, not overlapping
    spans: tuple[tuple[tuple[int, int], ...], ...] = field(
        default_factory=lambda: tuple(((540, 1020),) if d < 5 else () for d in range(7))
    )
    holidays: frozenset[date] = frozenset()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(self.zone)
        if local.date() in self.holidays:
            return False
        minute = local.hour * 60 + local.minute
        return any(a <= minute < b for a, b in self.spans[local.weekday()])

    def _day_spans(self, day: date) -> list[tuple[datetime, datetime]]:
        if day in self.holidays:
            return []
        out = []
        for a, b in self.spans[day.weekday()]:
            start = datetime.combine(day, time(a // 60, a % 60), self.zone)
            end = (
                datetime.combine(day + timedelta(days=1), time(0, 0), self.zone)
                if b == 1440
                else datetime.combine(day, time(b // 60, b % 60), self.zone)
            )
            # in UTC: arithmetic on two times of one zone is wall-clock time (a daylight-saving day is 24 h)
            out.append((start.astimezone(UTC), end.astimezone(UTC)))
        return out

    def business_seconds(self, start: datetime, end: datetime) -> float:
        """Open time between two moments."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if end <= start:
            return 0.0
        total = 0.0
        day = start.astimezone(self.zone).date()
        last = end.astimezone(self.zone).date()
        for _ in range(MAX_DAYS):
            for a, b in self._day_spans(day):
                lo, hi = max(a, start), min(b, end)
                if hi > lo:
                    total += (hi - lo).total_seconds()
            if day >= last:
                break
            day += timedelta(days=1)
        return total

    def add(self, start: datetime, seconds: float) -> datetime | None:
        """The moment `seconds` of open time after `start` (None: the calendar is never open)."""
        left = max(0.0, seconds)
        zone = start.tzinfo
        start = start.astimezone(UTC)
        day = start.astimezone(self.zone).date()
        for _ in range(MAX_DAYS):
            for a, b in self._day_spans(day):
                lo = max(a, start)
                if b <= lo:
                    continue
                span = (b - lo).total_seconds()
                if left <= span:
                    return (lo + timedelta(seconds=left)).astimezone(zone)
                left -= span
            day += timedelta(days=1)
        return None


def check_hours(raw: Any) -> dict[str, list[list[str]]]:
    if not isinstance(raw, dict) or set(raw) - set(DAYS):
        raise CalendarError(f"hours must be an object with days among {', '.join(DAYS)}")
    out: dict[str, list[list[str]]] = {}
    for day in DAYS:
        spans = raw.get(day, [])
        if not isinstance(spans, list) or len(spans) > 6:
            raise CalendarError(f"hours of {day} must be a list of [from, to] spans")
        clean: list[list[str]] = []
        for span in spans:
            if (
                not isinstance(span, list)
                or len(span) != 2
                or not all(isinstance(x, str) and CLOCK.match(x) for x in span)
                or _minutes(span[0]) >= _minutes(span[1])
            ):
                raise CalendarError(f'{day}: each span is ["HH:MM", "HH:MM"], from before to')
            clean.append([span[0], span[1]])
        clean.sort(key=lambda s: _minutes(s[0]))
        for (a, b), (c, _d) in pairwise(clean):
            if _minutes(c) < _minutes(b):
                raise CalendarError(f"{day}: spans {a}-{b} and {c}-{_d} overlap")
        if clean:
            out[day] = clean
    return out


def check_timezone(raw: Any) -> str:
    if not isinstance(raw, str) or not raw:
        raise CalendarError("timezone must be an IANA name such as Europe/Stockholm")
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise CalendarError(f"unknown timezone {raw!r}") from e
    return raw


def check_holidays(raw: Any) -> list[str]:
    if not isinstance(raw, list) or len(raw) > 1000:
        raise CalendarError("holidays must be a list of dates (YYYY-MM-DD)")
    out: set[str] = set()
    for d in raw:
        try:
            if not isinstance(d, str) or len(d) != 10:
                raise ValueError
            out.add(date.fromisoformat(d).isoformat())
        except ValueError:
            raise CalendarError(f"holidays: {d!r} is not a date written YYYY-MM-DD") from None
    return sorted(out)


def make(timezone: str, hours: dict[str, list[list[str]]], holidays: list[str]) -> Calendar:
    spans = tuple(tuple((_minutes(a), _minutes(b)) for a, b in hours.get(day, [])) for day in DAYS)
    return Calendar(timezone, spans, frozenset(date.fromisoformat(d) for d in holidays))
