"""Limits on what an anonymous widget may cost: new visitors (each a row in the database) per client
address, and messages per socket; a returning visitor with their token is never refused."""

from __future__ import annotations

from typing import Any

from tests.support import WS, LiveServer, make_settings, running


async def _hello(server: LiveServer, **hello: Any) -> WS:
    ws = await WS.open(server.ws_base + "/ws/chat")
    await ws.send({"type": "hello", **hello})
    return ws


async def test_new_visitors_per_client_address_are_limited(database_url: str) -> None:
    async with running(make_settings(database_url, widget_new_visitors=3)) as server:
        tokens = []
        for _ in range(3):
            ws = await _hello(server)
            welcome = await ws.wait_for(lambda f: f.get("type") == "welcome")
            assert welcome
            tokens.append(welcome["visitor_token"])
            await ws.close()
        refused = await _hello(server)
        assert await refused.wait_for(lambda f: f.get("code") == "rate_limited")
        await refused.closed.wait()
        assert refused.conn.close_code == 1013
        bogus = await _hello(server, visitor_token="not-a-token-of-ours")  # would make a new visitor too
        assert await bogus.wait_for(lambda f: f.get("code") == "rate_limited")
        back = await _hello(server, visitor_token=tokens[0])  # a returning visitor is welcome
        welcome = await back.wait_for(lambda f: f.get("type") == "welcome")
        assert welcome and welcome["visitor_token"] == tokens[0]
        await back.close()


async def test_messages_per_socket_are_limited(database_url: str) -> None:
    async with running(make_settings(database_url, widget_messages_per_10s=5)) as server:
        await _five_then_refused(server)


async def _five_then_refused(server: LiveServer) -> None:
    ws = await _hello(server)
    assert await ws.wait_for(lambda f: f.get("type") == "welcome")
    for i in range(7):
        await ws.send({"type": "message", "text": f"spam {i}", "client_id": f"s{i}"})
    assert await ws.wait_for(lambda f: f.get("code") == "rate_limited" and f.get("client_id") == "s5")
    assert await ws.wait_for(lambda f: f.get("code") == "rate_limited" and f.get("client_id") == "s6")
    assert await ws.wait_for(lambda f: f.get("type") == "ack" and f["client_id"] == "s4")
    acked = {f["client_id"] for f in ws.of("ack")}
    assert acked == {f"s{i}" for i in range(5)}, acked
    await ws.close()
