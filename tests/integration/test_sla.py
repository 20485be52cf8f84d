"""SLAs: due times from the most specific policy in the queue's business hours, recomputed when the priority
changes; a missed target is marked once, raises the priority, is on the timeline and reaches supervisors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from app.actions.sla import policy_for
from app.domain.models import SlaPolicy
from tests.integration.test_ticket_merge import mail, send
from tests.support import LiveServer, make_settings, running

ALWAYS = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@pytest.fixture
async def live(database_url: str) -> AsyncIterator[LiveServer]:
    async with running(make_settings(database_url, sla_check_s=0.1)) as server:
        yield server


async def ticket(api: httpx.AsyncClient, tid: int) -> dict[str, Any]:
    return dict((await api.get(f"/api/tickets/{tid}")).json())


def at(text: str | None) -> datetime:
    assert text is not None
    return datetime.fromisoformat(text)


async def test_targets_are_kept_and_breaches_escalate(live: LiveServer) -> None:
    await live.add_agent("adm@example.com", "Adm", role="admin", queues=["general"])
    await live.add_agent("sue@example.com", "Sue", role="supervisor", queues=["general"])
    await live.add_agent("ana@example.com", "Ana", queues=["general"])
    adm, _ = await live.token("adm@example.com")
    sue, _ = await live.token("sue@example.com")
    ana, _ = await live.token("ana@example.com")
    board = await live.agent_socket(sue)
    async with live.client(adm) as api:
        cal = (await api.post("/api/calendars", json={"name": "Always", "hours": ALWAYS})).json()
        assert (
            await api.put("/api/queues/general/calendar", json={"calendar_id": cal["id"]})
        ).status_code == 200
        for bad in (
            {"queue": "nowhere", "first_response_minutes": 5},
            {"priority": "whenever", "first_response_minutes": 5},
            {"first_response_minutes": -1},
            {"first_response_minutes": "soon"},
            {},
        ):
            assert (await api.post("/api/sla-policies", json=bad)).status_code == 400, bad
        # any ticket of general: first response within 2 s, resolution within 1 hour; urgent ones: 1 minute
        r = await api.post(
            "/api/sla-policies",
            json={"queue": "general", "first_response_minutes": 2 / 60, "resolution_minutes": 60},
        )
        assert r.status_code == 201, r.text
        assert (
            await api.post("/api/sla-policies", json={"queue": "general", "first_response_minutes": 9})
        ).status_code == 409
        r = await api.post(
            "/api/sla-policies", json={"queue": "general", "priority": "urgent", "first_response_minutes": 1}
        )
        assert r.status_code == 201
        late = await send(api, mail("greta@lind.example", "parcel", "where is it?", 1))
        answered = await send(api, mail("bo@else.example", "hi", "hello", 2))
        urgent = await send(api, mail("cy@else.example", "down", "everything is down", 3))
    async with live.client(ana) as agent:
        assert (
            await agent.post(f"/api/tickets/{answered}/messages", json={"body": "Hello Bo!"})
        ).status_code in (
            201,
            202,
        )
        assert (await agent.patch(f"/api/tickets/{urgent}", json={"priority": "urgent"})).status_code == 200
        for _ in range(100):
            t = await ticket(agent, late)
            if t["sla"]["first_response_breached_at"]:
                break
            await asyncio.sleep(0.05)
        created = at(t["created_at"])
        due = at(t["sla"]["first_response_due_at"])
        assert 1.5 <= (due - created).total_seconds() <= 2.5
        assert (at(t["sla"]["resolution_due_at"]) - created).total_seconds() == pytest.approx(3600, abs=1)
        assert t["sla"]["first_response_breached_at"] and t["priority"] == "high"
        assert t["sla"]["resolution_breached_at"] is None
        history = (await agent.get(f"/api/customers/{t['customer_id']}/history")).json()["items"]
        breaches = [h["text"] for h in history if h["kind"] == "sla.breach"]
        assert breaches == ["SLA missed: first response; priority normal -> high"]
        # answered in time: no breach; urgent: its own, longer target, recomputed when the priority changed
        ok = await ticket(agent, answered)
        assert ok["sla"]["first_response_breached_at"] is None and ok["priority"] == "normal"
        u = await ticket(agent, urgent)
        assert (at(u["sla"]["first_response_due_at"]) - at(u["created_at"])).total_seconds() == pytest.approx(
            60, abs=1
        )
        assert u["sla"]["resolution_due_at"] is None and u["sla"]["first_response_breached_at"] is None
        await asyncio.sleep(0.5)  # marked once
        history = (await agent.get(f"/api/customers/{t['customer_id']}/history")).json()["items"]
        assert len([h for h in history if h["kind"] == "sla.breach"]) == 1
    assert await board.wait_for(
        lambda f: (
            f.get("type") == "ticket.updated"
            and f["data"].get("reason") == "sla_breach"
            and f["data"]["ticket_id"] == late
        )
    )
    await board.close()


def test_the_most_specific_policy_applies() -> None:
    general_any = SlaPolicy(id=1, queue_id=1, priority=None)
    general_urgent = SlaPolicy(id=2, queue_id=1, priority="urgent")
    any_urgent = SlaPolicy(id=3, queue_id=None, priority="urgent")
    catch_all = SlaPolicy(id=4, queue_id=None, priority=None)
    policies = [catch_all, any_urgent, general_urgent, general_any]
    assert policy_for(policies, 1, "urgent") is general_urgent
    assert policy_for(policies, 1, "low") is general_any
    assert policy_for(policies, 2, "urgent") is any_urgent
    assert policy_for(policies, 2, "low") is catch_all
    assert policy_for([general_any], 2, "low") is None
