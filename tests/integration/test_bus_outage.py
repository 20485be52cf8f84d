"""Redis, the bus between processes, taken away and brought back (through a TCP proxy on loopback) while two
real processes serve on PostgreSQL: writes go on (a widget's messages are acked and stored, the agent sees
them over the REST API), live fan-out stops meanwhile, and once Redis is back each process's bus reconnects
by itself, closes its sockets (1012) so that their clients catch up from the database, and events flow
live again."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import fresh_pg_database
from tests.nodes import Node
from tests.support import REDIS_URL, WS
from tests.tcp_proxy import TcpProxy

PASSWORD = "pw-outage-123"


@pytest.fixture
def pg_url(db_templates: dict[str, str]) -> Iterator[str]:
    with fresh_pg_database("sbbus_", template=db_templates["postgresql"]) as url:
        yield url


async def _agent(node: Node) -> WS:
    async with httpx.AsyncClient(base_url=node.base, timeout=10) as http:
        r = await http.post("/api/auth/token", json={"email": "ana@example.com", "password": PASSWORD})
        token = r.json()["token"]
    ws = await WS.open(node.ws + "/ws/agent")
    await ws.send({"type": "auth", "token": token})
    assert await ws.wait_for(lambda f: f.get("type") == "ready", timeout=10)
    await ws.send({"type": "status", "status": "available"})
    assert await ws.wait_for(lambda f: f.get("type") == "status", timeout=10)
    ws.token = token  # type: ignore[attr-defined]
    return ws


def _said(ws: WS, text: str) -> bool:
    return any(f["data"].get("body") == text for f in ws.of("message.created"))


async def test_redis_down_writes_go_on_and_live_delivery_comes_back(pg_url: str, tmp_path: Path) -> None:
    host, port = REDIS_URL.split("//")[1].split("/")[0].split(":")
    proxy = TcpProxy(host, int(port))
    await proxy.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env.update(
        {
            "SWITCHBOARD_DATABASE_URL": pg_url,
            "SWITCHBOARD_BUS_URL": f"redis://127.0.0.1:{proxy.port}/15?channel={uuid.uuid4().hex}",
            "SWITCHBOARD_SMTP_PORT": "0",
            "SWITCHBOARD_LOG_LEVEL": "warning",
        }
    )
    add = ["agents", "add", "--email", "ana@example.com", "--name", "Ana", "--password", PASSWORD]
    command = [sys.executable, "-m", "app", *add]
    done = await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    a, b = Node(env, tmp_path / "a.log"), Node(env, tmp_path / "b.log")
    try:
        await asyncio.gather(a.ready(), b.ready())
        agent = await _agent(b)
        w = await WS.open(a.ws + "/ws/chat")
        await w.send({"type": "hello", "name": "Vera"})
        assert await w.wait_for(lambda f: f.get("type") == "welcome")
        await w.send({"type": "message", "text": "I need a human please", "client_id": "c0"})
        assigned = await agent.wait_for(lambda f: f.get("type") == "ticket.assigned", timeout=10)
        assert assigned, agent.frames
        ticket_id = assigned["data"]["ticket_id"]

        proxy.cut()  # Redis goes away
        for i in (1, 2):
            await w.send({"type": "message", "text": f"during {i}", "client_id": f"d{i}"})
            ack = await w.wait_for(lambda f, i=i: f.get("type") == "ack" and f["client_id"] == f"d{i}", 10)
            assert ack, "a write waited on the bus"
        headers = {"Authorization": f"Bearer {agent.token}"}  # type: ignore[attr-defined]
        async with httpx.AsyncClient(base_url=b.base, timeout=10, headers=headers) as http:
            ticket = (await http.get(f"/api/tickets/{ticket_id}")).json()
        assert {"during 1", "during 2"} <= {m["body"] for m in ticket["messages"]}
        await asyncio.sleep(0.5)
        assert not _said(agent, "during 1")  # live delivery is down with the bus

        proxy.restore()
        await asyncio.wait_for(agent.closed.wait(), 15)  # B's bus is back: catch up from the database
        assert agent.conn.close_code == 1012
        if not w.closed.is_set():
            await asyncio.wait_for(w.closed.wait(), 15)  # and A's
        again = await _agent(b)
        w2 = await WS.open(a.ws + "/ws/chat")
        visitor = next(f for f in w.frames if f.get("type") == "welcome")["visitor_token"]
        await w2.send({"type": "hello", "visitor_token": visitor, "last_seq": 0})
        assert await w2.wait_for(lambda f: f.get("type") == "message" and f.get("text") == "during 2", 10)
        for k in range(50):  # live again, across the processes
            await w2.send({"type": "message", "text": f"after {k}", "client_id": f"a{k}"})
            if await again.wait_for(
                lambda f, k=k: f.get("type") == "message.created" and f["data"].get("body") == f"after {k}",
                0.5,
            ):
                break
        else:
            raise AssertionError("events do not reach the other process since Redis came back")
        await w2.close()
        await again.close()
    finally:
        a.stop()
        b.stop()
        await proxy.stop()
