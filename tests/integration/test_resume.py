"""Widget resume: a widget that reconnects with its visitor token and last_seq gets every message it missed,
in order, once; a token is bound to its own conversation and nothing else opens it."""

from __future__ import annotations

import asyncio

from tests.support import LiveServer


async def _handed_off(server: LiveServer) -> tuple[str, int, str]:
    """A visitor whose conversation is assigned to Ana; returns (visitor token, ticket id, Ana's token)."""
    await server.add_agent("ana@example.com", "Ana", capacity=5)
    token, _ = await server.token("ana@example.com")
    agent = await server.agent_socket(token)
    widget, welcome = await server.widget(name="Resumer")
    await widget.send({"type": "message", "text": "a person please", "client_id": "a"})
    assigned = await agent.wait_for(lambda f: f.get("type") == "ticket.assigned")
    assert assigned
    await widget.close()
    await agent.close()
    return welcome["visitor_token"], assigned["data"]["ticket_id"], token


async def test_resume_replays_only_what_was_missed_in_order_once(server: LiveServer) -> None:
    vtok, tid, token = await _handed_off(server)
    async with server.client(token) as api:
        for i in range(5):
            r = await api.post(f"/api/tickets/{tid}/messages", json={"body": f"reply {i}"})
            assert r.status_code == 201
        await api.post(f"/api/tickets/{tid}/messages", json={"body": "internal only", "internal": True})
        r = await api.post(f"/api/tickets/{tid}/messages", json={"body": "reply 5"})
        last_seen = (await api.get(f"/api/tickets/{tid}")).json()["messages"][4]["seq"]

    widget, welcome = await server.widget(visitor_token=vtok, last_seq=last_seen)
    assert welcome["visitor_token"] == vtok and welcome["conversation_id"] == tid
    assert await widget.wait_for(lambda f: f.get("text") == "reply 5"), widget.frames
    await asyncio.sleep(0.2)
    got = widget.of("message")
    seqs = [f["seq"] for f in got]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs)) and min(seqs) > last_seen
    assert [f["text"] for f in got] == [f"reply {i}" for i in range(3, 6)][-len(got) :]
    assert all("internal" not in f["text"] for f in got)
    await widget.close()

    # no last_seq: everything, the customer's own messages included
    widget, _ = await server.widget(visitor_token=vtok)
    assert await widget.wait_for(lambda f: f.get("text") == "reply 5")
    authors = [f["from"] for f in widget.of("message")]
    assert authors[0] == "customer" and authors.count("agent") == 6
    assert [f["seq"] for f in widget.of("message")] == sorted({f["seq"] for f in widget.of("message")})
    await widget.close()


async def test_live_and_replayed_messages_never_overlap(server: LiveServer) -> None:
    """Replies keep coming while the widget reconnects: whatever the timing, each arrives once, in order."""
    vtok, tid, token = await _handed_off(server)
    async with server.client(token) as api:

        async def burst() -> None:
            for i in range(30):
                await api.post(f"/api/tickets/{tid}/messages", json={"body": f"live {i}"})

        sender = asyncio.create_task(burst())
        await asyncio.sleep(0.05)
        widget, _ = await server.widget(visitor_token=vtok, last_seq=0)
        await sender
        assert await widget.wait_for(lambda f: f.get("text") == "live 29", timeout=10)
        await asyncio.sleep(0.2)
        seqs = [f["seq"] for f in widget.of("message")]
        assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
        texts = [f["text"] for f in widget.of("message") if f["text"].startswith("live")]
        assert texts == [f"live {i}" for i in range(30)]
        await widget.close()


async def test_tokens_are_bound_to_their_own_conversation(server: LiveServer) -> None:
    a, _ = await server.widget(name="Carla", email="carla@example.org")
    await a.send({"type": "message", "text": "my card number ends 9911", "client_id": "p1"})
    assert await a.wait_for(lambda f: f.get("type") == "ack")
    await a.close()

    # the same name and email typed again: a new visitor, nothing of Carla's
    b, welcome = await server.widget(name="Carla", email="carla@example.org", last_seq=0)
    await asyncio.sleep(0.3)
    assert welcome["conversation_id"] is None
    assert not any("9911" in f.get("text", "") for f in b.frames)
    await b.close()

    # a guessed token: a fresh token, nothing replayed
    g, welcome = await server.widget(visitor_token="guess-" + "0" * 40, last_seq=0)
    await asyncio.sleep(0.3)
    assert welcome["visitor_token"] != "guess-" + "0" * 40 and welcome["conversation_id"] is None
    assert not g.of("message")
    await g.close()


async def test_a_repeated_client_id_is_stored_once_and_acked_with_the_same_seq(server: LiveServer) -> None:
    widget, welcome = await server.widget()
    for _ in range(3):
        await widget.send({"type": "message", "text": "same message", "client_id": "dup-1"})
    await asyncio.sleep(0.5)
    acks = [f for f in widget.of("ack") if f["client_id"] == "dup-1"]
    assert len(acks) == 3 and len({a["seq"] for a in acks}) == 1
    await widget.close()
    # and across a reconnect (the widget retries its outbox)
    again, _ = await server.widget(visitor_token=welcome["visitor_token"], last_seq=0)
    await again.send({"type": "message", "text": "same message", "client_id": "dup-1"})
    ack = await again.wait_for(lambda f: f.get("type") == "ack")
    assert ack and ack["seq"] == acks[0]["seq"]
    await asyncio.sleep(0.3)
    assert [f["text"] for f in again.of("message") if f["from"] == "customer"] == ["same message"]
    await again.close()
