"""The supervisor board's read model: it takes the newest ticket snapshot whatever the order and repeats of
events, and derives the queue figures from the live tickets only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.bus import Event
from app.domain.board import Board
from app.domain.types import utcnow

NOW = utcnow()


def ticket(
    tid: int, version: int, *, queue: int = 1, status: str = "open", assignee: int | None = None, **at: Any
) -> Event:
    data = {
        "id": tid,
        "version": version,
        "queue_id": queue,
        "status": status,
        "assignee_id": assignee,
        "created_at": (NOW - timedelta(minutes=30)).isoformat(),
        "queued_at": None,
        "first_response_at": None,
        "resolved_at": None,
    }
    data.update({k: v.isoformat() if v is not None else None for k, v in at.items()})
    return Event("ticket.updated", version, {"ticket_id": tid, "ticket": data})


def test_waiting_and_the_oldest_per_queue() -> None:
    board = Board()
    board.apply(ticket(1, 1, queued_at=NOW - timedelta(seconds=50)))
    board.apply(ticket(2, 1, queued_at=NOW - timedelta(seconds=90)))
    board.apply(ticket(3, 1, queue=2, queued_at=NOW - timedelta(seconds=10)))
    board.apply(ticket(4, 1, status="new"))  # the bot's: not waiting
    figures = board.figures(NOW)
    assert figures[1]["waiting"] == 2 and figures[1]["oldest_ticket_id"] == 2
    assert figures[1]["longest_wait_s"] == 90.0
    assert figures[2]["waiting"] == 1 and figures[2]["oldest_ticket_id"] == 3


def test_an_older_or_repeated_event_never_overwrites_a_newer_one() -> None:
    board = Board()
    queued = NOW - timedelta(seconds=20)
    assigned = ticket(1, 3, assignee=7, queued_at=queued)
    board.apply(assigned)
    board.apply(ticket(1, 2, queued_at=queued))  # the handoff, arriving late
    board.apply(assigned)
    assert board.figures(NOW)[1]["waiting"] == 0
    assert board.loads() == {7: 1}


def test_resolution_and_first_response_today() -> None:
    board = Board()  # its day is the clock's, now (not when this module was imported)
    now = utcnow()
    # ten minutes ago, but never before midnight: just after it, yesterday's times are not today's figures
    queued = max(now - timedelta(minutes=10), now.replace(hour=0, minute=0, second=0, microsecond=0))
    board.apply(ticket(1, 2, assignee=7, queued_at=queued, first_response_at=queued + timedelta(seconds=30)))
    board.apply(ticket(2, 2, assignee=7, queued_at=queued, first_response_at=queued + timedelta(seconds=90)))
    done = queued + timedelta(minutes=5)
    board.apply(
        ticket(
            1,
            5,
            status="resolved",
            queued_at=queued,
            first_response_at=queued + timedelta(seconds=30),
            resolved_at=done,
        )
    )
    figures = board.figures(now)[1]
    assert figures["handled_today"] == 1
    assert figures["median_first_response_s_today"] == 60.0
    assert board.loads() == {7: 1}  # the resolved one no longer counts
    old = now - timedelta(days=3)
    board.apply(ticket(3, 9, status="closed", resolved_at=old, first_response_at=old))
    assert board.figures(now)[1]["handled_today"] == 1  # another day's


def test_malformed_events_are_ignored() -> None:
    board = Board()
    for data in (
        {},
        {"ticket": "x"},
        {"ticket": {"id": "1"}},
        {"ticket": {"id": 1, "version": None}},
        {"ticket": {"id": 1, "version": 1, "queued_at": "not a date", "status": "open"}},
    ):
        board.apply(Event("ticket.updated", 0, data))
    assert board.figures(NOW) == {} and board.loads() == {}


def test_a_change_the_figures_do_not_see_keeps_them_and_moves_the_version_on() -> None:
    board = Board()
    queued = NOW - timedelta(seconds=40)
    board.apply(ticket(1, 1, queued_at=queued))
    summary = board._summary(NOW.date())
    board.apply(ticket(1, 2, queued_at=queued))  # a customer's message: same queue, status, times
    assert board._summary(NOW.date()) is summary  # nothing recounted
    board.apply(ticket(1, 1, assignee=7, queued_at=queued))  # older than the message: ignored
    assert board.figures(NOW)[1]["waiting"] == 1
    board.apply(ticket(1, 3, assignee=7, queued_at=queued))
    assert board.figures(NOW)[1]["waiting"] == 0 and board.loads() == {7: 1}
