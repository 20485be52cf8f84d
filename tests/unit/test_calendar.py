"""Business hours: open or not at a moment, open time between two moments, and the moment a span of open
time ends, across nights, weekends, holidays, a daylight-saving change and time zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.domain.calendar import (
    DEFAULT_HOURS,
    CalendarError,
    check_holidays,
    check_hours,
    check_timezone,
    make,
)

STOCKHOLM = make("Europe/Stockholm", DEFAULT_HOURS, ["2026-12-24", "2026-12-25"])


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_open_in_the_calendars_own_zone() -> None:
    # Wednesday 2 December 2026: Stockholm is UTC+1, open 08:00-16:00 UTC
    assert not STOCKHOLM.is_open(utc(2026, 12, 2, 7, 59))
    assert STOCKHOLM.is_open(utc(2026, 12, 2, 8, 0))
    assert STOCKHOLM.is_open(utc(2026, 12, 2, 15, 59))
    assert not STOCKHOLM.is_open(utc(2026, 12, 2, 16, 0))
    assert not STOCKHOLM.is_open(utc(2026, 12, 5, 10, 0))  # Saturday
    assert not STOCKHOLM.is_open(utc(2026, 12, 24, 10, 0))  # a holiday


def test_business_seconds_skip_nights_weekends_and_holidays() -> None:
    hour = 3600.0
    # Friday 15:00 local to Monday 10:00 local: 2 h on Friday, 1 h on Monday
    assert STOCKHOLM.business_seconds(utc(2026, 12, 4, 14, 0), utc(2026, 12, 7, 9, 0)) == 3 * hour
    # 23 December 16:00 local to 28 December 09:00 local: 1 h on the 23rd; 24th, 25th holidays; weekend
    assert STOCKHOLM.business_seconds(utc(2026, 12, 23, 15, 0), utc(2026, 12, 28, 8, 0)) == 1 * hour
    assert STOCKHOLM.business_seconds(utc(2026, 12, 7, 9, 0), utc(2026, 12, 7, 9, 0)) == 0


def test_adding_open_time() -> None:
    # 4 business hours from Friday 15:00 local: 2 h Friday, 2 h Monday -> Monday 11:00 local (10:00 UTC)
    assert STOCKHOLM.add(utc(2026, 12, 4, 14, 0), 4 * 3600) == utc(2026, 12, 7, 10, 0)
    # from a closed moment, the clock starts at the next opening
    assert STOCKHOLM.add(utc(2026, 12, 5, 12, 0), 60) == utc(2026, 12, 7, 8, 1)
    # round trip: the open time between start and the computed end is what was added
    start = utc(2026, 12, 22, 12, 34)
    end = STOCKHOLM.add(start, 20 * 3600)
    assert end is not None and STOCKHOLM.business_seconds(start, end) == pytest.approx(20 * 3600)
    assert make("UTC", {}, []).add(start, 60) is None  # never open


def test_daylight_saving_day() -> None:
    # 29 March 2026: Stockholm goes from UTC+1 to UTC+2 (a Sunday); open all day Sunday 00:00-24:00
    cal = make("Europe/Stockholm", {"sun": [["00:00", "24:00"]]}, [])
    day = cal.business_seconds(utc(2026, 3, 28, 0, 0), utc(2026, 3, 30, 0, 0))
    assert day == timedelta(hours=23).total_seconds()  # the day has 23 hours


def test_bad_calendars_are_refused() -> None:
    for hours in (
        {"mon": [["09:00"]]},
        {"mon": [["17:00", "09:00"]]},
        {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]},
        {"monday": [["09:00", "17:00"]]},
        {"mon": [["9am", "5pm"]]},
        [],
    ):
        with pytest.raises(CalendarError):
            check_hours(hours)
    with pytest.raises(CalendarError):
        check_timezone("Mars/Olympus")
    with pytest.raises(CalendarError):
        check_holidays(["2026-02-30"])
    assert check_hours({"fri": [["13:00", "17:00"], ["08:00", "12:00"]]}) == {
        "fri": [["08:00", "12:00"], ["13:00", "17:00"]]
    }
