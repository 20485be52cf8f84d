"""What the console and the board need from the server: the caller, the team, queue figures, charts,
canned responses, collision and typing frames, live queue changes, and pages sent with a strict CSP."""

from __future__ import annotations

import asyncio

from tests.support import WS, LiveServer


async def _handoff(server: LiveServer, name: str) -> WS:
    w, _ = await server.widget(name=name)
    await w.send({"type": "message", "text": "a person please", "client_id": name})
    assert await w.wait_for(lambda f: f.get("type") == "ack")
    return w


async def test_me_agents_queues_and_stats(server: LiveServer) -> None:
    await server.add_agent("ana@example.com", "Ana", capacity=1)
    await server.add_agent("ben@example.com", "Ben", queues=["tech"])
    await server.add_agent("sue@example.com", "Sue", role="supervisor", queues=["general", "tech"])
    ana_tok, _ = await server.token("ana@example.com")
    sue_tok, _ = await server.token("sue@example.com")
    ana_ws = await server.agent_socket(ana_tok)
    widgets = [await _handoff(server, f"Cust {i}") for i in range(3)]
    assert await ana_ws.wait_for(lambda f: f.get("type") == "ticket.assigned")
    await asyncio.sleep(0.3)
    async with server.client(ana_tok) as api, server.client(sue_tok) as sup:
        me = (await api.get("/api/me")).json()
        assert (me["name"], me["role"], me["queues"], me["presence"]) == (
            "Ana",
            "agent",
            ["general"],
            "available",
        )
        team = {a["name"]: a for a in (await api.get("/api/agents")).json()["items"]}
        assert team["Ana"]["state"] == "busy" and team["Ana"]["open_tickets"] == 1
        assert team["Ben"]["state"] == "away" and team["Ben"]["queues"] == ["tech"]
        general = next(q for q in (await api.get("/api/queues")).json()["items"] if q["name"] == "general")
        assert (
            general["waiting"],
            general["agents_available"],
            general["agents_busy"],
            general["agents_away"],
        ) == (
            2,
            1,
            1,
            1,
        )
        waiting = (await api.get("/api/tickets", params={"waiting": "true"})).json()["items"]
        assert len(waiting) == 2 and general["oldest_ticket_id"] == min(t["id"] for t in waiting)
        mine = next(iter({f["data"]["ticket_id"] for f in ana_ws.of("ticket.assigned")}))
        assert (await api.post(f"/api/tickets/{mine}/messages", json={"body": "hello"})).status_code == 201
        assert (await api.patch(f"/api/tickets/{mine}", json={"status": "resolved"})).status_code == 200
        await asyncio.sleep(0.3)
        general = next(q for q in (await api.get("/api/queues")).json()["items"] if q["name"] == "general")
        assert general["handled_today"] == 1 and general["median_first_response_s_today"] is not None
        assert general["waiting"] == 1  # the freed capacity took the next one

        assert (await api.get("/api/stats")).status_code == 403
        stats = (await sup.get("/api/stats", params={"hours": 2})).json()
        assert len(stats["waiting_series"]) == 13 and stats["waiting_series"][-1]["waiting"] == 1
        assert max(p["waiting"] for p in stats["waiting_series"]) >= 1
        assert sum(b["count"] for b in stats["first_response_today"]["buckets"]) == 1
        assert stats["volume_by_channel_today"]["chat"] == 3 and stats["handled_today"] == 1
        assert (await sup.get("/api/stats", params={"hours": 500})).status_code == 400
    for w in [*widgets, ana_ws]:
        await w.close()


async def test_supervisor_changes_queues_and_the_agent_hears_the_new_queue_live(server: LiveServer) -> None:
    await server.add_agent("ben@example.com", "Ben", queues=["tech"])
    await server.add_agent("sue@example.com", "Sue", role="supervisor")
    ben_tok, ben = await server.token("ben@example.com")
    sue_tok, _ = await server.token("sue@example.com")
    ben_ws = await server.agent_socket(ben_tok, status="away")
    sup = await WS.open(server.ws_base + "/ws/supervisor")
    await sup.send({"type": "auth", "token": sue_tok})
    assert await sup.wait_for(lambda f: f.get("type") == "queues")
    assert await sup.wait_for(lambda f: f.get("type") == "agents")
    async with server.client(ben_tok) as api, server.client(sue_tok) as sapi:
        assert (await api.patch(f"/api/agents/{ben}", json={"queues": ["general"]})).status_code == 403
        r = await sapi.patch(f"/api/agents/{ben}", json={"queues": ["general", "tech"], "capacity": 4})
        assert (
            r.status_code == 200 and r.json()["queues"] == ["general", "tech"] and r.json()["capacity"] == 4
        )
        assert (await sapi.patch(f"/api/agents/{ben}", json={"queues": ["nope"]})).status_code == 400
        assert (await sapi.patch(f"/api/agents/{ben}", json={"colour": "red"})).status_code == 400
        assert (await sapi.patch("/api/agents/9999", json={"capacity": 1})).status_code == 404
    await asyncio.sleep(0.2)
    mark = len(sup.frames)
    w = await _handoff(server, "Live Queue")
    # Ben now hears the general queue without reconnecting, and the board moves
    assert await ben_ws.wait_for(
        lambda f: f.get("type") == "ticket.updated" and f["data"]["ticket"]["waiting"]
    )
    got = await sup.wait_for(
        lambda f: (
            f.get("type") == "queues" and any(q["name"] == "general" and q["waiting"] == 1 for q in f["data"])
        ),
        start=mark,
    )
    assert got
    # going available takes it
    await ben_ws.send({"type": "status", "status": "available"})
    assert await ben_ws.wait_for(
        lambda f: f.get("type") == "ticket.assigned" and f["data"]["assignee_id"] == ben
    )
    for c in (w, ben_ws, sup):
        await c.close()


