"""Customer satisfaction: a ticket a person resolved gets one survey on its channel (a link with a token),
the customer answers 1 to 5 stars, supervisors see the scores per queue and agent. Tickets only the bot
handled, and a second resolution, get none."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx

from tests.integration.test_ticket_merge import mail, send
from tests.support import LiveServer

LINK = re.compile(r"/csat/([A-Za-z0-9_-]{16,64})")


async def surveys(api: httpx.AsyncClient, tid: int) -> list[dict[str, Any]]:
    messages = (await api.get(f"/api/tickets/{tid}")).json()["messages"]
    return [m for m in messages if m["author"] == "system" and LINK.search(m["body"])]


async def survey_of(api: httpx.AsyncClient, tid: int) -> str:
    for _ in range(100):
        found = await surveys(api, tid)
        if found:
            match = LINK.search(found[0]["body"])
            assert match
            return match.group(1)
        await asyncio.sleep(0.05)
    raise AssertionError("no survey")


async def test_a_resolved_ticket_is_rated(server: LiveServer) -> None:
    await server.add_agent("sue@example.com", "Sue Boss", role="supervisor", queues=["general"])
    ana_id = await server.add_agent("ana@example.com", "Ana Lopez", queues=["general"])
    sue, _ = await server.token("sue@example.com")
    ana, _ = await server.token("ana@example.com")
    async with server.client(ana) as api:
        helped = await send(api, mail("greta@lind.example", "parcel", "where is my parcel?", 1))
        botted = await send(api, mail("bo@else.example", "hours", "when do you open?", 2))
        assert (await api.patch(f"/api/tickets/{helped}", json={"assignee_id": ana_id})).status_code == 200
        r = await api.post(f"/api/tickets/{helped}/messages", json={"body": "It is on its way."})
        assert r.status_code in (201, 202)
        for tid in (helped, botted):
            assert (await api.patch(f"/api/tickets/{tid}", json={"status": "resolved"})).status_code == 200
        token = await survey_of(api, helped)
        [question] = await surveys(api, helped)
        assert question["body"].startswith("How did we do?") and question["status"] in ("queued", "failed")
        await asyncio.sleep(0.3)
        assert await surveys(api, botted) == []  # the bot's alone: no survey
        # resolved again after a reopen: not asked twice
        assert (await api.patch(f"/api/tickets/{helped}", json={"status": "open"})).status_code == 200
        assert (await api.patch(f"/api/tickets/{helped}", json={"status": "resolved"})).status_code == 200
        await asyncio.sleep(0.3)
        assert len(await surveys(api, helped)) == 1
        assert (await api.get("/api/csat")).status_code == 403
    async with server.client() as customer:  # no sign-in: the token is the key
        shown = (await customer.get(f"/api/csat/{token}")).json()
        assert shown == {
            "subject": "parcel",
            "agent": "Ana",
            "score": None,
            "comment": "",
            "answered_at": None,
        }
        for bad in ({"score": 0}, {"score": 6}, {"score": "5"}, {"score": True}, {"score": 4, "comment": 5}):
            assert (await customer.post(f"/api/csat/{token}", json=bad)).status_code == 400, bad
        assert (await customer.get("/api/csat/" + "x" * 32)).status_code == 404
        r = await customer.post(f"/api/csat/{token}", json={"score": 2, "comment": "slow"})
        assert r.status_code == 200 and r.json()["score"] == 2
        r = await customer.post(f"/api/csat/{token}", json={"score": 5, "comment": " quick in the end "})
        assert (r.json()["score"], r.json()["comment"]) == (5, "quick in the end")
        page = await customer.get(f"/csat/{token}")
        assert page.status_code == 200 and "How did we do?" in page.text
        assert page.headers["referrer-policy"] == "no-referrer"
    async with server.client(sue) as boss:
        scores = (await boss.get("/api/csat", params={"days": 7})).json()
        assert (scores["sent"], scores["answered"], scores["average"], scores["satisfied_pct"]) == (
            1,
            1,
            5.0,
            100.0,
        )
        assert scores["by_queue"] == [
            {"queue": "general", "answered": 1, "average": 5.0, "satisfied_pct": 100.0}
        ]
        assert scores["by_agent"] == [
            {"agent_id": ana_id, "name": "Ana Lopez", "answered": 1, "average": 5.0, "satisfied_pct": 100.0}
        ]
        assert (await boss.get("/api/csat", params={"days": 0})).status_code == 400


async def test_a_chat_customer_gets_the_survey_in_the_widget(server: LiveServer) -> None:
    ana_id = await server.add_agent("ana@example.com", "Ana", queues=["general"])
    ana, _ = await server.token("ana@example.com")
    widget, _ = await server.widget(name="Vera")
    await widget.send({"type": "message", "text": "I need to speak to an agent please", "client_id": "c1"})
    assert await widget.wait_for(lambda f: f.get("type") == "ack")
    async with server.client(ana) as api:
        for _ in range(100):
            items = (await api.get("/api/tickets")).json()["items"]
            if items:
                break
            await asyncio.sleep(0.05)
        tid = items[0]["id"]
        await api.patch(f"/api/tickets/{tid}", json={"assignee_id": ana_id})
        await api.post(f"/api/tickets/{tid}/messages", json={"body": "Hi Vera, how can I help?"})
        await api.patch(f"/api/tickets/{tid}", json={"status": "resolved"})
    frame = await widget.wait_for(lambda f: f.get("type") == "message" and "/csat/" in str(f.get("text")))
    assert frame and frame["from"] == "system"
    await widget.close()
