"""Benchmark: a chat message from a widget to the assigned agent's websocket, through the whole path
(customer, ticket, message, history, bot check, routing, publish), on SQLite, one `switchboard serve`.

Prints, for each offered rate, the delivery latency p50/p99 (widget send -> agent socket receive) and the
messages per second actually delivered, plus the closed-loop maximum. Figures, not a pass/fail test.
Run from the project root:
  .venv/bin/python bench/chat_path.py [--rates 200,500,1000] [--seconds 5] [--repeat 3]
The load generator shares this machine's cores with the server: read the figures as that.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import websockets
from _server import free_port, process, serving

WIDGETS = 50


class Agent:
    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.received: dict[str, float] = {}
        self.waiting: dict[str, asyncio.Future[None]] = {}  # the closed loop's senders, woken on receipt
        self.assigned = 0
        self.task = asyncio.create_task(self.read())

    async def read(self) -> None:
        async for raw in self.conn:
            now = time.perf_counter()
            frame = json.loads(raw)
            if frame.get("type") == "ticket.assigned":
                self.assigned += 1
            elif frame.get("type") == "message.created":
                body = frame["data"].get("body", "")
                if body.startswith("bench "):
                    tag = body.split()[1]
                    self.received[tag] = now
                    waiter = self.waiting.pop(tag, None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(None)


async def drain(ws: Any) -> None:
    async for _ in ws:
        pass


async def pump(i: int, w: Any, rate: int, start: float, seconds: float, sent: dict[str, float]) -> None:
    """One widget's share of an open-loop load of `rate` messages a second from all widgets."""
    interval = WIDGETS / rate
    k, nxt = 0, start + i * interval / WIDGETS
    while time.perf_counter() - start < seconds:
        tag = f"{rate}-{i}-{k}"
        sent[tag] = time.perf_counter()
        await w.send(json.dumps({"type": "message", "text": f"bench {tag}", "client_id": tag}))
        k += 1
        nxt += interval
        await asyncio.sleep(max(0.0, nxt - time.perf_counter()))


async def closed(
    agent: Agent, prefix: str, w: Any, start: float, seconds: float, sent: dict[str, float]
) -> None:
    """One widget of the closed loop: its next message as soon as the agent got the previous one."""
    k = 0
    while time.perf_counter() - start < seconds:
        tag = f"{prefix}-{k}"
        got = agent.waiting[tag] = asyncio.get_running_loop().create_future()
        sent[tag] = time.perf_counter()
        await w.send(json.dumps({"type": "message", "text": f"bench {tag}", "client_id": tag}))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(got, 2)
        k += 1


async def run(base: str, ws_base: str, rates: list[int], seconds: float, repeat: int = 3) -> float:
    """The figures of one server; returns the median closed-loop rate."""
    async with httpx.AsyncClient(base_url=base) as c:
        creds = {"email": "bench@example.com", "password": "bench-password-1"}
        r = await c.post("/api/auth/token", json=creds)
        token = r.json()["token"]
    aconn = await websockets.connect(ws_base + "/ws/agent", max_size=2**24)
    await aconn.send(json.dumps({"type": "auth", "token": token}))
    await aconn.send(json.dumps({"type": "status", "status": "available"}))
    agent = Agent(aconn)
    widgets = []
    for i in range(WIDGETS):
        w = await websockets.connect(ws_base + "/ws/chat")
        await w.send(json.dumps({"type": "hello", "name": f"Bench {i}"}))
        await w.send(json.dumps({"type": "message", "text": "human please", "client_id": f"h{i}"}))
        widgets.append(w)
    readers = [asyncio.create_task(drain(w)) for w in widgets]
    deadline = time.monotonic() + 30
    while agent.assigned < WIDGETS and time.monotonic() < deadline:  # noqa: ASYNC110 - bounded poll
        await asyncio.sleep(0.05)
    print(f"{agent.assigned}/{WIDGETS} conversations assigned to the agent")

    def report(label: str, sent: dict[str, float], wall: float) -> None:
        lat = sorted((agent.received[k] - t) * 1000 for k, t in sent.items() if k in agent.received)
        lost = len(sent) - len(lat)
        p50 = statistics.median(lat) if lat else float("nan")
        p99 = lat[int(0.99 * (len(lat) - 1))] if lat else float("nan")
        print(
            f"{label:>22}: delivered {len(lat):6d}/{len(sent):<6d} {len(lat) / wall:8.0f} msg/s   "
            f"p50 {p50:7.2f} ms   p99 {p99:7.2f} ms{'   LOST ' + str(lost) if lost else ''}"
        )

    for rate in rates:
        sent: dict[str, float] = {}
        start = time.perf_counter()
        await asyncio.gather(*(pump(i, w, rate, start, seconds, sent) for i, w in enumerate(widgets)))
        await asyncio.sleep(2)
        report(f"offered {rate} msg/s", sent, seconds)

    # closed loop, `repeat` times
    rates_closed = []
    for run_no in range(repeat):
        sent = {}
        start = time.perf_counter()
        await asyncio.gather(
            *(closed(agent, f"max{run_no}-{i}", w, start, seconds, sent) for i, w in enumerate(widgets))
        )
        await asyncio.sleep(1)
        wall = time.perf_counter() - start - 1
        report(f"closed loop {run_no + 1}/{repeat}", sent, wall)
        rates_closed.append(sum(1 for k in sent if k in agent.received) / wall)
    for t in readers:
        t.cancel()
    agent.task.cancel()
    median = statistics.median(rates_closed)
    print(f"{'closed loop, median':>22}: {median:8.0f} msg/s")
    return median


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rates", default="200,500,1000")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--repeat", type=int, default=3, help="closed-loop runs per server (the median counts)")
    args = ap.parse_args()
    add = [
        "agents",
        "add",
        "--email",
        "bench@example.com",
        "--name",
        "Bench",
        "--password",
        "bench-password-1",
        "--capacity",
        str(WIDGETS),
    ]
    rates = [int(r) for r in args.rates.split(",")]
    print(f"chat path: SQLite, one process, {WIDGETS} widgets -> 1 agent, {os.cpu_count()} cores")
    print("raw stack (bench/raw_chat.py: uvicorn + Starlette + one SQLite table, group commit):")
    with raw_server() as base:
        raw = asyncio.run(run(base, base.replace("http", "ws"), rates, args.seconds, args.repeat))
    print("switchboard serve:")
    # the closed loop sends far faster than a person: no per-socket message limit
    with serving({"SWITCHBOARD_WIDGET_MESSAGES_PER_10S": "0"}, before=[add]) as server:
        ours = asyncio.run(
            run(server.base, f"ws://127.0.0.1:{server.port}", rates, args.seconds, args.repeat)
        )
    print(f"closed loop (medians): switchboard / raw stack = {ours / raw:.0%}")


@contextmanager
def raw_server() -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(__file__).with_name("raw_chat.py")
        with process([sys.executable, str(script), f"{tmp}/raw.db", str(port)], base):
            yield base


if __name__ == "__main__":
    main()