async def test_canned_responses(server: LiveServer) -> None:
    await server.add_agent("ana@example.com", "Ana")
    await server.add_agent("sue@example.com", "Sue", role="supervisor")
    ana_tok, _ = await server.token("ana@example.com")
    sue_tok, _ = await server.token("sue@example.com")
    async with server.client(ana_tok) as api, server.client(sue_tok) as sup:
        body = {
            "title": "Greeting",
            "body": "Hi {{customer.first_name}}, {{agent.name}} here.",
            "shortcut": "hi",
        }
        assert (await api.post("/api/canned", json=body)).status_code == 403
        r = await sup.post("/api/canned", json=body)
        assert r.status_code == 201
        cid = r.json()["id"]
        assert (await sup.post("/api/canned", json=body)).status_code == 409
        for bad in (
            {"title": "", "body": "x"},
            {"title": "t"},
            {"title": "t", "body": "b", "shortcut": "no spaces"},
        ):
            assert (await sup.post("/api/canned", json=bad)).status_code == 400, bad
        items = (await api.get("/api/canned")).json()["items"]
        assert items == [{"id": cid, **body}]
        r = await sup.patch(f"/api/canned/{cid}", json={"title": "Hello"})
        assert r.status_code == 200 and r.json()["title"] == "Hello" and r.json()["body"] == body["body"]
        assert (await sup.delete(f"/api/canned/{cid}")).status_code == 204
        assert (await sup.delete(f"/api/canned/{cid}")).status_code == 404
        assert (await api.get("/api/canned")).json()["items"] == []


async def test_collision_and_typing(server: LiveServer) -> None:
    await server.add_agent("ana@example.com", "Ana")
    await server.add_agent("ben@example.com", "Ben")
    await server.add_agent("tom@example.com", "Tom", queues=["tech"])
    ana_tok, _ = await server.token("ana@example.com")
    ben_tok, _ = await server.token("ben@example.com")
    tom_tok, _ = await server.token("tom@example.com")
    ana_ws = await server.agent_socket(ana_tok)
    ben_ws = await server.agent_socket(ben_tok, status="away")
    tom_ws = await server.agent_socket(tom_tok, status="away")
    w = await _handoff(server, "Typist")
    assigned = await ana_ws.wait_for(lambda f: f.get("type") == "ticket.assigned")
    assert assigned
    tid = assigned["data"]["ticket_id"]
    await ana_ws.send({"type": "viewing", "ticket_id": tid, "state": "viewing"})
    await ben_ws.send({"type": "viewing", "ticket_id": tid, "state": "replying"})
    got = await ana_ws.wait_for(
        lambda f: f.get("type") == "ticket.viewing" and f["data"]["agent_name"] == "Ben"
    )
    assert got and got["data"]["state"] == "replying" and got["data"]["ticket_id"] == tid
    # an agent outside the ticket's queue may not watch it
    await tom_ws.send({"type": "viewing", "ticket_id": tid, "state": "viewing"})
    assert await tom_ws.wait_for(lambda f: f.get("type") == "error" and f.get("code") == "not_found")
    await tom_ws.send({"type": "viewing", "ticket_id": "x", "state": "viewing"})
    assert await tom_ws.wait_for(lambda f: f.get("type") == "error" and f.get("code") == "bad_viewing")
    # the customer types: both viewers see it, nothing is stored
    await w.send({"type": "typing"})
    assert await ana_ws.wait_for(
        lambda f: f.get("type") == "customer.typing" and f["data"]["ticket_id"] == tid
    )
    assert await ben_ws.wait_for(lambda f: f.get("type") == "customer.typing")
    assert not tom_ws.of("customer.typing")
    # Ben leaves: Ana hears it
    await ben_ws.close()
    assert await ana_ws.wait_for(lambda f: f.get("type") == "ticket.viewing" and f["data"]["state"] == "left")
    async with server.client(ana_tok) as api:
        msgs = (await api.get(f"/api/tickets/{tid}")).json()["messages"]
        assert all(m["body"] != "" for m in msgs) and len(msgs) == 2
    for c in (w, ana_ws, tom_ws):
        await c.close()


async def test_pages_are_served_with_a_strict_csp(server: LiveServer) -> None:
    async with server.client() as c:
        for path in ("/console", "/console/supervisor"):
            r = await c.get(path)
            if r.status_code == 404:  # the page files are built alongside; the header is what is tested here
                continue
            csp = r.headers["content-security-policy"]
            assert (
                "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
            )
            assert r.headers["x-content-type-options"] == "nosniff"
        r = await c.get("/static/common.js")
        assert r.status_code == 200 and "javascript" in r.headers["content-type"]
        assert (await c.get("/static/../app/main.py")).status_code == 404
        r = await c.get("/widget.js")
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
        assert (await c.get("/demo")).status_code == 200
