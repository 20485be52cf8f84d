"""The user steps of the core service, against a real server with real websocket clients, on SQLite and
PostgreSQL: the bot answers, hands off, the router assigns, the agent replies, the history holds it all."""

from __future__ import annotations

import asyncio
from datetime import datetime

from tests.support import LiveServer


def msg_from(author: str, needle: str = ""):  # type: ignore[no-untyped-def]
    return lambda f: f.get("type") == "message" and f.get("from") == author and needle in f.get("text", "")


async def test_bot_answers_then_hands_off_and_agent_replies(server: LiveServer) -> None:
    await server.add_agent("ana@example.com", "Ana", capacity=5)
    await server.import_faq()
    token, ana_id = await server.token("ana@example.com")
    agent = await server.agent_socket(token)

    widget, welcome = await server.widget(name="Carla Diaz", email="carla@example.org")
    assert len(welcome["visitor_token"]) >= 43  # 256 bits, url-safe base64
    assert welcome["conversation_id"] is None

    # step 2: the bot answers a question it knows
    await widget.send({"type": "message", "text": "hi, how can I reset my password?", "client_id": "c1"})
    ack = await widget.wait_for(lambda f: f.get("type") == "ack" and f["client_id"] == "c1")
    assert ack and ack["seq"] == 1
    bot = await widget.wait_for(msg_from("bot", "Settings > Security"))
    assert bot and bot["seq"] == 2
    # the customer's own message is echoed once, in order
    own = [f for f in widget.of("message") if f["from"] == "customer"]
    assert [f["seq"] for f in own] == [1]
    # no handoff yet: nothing assigned
    assert not agent.of("ticket.assigned")

    # step 3-4: the customer asks for a person; the router offers the ticket to the available agent
    await widget.send(
        {"type": "message", "text": "that did not help, I want to talk to a human", "client_id": "c2"}
    )
    assigned = await agent.wait_for(lambda f: f.get("type") == "ticket.assigned", timeout=5)
    assert assigned, agent.frames
    assert assigned["data"]["assignee_id"] == ana_id
    tid = assigned["data"]["ticket_id"]
    assert assigned["data"]["ticket"]["status"] == "open"
    system = await widget.wait_for(msg_from("system", "connect you"))
    assert system

    async with server.client(token) as api:
        r = await api.get(f"/api/tickets/{tid}")
        assert r.status_code == 200
        ticket = r.json()
        assert (
            ticket["assignee_id"] == ana_id and ticket["channel"] == "chat" and ticket["queue"] == "general"
        )
        assert [m["author"] for m in ticket["messages"]] == ["customer", "bot", "customer", "system"]
        assert [m["seq"] for m in ticket["messages"]] == [1, 2, 3, 4]

        r = await api.post(f"/api/tickets/{tid}/messages", json={"body": "Hi Carla, Ana here."})
        assert r.status_code == 201, r.text
        assert r.json()["author"] == "agent" and r.json()["status"] == "delivered"
        reply = await widget.wait_for(msg_from("agent", "Ana here"))
        assert reply and reply["author_name"] == "Ana"
        # the agent's console hears its own reply too
        assert await agent.wait_for(
            lambda f: f.get("type") == "message.created" and f["data"]["body"].startswith("Hi")
        )

        r = await api.patch(
            f"/api/tickets/{tid}", json={"status": "resolved", "priority": "high", "tags": ["vip"]}
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "resolved" and r.json()["tags"] == ["vip"]
        assert await agent.wait_for(
            lambda f: f.get("type") == "ticket.updated" and f["data"]["ticket"]["status"] == "resolved"
        )

        # step 5: the history holds every step, oldest first
        cid = ticket["customer_id"]
        r = await api.get(f"/api/customers/{cid}/history")
        items = r.json()["items"]
        kinds = [i["kind"] for i in items]
        for kind in ("ticket.created", "message", "bot.answer", "handoff", "assignment", "update"):
            assert kind in kinds, kinds
        texts = " | ".join(i["text"] for i in items)
        for needle in ("reset my password", "Settings > Security", "talk to a human", "Ana here", "resolved"):
            assert needle in texts
        ats = [datetime.fromisoformat(i["at"]) for i in items]
        assert ats == sorted(ats) and all(a.tzinfo is not None for a in ats)

        r = await api.get(f"/api/customers/{cid}")
        profile = r.json()
        assert profile["name"] == "Carla Diaz" and profile["emails"] == ["carla@example.org"]
        assert {i["kind"] for i in profile["identities"]} == {"chat", "email"}
    await widget.close()
    await agent.close()


async def test_stale_view_plus_events_equals_fresh_read(server: LiveServer) -> None:
    """Every ticket event carries the ticket's view and its version as seq: applying the events in seq order
    to what a console saw first gives what a fresh read says."""
    await server.add_agent("ana@example.com", "Ana", capacity=5)
    token, _ = await server.token("ana@example.com")
    agent = await server.agent_socket(token)
    widget, _ = await server.widget(name="Stale View")
    await widget.send({"type": "message", "text": "agent please", "client_id": "s1"})
    first = await agent.wait_for(lambda f: f.get("type") == "ticket.assigned")
    assert first
    tid = first["data"]["ticket_id"]
    view = dict(first["data"]["ticket"])
    async with server.client(token) as api:
        await api.post(f"/api/tickets/{tid}/messages", json={"body": "on it"})
        await api.patch(f"/api/tickets/{tid}", json={"priority": "urgent"})
        await api.post(f"/api/tickets/{tid}/messages", json={"body": "a note", "internal": True})
        await api.patch(f"/api/tickets/{tid}", json={"status": "pending", "tags": ["b", "a"]})
        await asyncio.sleep(0.3)
        events = [
            f
            for f in agent.frames
            if f.get("data", {}).get("ticket_id") == tid and f["seq"] > view["version"]
        ]
        for ev in sorted(events, key=lambda f: f["seq"]):
            view = dict(ev["data"]["ticket"])
        fresh = (await api.get(f"/api/tickets/{tid}")).json()
        fresh.pop("messages")
        assert view == fresh
        assert view["status"] == "pending" and view["priority"] == "urgent" and view["tags"] == ["a", "b"]
    await widget.close()
    await agent.close()
