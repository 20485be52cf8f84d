"""The supervisor board's figures (`GET /api/queues`) come from a read model kept current by events: after
real work they equal what the database says, and a change that reached the database without an event
(a lost event) is repaired by the next sweep. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import update

from app.domain.board import Board
from app.domain.models import Ticket
from app.domain.types import utcnow
from tests.support import WS, LiveServer, make_settings, running

FIGURES = ("waiting", "oldest_ticket_id", "handled_today", "median_first_response_s_today")


@pytest.fixture
async def swept(database_url: str) -> AsyncIterator[LiveServer]:
    """A server whose sweep (presence, router, board) runs every 0.3 s."""
    async with running(make_settings(database_url, presence_heartbeat_s=0.3)) as live:
        yield live


async def _queues(server: LiveServer, token: str) -> dict[str, dict[str, Any]]:
    async with server.client(token) as api:
        return {q["name"]: q for q in (await api.get("/api/queues")).json()["items"]}


async def _truth(server: LiveServer) -> dict[int, dict[str, Any]]:
    board = Board()
    async with server.ctx.db.read() as s:
        await board.reload(s)
    return board.figures(utcnow())


async def test_figures_follow_the_work_and_match_the_database(swept: LiveServer) -> None:
    server = swept
    await server.add_agent("ana@example.com", "Ana", capacity=2)
    token, _ana = await server.token("ana@example.com")
    agent = await server.agent_socket(token)
    widgets: list[WS] = []
    for i in range(4):
        w, _ = await server.widget(name=f"Customer {i}")
        await w.send({"type": "message", "text": "I need to speak to an agent please", "client_id": f"c{i}"})
        assert await w.wait_for(lambda f: f.get("type") == "ack")
        widgets.append(w)
    assert await agent.wait_for(lambda f: len(agent.of("ticket.assigned")) >= 2, timeout=10)
    first = agent.of("ticket.assigned")[0]["data"]["ticket_id"]
    async with server.client(token) as api:
        assert (await api.post(f"/api/tickets/{first}/messages", json={"body": "hello"})).status_code == 201
        assert (await api.patch(f"/api/tickets/{first}", json={"status": "resolved"})).status_code == 200
    general: dict[str, Any] = {}
    for _ in range(100):  # the freed place takes a waiting ticket
        general = (await _queues(server, token))["general"]
        if general["handled_today"] == 1 and general["waiting"] == 1:
            break
        await asyncio.sleep(0.05)
    assert general["handled_today"] == 1 and general["waiting"] == 1
    assert general["median_first_response_s_today"] is not None
    assert general["agents_busy"] == 1 and general["agents_available"] == 1
    truth = (await _truth(server))[general["id"]]
    assert {k: general[k] for k in FIGURES} == {k: truth[k] for k in FIGURES}
    for w in [*widgets, agent]:
        await w.close()


async def test_a_change_without_an_event_is_repaired_by_the_sweep(swept: LiveServer) -> None:
    server = swept
    await server.add_agent("ana@example.com", "Ana", capacity=2)
    token, _ana = await server.token("ana@example.com")
    w, _ = await server.widget(name="Silent")
    await w.send({"type": "message", "text": "I need to speak to an agent please", "client_id": "s1"})
    general: dict[str, Any] = {}
    for _ in range(100):
        general = (await _queues(server, token))["general"]
        if general["waiting"] == 1:
            break
        await asyncio.sleep(0.05)
    assert general["waiting"] == 1
    ticket_id = general["oldest_ticket_id"]
    async with server.ctx.db.write() as s:  # behind the board's back: no event
        await s.execute(
            update(Ticket).where(Ticket.id == ticket_id).values(status="resolved", resolved_at=utcnow())
        )
    for _ in range(100):
        general = (await _queues(server, token))["general"]
        if general["waiting"] == 0:
            break
        await asyncio.sleep(0.05)
    assert general["waiting"] == 0 and general["oldest_ticket_id"] is None and general["handled_today"] == 1
    await w.close()
