"""Two real `switchboard serve` processes on one PostgreSQL database and one Redis bus behave as one:
a widget on one process and its agent on the other see each other live; racing handoffs on both never
double-assign nor exceed capacity; a process killed with SIGKILL loses no acknowledged message; and an
agent whose process died is marked away (presence expiry) and their unanswered ticket goes to another."""

from __future__ import annotations

import asyncio
import contextlib
import os
import smtplib
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from tests.conftest import fresh_pg_database
from tests.nodes import Node
from tests.support import REDIS_URL, WS, free_port

PASSWORD = "pw-cluster-123"


Cluster = tuple[Node, Node, dict[str, str]]  # two nodes and their environment


@pytest.fixture
def pg_url(db_templates: dict[str, str]) -> Iterator[str]:
    with fresh_pg_database("sbcluster_", template=db_templates["postgresql"]) as url:
        yield url


@pytest.fixture
def cluster_env(pg_url: str) -> dict[str, str]:
    """The environment of every node (one database, one bus channel) and three agents of the general queue,
    capacity 2 each, added with the command line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env.update(
        {
            "SWITCHBOARD_DATABASE_URL": pg_url,
            # a channel of its own: other tests and installations may share this Redis server
            "SWITCHBOARD_BUS_URL": f"{REDIS_URL}?channel={uuid.uuid4().hex}",
            "SWITCHBOARD_SMTP_PORT": "0",
            "SWITCHBOARD_LOG_LEVEL": "warning",
            "SWITCHBOARD_PRESENCE_GRACE_S": "1",
            "SWITCHBOARD_PRESENCE_HEARTBEAT_S": "0.5",
            "SWITCHBOARD_PRESENCE_EXPIRY_S": "2",
        }
    )
    for i in range(3):
        args = ["agents", "add", "--email", f"a{i}@example.com", "--name", f"Agent {i}"]
        args += ["--password", PASSWORD, "--queues", "general", "--capacity", "2"]
        done = subprocess.run(
            [sys.executable, "-m", "app", *args], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
    return env


@pytest.fixture
async def cluster(cluster_env: dict[str, str], tmp_path: Path) -> AsyncIterator[Cluster]:
    env = cluster_env
    a, b = Node(env, tmp_path / "a.log"), Node(env, tmp_path / "b.log")
    try:
        await asyncio.gather(a.ready(), b.ready())
        yield a, b, env
    finally:
        a.stop()
        b.stop()


async def _agent(node: Node, i: int) -> tuple[WS, int, str]:
    async with httpx.AsyncClient(base_url=node.base, timeout=10) as http:
        r = await http.post("/api/auth/token", json={"email": f"a{i}@example.com", "password": PASSWORD})
        assert r.status_code == 200, r.text
        token, agent_id = r.json()["token"], r.json()["agent"]["id"]
    ws = await WS.open(node.ws + "/ws/agent")
    await ws.send({"type": "auth", "token": token})
    assert await ws.wait_for(lambda f: f.get("type") == "ready", timeout=10), ws.frames
    await ws.send({"type": "status", "status": "available"})
    assert await ws.wait_for(lambda f: f.get("type") == "status", timeout=10), ws.frames
    return ws, agent_id, token


async def _widget(node: Node, name: str) -> WS:
    w = await WS.open(node.ws + "/ws/chat")
    await w.send({"type": "hello", "name": name})
    assert await w.wait_for(lambda f: f.get("type") == "welcome", timeout=10)
    return w


def _assigned(ws: WS, agent_id: int) -> set[int]:
    return {f["data"]["ticket_id"] for f in ws.of("ticket.assigned") if f["data"]["assignee_id"] == agent_id}


async def test_two_processes_behave_as_one(cluster: Cluster) -> None:
    a, b, _env = cluster
    agent, agent_id, token = await _agent(b, 0)
    # cross-process: the widget on A, its agent on B
    w = await _widget(a, "Carla")
    await w.send({"type": "message", "text": "I need to speak to an agent please", "client_id": "x1"})
    got = await agent.wait_for(lambda f: f.get("type") == "ticket.assigned", timeout=10)
    assert got and got["data"]["assignee_id"] == agent_id
    ticket_id = got["data"]["ticket_id"]
    await w.send({"type": "message", "text": "my card is blocked", "client_id": "x2"})
    assert await agent.wait_for(
        lambda f: f.get("type") == "message.created" and "card is blocked" in str(f["data"]), timeout=10
    )
    async with httpx.AsyncClient(base_url=b.base, timeout=10) as http:
        r = await http.post(
            f"/api/tickets/{ticket_id}/messages",
            json={"body": "Unblocking it now"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 201, r.text
    assert await w.wait_for(
        lambda f: f.get("type") == "message" and f.get("from") == "agent" and "Unblocking" in f["text"],
        timeout=10,
    )
    await w.close()
    await agent.close()


async def test_a_logout_on_one_process_revokes_the_token_on_the_other_at_once(cluster: Cluster) -> None:
    """B remembers who the token belongs to (app.actions.token_cache) for seconds; a logout on A reaches
    it through the bus well before that."""
    a, b, _env = cluster
    agent, _agent_id, token = await _agent(b, 0)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=b.base, timeout=10, headers=headers) as on_b:
        assert (await on_b.get("/api/me")).status_code == 200
        assert (await on_b.get("/api/me")).status_code == 200  # from B's cache
        async with httpx.AsyncClient(base_url=a.base, timeout=10, headers=headers) as on_a:
            assert (await on_a.post("/api/auth/logout")).status_code == 204
        started = time.monotonic()
        while (await on_b.get("/api/me")).status_code == 200:
            assert time.monotonic() - started < 2.0, "B still accepts the revoked token"
            await asyncio.sleep(0.02)
    await agent.close()


async def test_a_password_change_on_one_process_voids_the_tokens_and_sockets_on_the_other(
    cluster: Cluster,
) -> None:
    a, b, _env = cluster
    agent, _agent_id, token = await _agent(b, 0)  # a socket on B
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=b.base, timeout=10, headers=headers) as on_b:
        assert (await on_b.get("/api/me")).status_code == 200
        assert (await on_b.get("/api/me")).status_code == 200  # from B's cache
        async with httpx.AsyncClient(base_url=a.base, timeout=10, headers=headers) as on_a:
            change = {"current_password": PASSWORD, "new_password": "changed-on-a-1"}
            assert (await on_a.post("/api/me/password", json=change)).status_code == 200
        started = time.monotonic()
        while (await on_b.get("/api/me")).status_code == 200:
            assert time.monotonic() - started < 2.0, "B still accepts a token of the old password"
            await asyncio.sleep(0.02)
    await asyncio.wait_for(agent.closed.wait(), 5)
    assert agent.conn.close_code == 4401


async def test_racing_handoffs_on_both_processes(cluster: Cluster) -> None:
    a, b, _env = cluster
    agents = [await _agent(a, 0), await _agent(b, 1), await _agent(b, 2)]

    async def one(i: int) -> WS:
        w = await _widget((a, b)[i % 2], f"Racer {i}")
        await w.send({"type": "message", "text": "I need to speak to an agent please", "client_id": f"r{i}"})
        assert await w.wait_for(lambda f: f.get("type") == "ack", timeout=10)
        return w

    widgets = await asyncio.gather(*(one(i) for i in range(20)))
    for ws, _id, _tok in agents:  # capacity 2 each: 6 in all, then nothing more
        await ws.wait_for(lambda f, ws=ws: len(ws.of("ticket.assigned")) >= 2, timeout=10)
    await asyncio.sleep(1.5)  # a sweep or two: nothing more may be assigned
    per_agent = [_assigned(ws, agent_id) for ws, agent_id, _tok in agents]
    every = [t for tickets in per_agent for t in tickets]
    assert [len(t) for t in per_agent] == [2, 2, 2], per_agent
    assert len(every) == len(set(every)) == 6
    for w in widgets:
        await w.close()
    for ws, _id, _tok in agents:
        await ws.close()


async def test_killed_process_loses_no_acknowledged_message(cluster: Cluster, tmp_path: Path) -> None:
    a, b, env = cluster
    agent, _agent_id, token = await _agent(b, 0)
    w = await _widget(a, "Streamer")
    await w.send({"type": "message", "text": "I need to speak to an agent please", "client_id": "s0"})
    got = await agent.wait_for(lambda f: f.get("type") == "ticket.assigned", timeout=10)
    assert got
    ticket_id = got["data"]["ticket_id"]
    sent: list[str] = []

    async def stream() -> None:
        for i in range(1, 400):
            sent.append(f"s{i}")
            await w.send({"type": "message", "text": f"line {i}", "client_id": f"s{i}"})
            await asyncio.sleep(0.002)

    streaming = asyncio.create_task(stream())
    await w.wait_for(lambda f: f.get("type") == "ack" and f.get("client_id") == "s20", timeout=10)
    a.kill()
    streaming.cancel()
    with contextlib.suppress(Exception, asyncio.CancelledError):
        await streaming
    acked = {f["client_id"] for f in w.of("ack")}
    assert "s20" in acked
    # the widget retries everything it sent on a new process (as the widget does after a reconnect)
    restarted = Node(env, tmp_path / "a2.log")
    try:
        await restarted.ready()
        async with httpx.AsyncClient(base_url=b.base, timeout=10) as http:
            r = await http.get(f"/api/tickets/{ticket_id}", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200, r.text
            bodies = [m["body"] for m in r.json()["messages"] if m["author"] == "customer"]
        for cid in acked - {"s0"}:
            assert bodies.count(f"line {cid[1:]}") == 1, (cid, bodies.count(f"line {cid[1:]}"))
    finally:
        restarted.stop()
    await agent.close()


async def test_agent_of_a_dead_process_expires_and_loses_unanswered_tickets(
    cluster: Cluster,
) -> None:
    a, b, _env = cluster
    doomed, doomed_id, _tok = await _agent(a, 0)
    w = await _widget(b, "Waiting")
    await w.send({"type": "message", "text": "I need to speak to an agent please", "client_id": "d1"})
    got = await doomed.wait_for(lambda f: f.get("type") == "ticket.assigned", timeout=10)
    assert got and got["data"]["assignee_id"] == doomed_id
    ticket_id = got["data"]["ticket_id"]
    a.kill()  # no grace timer runs: the process is gone; only the presence expiry can notice
    other, other_id, _tok2 = await _agent(b, 1)
    moved = await other.wait_for(
        lambda f: f.get("type") == "ticket.assigned" and f["data"]["ticket_id"] == ticket_id, timeout=15
    )
    assert moved and moved["data"]["assignee_id"] == other_id
    async with httpx.AsyncClient(base_url=b.base, timeout=10) as http:
        r = await http.get("/api/agents", headers={"Authorization": f"Bearer {_tok2}"})
        if r.status_code == 200:
            states = {x["id"]: x.get("state") for x in r.json()["items"]}
            assert states.get(doomed_id) == "away", states
    await w.close()
    await other.close()
    with contextlib.suppress(Exception):
        await doomed.close()


async def test_workers_share_one_port_and_one_smtp_listener(
    cluster_env: dict[str, str], tmp_path: Path
) -> None:
    """`serve --workers 2`: two worker processes answer on one port, widgets and agents meet whichever
    worker each lands on, and exactly one worker runs the SMTP listener (mail to it becomes a ticket)."""
    smtp_port = free_port()
    env = {**cluster_env, "SWITCHBOARD_SMTP_PORT": str(smtp_port)}
    node = Node(env, tmp_path / "w.log", "--workers", "2")
    try:
        await node.ready()
        children = await asyncio.to_thread(_children, node.proc.pid)
        assert len(children) >= 2, children  # the two workers (and uvicorn's helper, if any)
        agents = [await _agent(node, i) for i in range(3)]  # several connections: both workers get some
        widgets = [await _widget(node, f"W{i}") for i in range(6)]
        for i, w in enumerate(widgets):
            text = "I need to speak to an agent please"
            await w.send({"type": "message", "text": text, "client_id": f"w{i}"})
        for ws, agent_id, _tok in agents:
            assert await ws.wait_for(lambda f, ws=ws, a=agent_id: len(_assigned(ws, a)) >= 2, timeout=15)
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "mo@example.org", "support@example.com", "From a worker"
        msg.set_content("hello")
        await asyncio.to_thread(_send, smtp_port, msg)
        _ws, _id, token = agents[0]
        async with httpx.AsyncClient(base_url=node.base, timeout=10) as http:
            subjects: list[str] = []
            for _ in range(100):
                r = await http.get("/api/tickets", headers={"Authorization": f"Bearer {token}"})
                subjects = [t["subject"] for t in r.json()["items"]]
                if "From a worker" in subjects:
                    break
                await asyncio.sleep(0.1)
            assert "From a worker" in subjects
        log = node.log.read_text(errors="replace")
        assert log.count("SMTP listener on") == 1, log[-3000:]
        assert "Traceback" not in log and "ERROR" not in log, log[-3000:]  # no worker failed to bind it
        for w in widgets:
            await w.close()
        for ws, _id, _tok in agents:
            await ws.close()
    finally:
        node.stop()


def _children(pid: int) -> list[str]:
    done = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return done.stdout.split()


def _send(port: int, msg: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
        s.send_message(msg)
