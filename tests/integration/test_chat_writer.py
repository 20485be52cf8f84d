"""Group commit: many widgets writing at once are stored in batches, each message once (repeats inside
one batch too), numbered 1, 2, 3... per conversation, acked with its seq only after the commit, with a
history line each; a resolved conversation reopens through the ordinary path."""

from __future__ import annotations

import asyncio

import pytest

from tests.support import WS, LiveServer


async def test_concurrent_widgets_are_stored_once_in_order(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    await server.add_agent("ana@example.com", "Ana", capacity=50)
    token, _ = await server.token("ana@example.com")
    agent = await server.agent_socket(token)
    widgets: list[WS] = []
    for i in range(20):
        w, _ = await server.widget(name=f"Batch {i}")
        await w.send({"type": "message", "text": f"agent please {i}", "client_id": f"first-{i}"})
        assert await w.wait_for(lambda f: f.get("type") == "ack")
        widgets.append(w)
    for _ in range(100):
        if len(agent.of("ticket.assigned")) >= 20:
            break
        await asyncio.sleep(0.05)

    async def burst(i: int, w: WS) -> None:
        for k in range(10):
            frame = {"type": "message", "text": f"w{i} m{k}", "client_id": f"{i}-{k}"}
            await w.send(frame)
            if k % 3 == 0:
                await w.send(frame)  # a retry right behind it, likely in the same batch

    await asyncio.gather(*(burst(i, w) for i, w in enumerate(widgets)))

    async def all_acked(w: WS, i: int) -> dict[str, list[int]]:
        for _ in range(200):
            acks: dict[str, list[int]] = {}
            for f in w.of("ack"):
                acks.setdefault(f["client_id"], []).append(f["seq"])
            if all(f"{i}-{k}" in acks for k in range(10)) and sum(len(v) for v in acks.values()) >= 15:
                return acks
            await asyncio.sleep(0.05)
        raise AssertionError(f"widget {i} not acked: {w.frames[-5:]}")

    async with server.client(token) as api:
        by_subject = {
            t["subject"]: t["id"]
            for t in (await api.get("/api/tickets", params={"limit": 50})).json()["items"]
        }
        for i, w in enumerate(widgets):
            acks = await all_acked(w, i)
            for k in range(0, 10, 3):
                assert len(set(acks[f"{i}-{k}"])) == 1  # the repeat got the same seq
            t = (await api.get(f"/api/tickets/{by_subject[f'agent please {i}']}")).json()
            texts = [m["body"] for m in t["messages"] if m["author"] == "customer"]
            assert texts == [f"agent please {i}", *[f"w{i} m{k}" for k in range(10)]]
            seqs = [m["seq"] for m in t["messages"]]
            assert seqs == list(range(1, len(seqs) + 1))
            assert set(acks[f"{i}-9"]) == {next(m["seq"] for m in t["messages"] if m["body"] == f"w{i} m9")}
            history = (await api.get(f"/api/customers/{t['customer_id']}/history")).json()["items"]
            assert sum(1 for h in history if h["kind"] == "message" and h["author"] == "customer") == 11
    # every message reached the agent's socket, once
    bodies = [f["data"]["body"] for f in agent.of("message.created") if f["data"]["author"] == "customer"]
    assert sorted(b for b in bodies if " m" in b) == sorted(
        f"w{i} m{k}" for i in range(20) for k in range(10)
    )
    # and by the batch path: no batch fell back to writing its messages one by one
    assert not [r.getMessage() for r in caplog.records if r.name == "app.actions.chat_writer"]
    for w in [*widgets, agent]:
        await w.close()


async def test_a_resolved_conversation_reopens(server: LiveServer) -> None:
    await server.add_agent("ana@example.com", "Ana")
    token, _ = await server.token("ana@example.com")
    agent = await server.agent_socket(token)
    w, _ = await server.widget(name="Comeback")
    await w.send({"type": "message", "text": "agent please", "client_id": "a"})
    assigned = await agent.wait_for(lambda f: f.get("type") == "ticket.assigned")
    assert assigned
    tid = assigned["data"]["ticket_id"]
    async with server.client(token) as api:
        assert (await api.patch(f"/api/tickets/{tid}", json={"status": "resolved"})).status_code == 200
        await w.send({"type": "message", "text": "one more thing", "client_id": "b"})
        ack = await w.wait_for(lambda f: f.get("type") == "ack" and f["client_id"] == "b")
        assert ack
        t = (await api.get(f"/api/tickets/{tid}")).json()
        assert t["status"] in ("new", "open")
        assert [m["body"] for m in t["messages"] if m["author"] == "customer"] == [
            "agent please",
            "one more thing",
        ]
        assert ack["seq"] == next(m["seq"] for m in t["messages"] if m["body"] == "one more thing")
    await w.close()
    await agent.close()
