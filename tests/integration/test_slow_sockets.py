"""Sockets that misbehave: a consumer that falls behind is dropped (its queue of events is bounded) without
stalling anybody else, even when it stopped reading altogether and the close frame itself can no longer
reach it, and the others keep getting every event; a peer gone without a goodbye is closed by the pings'
timeout; a frame over the protocol's limit closes the socket with 1009."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time

import pytest
import websockets
from websockets.client import ClientProtocol
from websockets.uri import parse_uri

from app.http import hub
from app.serve import WS_PROTOCOL_LIMIT
from tests.support import LiveServer, make_settings, running

BIG = "x" * 30_000  # a message near the 64 KB frame limit: buffers fill after fewer of them


async def _metric(server: LiveServer, name: str, labels: str = "") -> float:
    async with server.client() as c:
        text = (await c.get("/metrics")).text
    found = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


async def test_an_agent_socket_that_stops_reading_is_dropped_and_others_keep_up(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub, "QUEUE_LIMIT", 100)  # events queued per socket before it counts as too slow
    # the flood below is the test's own doing: no per-socket message limit
    async with running(make_settings(database_url, widget_messages_per_10s=0)) as server:
        await server.add_agent("slow@example.com", "Slow", capacity=5)
        await server.add_agent("fast@example.com", "Fast", capacity=5)
        slow_token, _ = await server.token("slow@example.com")
        fast_token, _ = await server.token("fast@example.com")
        fast = await server.agent_socket(fast_token)
        # a client that reads nothing more after its first frame: the kernel's buffers fill, then the server's
        slow = await websockets.connect(server.ws_base + "/ws/agent", max_queue=1, max_size=2**22)
        try:
            await slow.send(json.dumps({"type": "auth", "token": slow_token}))
            await slow.send(json.dumps({"type": "status", "status": "available"}))
            w, _ = await server.widget(name="Flood")
            await w.send({"type": "message", "text": "I need a human please", "client_id": "start"})
            assert await fast.wait_for(lambda f: f.get("type") == "ticket.created", timeout=10)
            assert await _metric(server, "switchboard_websockets", '{kind="agent"}') == 2

            sent: dict[str, float] = {}
            for i in range(600):
                sent[f"m{i}"] = time.monotonic()
                await w.send({"type": "message", "text": f"m{i} {BIG}", "client_id": f"m{i}"})
                if i % 20 == 19:  # a widget's pace: acked before the next burst
                    assert await w.wait_for(
                        lambda f, i=i: f.get("type") == "ack" and f["client_id"] == f"m{i}", 10
                    )
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                got = {
                    f["data"]["body"].split(" ", 1)[0]: f
                    for f in fast.of("message.created")
                    if f["data"].get("body", "").startswith("m")
                }
                if (
                    len(got) == len(sent)
                    and await _metric(server, "switchboard_ws_slow_consumers_total") >= 1
                ):
                    break
                await asyncio.sleep(0.1)
            got_tags = {f["data"]["body"].split(" ", 1)[0] for f in fast.of("message.created")}
            assert set(sent) <= got_tags, f"the fast agent missed {len(set(sent) - got_tags)} messages"
            assert await _metric(server, "switchboard_ws_slow_consumers_total") == 1
            # the server let go of the slow socket: counted closed, and its connection is gone
            for _ in range(100):
                if await _metric(server, "switchboard_websockets", '{kind="agent"}') == 1:
                    break
                await asyncio.sleep(0.1)
            assert await _metric(server, "switchboard_websockets", '{kind="agent"}') == 1
        finally:
            slow.transport.abort()
        await fast.close()
        await w.close()


async def test_a_peer_that_stops_answering_is_closed_within_twice_the_ping_period(database_url: str) -> None:
    """A client gone without a goodbye (its machine off the network) answers no ping: with pings every
    0.5 s its socket is closed within about 1 s; a live client on the same server stays."""
    async with running(make_settings(database_url, ws_ping_s=0.5)) as server:
        await server.add_agent("ana@example.com", "Ana")
        token, _ = await server.token("ana@example.com")
        live = await server.agent_socket(token)
        # a client speaking the protocol by hand: it authenticates, then neither reads nor answers
        proto = ClientProtocol(parse_uri(server.ws_base + "/ws/agent"))
        reader, writer = await asyncio.open_connection("127.0.0.1", server.settings.port)
        proto.send_request(proto.connect())
        writer.write(b"".join(proto.data_to_send()))
        proto.receive_data(await reader.readuntil(b"\r\n\r\n"))
        assert proto.handshake_exc is None
        proto.send_text(json.dumps({"type": "auth", "token": token}).encode())
        writer.write(b"".join(proto.data_to_send()))
        for _ in range(50):
            if await _metric(server, "switchboard_websockets", '{kind="agent"}') == 2:
                break
            await asyncio.sleep(0.05)
        assert await _metric(server, "switchboard_websockets", '{kind="agent"}') == 2
        started = time.monotonic()
        while await _metric(server, "switchboard_websockets", '{kind="agent"}') == 2:
            assert time.monotonic() - started < 3, "the silent peer is still connected"
            await asyncio.sleep(0.05)
        assert time.monotonic() - started >= 0.2  # closed by the pings' timeout, not at once
        await live.send({"type": "ping"})
        assert await live.wait_for(lambda f: f.get("type") == "pong")
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
        await live.close()


async def test_a_frame_over_the_protocol_limit_closes_with_1009(server: LiveServer) -> None:
    """Over max_frame_bytes (64 KB) a frame gets an error and the socket stays; over the protocol's limit
    (1 MB) the socket is closed with 1009 before the frame is read whole."""
    w, _ = await server.widget(name="Big")
    await w.send({"type": "message", "text": "y" * 70_000, "client_id": "big"})
    assert await w.wait_for(lambda f: f.get("type") == "error")
    await w.send("z" * (WS_PROTOCOL_LIMIT + 1))
    await asyncio.wait_for(w.closed.wait(), 5)
    assert w.conn.close_code == 1009
