"""Benchmark: many concurrent widget sockets on one `switchboard serve` (SQLite), against a raw server
(uvicorn + Starlette, the same websocket implementation and settings, an endpoint that only accepts and
echoes) measured in the same run.

For each server: its resident memory before and after `--sockets` connections (default 10,000) each
said hello (Switchboard: hello -> welcome, a visitor session in the database), so memory per socket; then
the round trip of one frame on a sample of those sockets while all are open (Switchboard: a chat message in
a running conversation -> its ack, committed; the conversation was opened by a first message before);
then every client drops at once and reconnects with full-jitter exponential backoff (as widget.js does;
Switchboard: resuming with its visitor token), and the time until all are back. Figures, not a verdict;
the clients run on the same cores as the server.
Run from the project root:  .venv/bin/python bench/sockets.py [--sockets 10000] [--sample 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import websockets
from _server import free_port, process, serving

RAW_APP = textwrap.dedent(
    """
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route, WebSocketRoute

    async def health(request):
        return PlainTextResponse("ok")

    async def chat(ws):
        await ws.accept()
        try:
            while True:
                await ws.send_text(await ws.receive_text())
        except Exception:
            pass

    app = Starlette(routes=[Route("/healthz", health), WebSocketRoute("/ws/chat", chat)])
    if __name__ == "__main__":
        import sys
        uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
                    ws="websockets-sansio", ws_per_message_deflate=False)
    """
)


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Client:
    def __init__(self, url: str, raw: bool) -> None:
        self.url, self.raw = url, raw
        self.conn: Any = None
        self.token: str | None = None

    async def connect(self) -> None:
        self.conn = await websockets.connect(self.url, compression=None, open_timeout=60, max_queue=64)
        if self.raw:
            await self.conn.send("hello")
            await self.conn.recv()
            return
        hello: dict[str, Any] = {"type": "hello", "name": "Load"}
        if self.token:
            hello["visitor_token"] = self.token
        await self.conn.send(json.dumps(hello))
        while True:
            frame = json.loads(await self.conn.recv())
            if frame.get("type") == "welcome":
                self.token = frame["visitor_token"]
                return

    async def round_trip(self, n: int) -> float:
        t0 = time.perf_counter()
        if self.raw:
            await self.conn.send(f"m{n}")
            await self.conn.recv()
        else:
            cid = f"b{n}-{random.random()}"
            await self.conn.send(json.dumps({"type": "message", "text": "hello there", "client_id": cid}))
            while True:
                frame = json.loads(await self.conn.recv())
                if frame.get("type") == "ack" and frame.get("client_id") == cid:
                    break
        return (time.perf_counter() - t0) * 1000

    async def reconnect(self, deadline: float) -> bool:
        """Full-jitter exponential backoff, as widget.js: wait random(0, min(cap, base * 2^attempt))."""
        attempt = 0
        while time.monotonic() < deadline:
            await asyncio.sleep(random.uniform(0, min(5.0, 0.5 * 2**attempt)))
            try:
                await self.connect()
                return True
            except (TimeoutError, OSError, websockets.WebSocketException):
                attempt += 1
        return False


async def measure(name: str, base: str, pid: int, n: int, sample: int, raw: bool) -> dict[str, float]:
    ws_url = base.replace("http", "ws") + "/ws/chat"
    before = rss_kb(pid)
    clients = [Client(ws_url, raw) for _ in range(n)]
    t0 = time.monotonic()
    for start in range(0, n, 200):  # 200 handshakes at a time
        await asyncio.gather(*(c.connect() for c in clients[start : start + 200]))
    opened = time.monotonic() - t0
    await asyncio.sleep(1.0)
    after = rss_kb(pid)
    picked = random.Random(1).sample(clients, min(sample, n))
    for i, c in enumerate(picked):  # the first message opens the conversation (ticket, bot, handoff)
        await c.round_trip(-1 - i)
    await asyncio.sleep(1.0)
    times = [await c.round_trip(i) for i, c in enumerate(picked)]
    await asyncio.gather(*(c.conn.close() for c in clients), return_exceptions=True)
    t1 = time.monotonic()
    back = await asyncio.gather(*(c.reconnect(t1 + 60) for c in clients))
    reconnected = time.monotonic() - t1
    await asyncio.gather(*(c.conn.close() for c in clients if c.conn), return_exceptions=True)
    per = (after - before) / n
    times.sort()
    print(
        f"{name:12s} {n} sockets opened in {opened:5.1f} s; {per:5.1f} KB each (RSS {before // 1024} -> "
        f"{after // 1024} MB); round trip p50 {statistics.median(times):6.2f} ms p99 "
        f"{times[int(0.99 * (len(times) - 1))]:6.2f} ms; all {sum(back)} back in {reconnected:5.1f} s",
        flush=True,
    )
    return {"per_kb": per}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sockets", type=int, default=10_000)
    ap.add_argument("--sample", type=int, default=500)
    args = ap.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.sockets + 100 > hard:
        sys.exit(f"the file-descriptor limit {hard} is below {args.sockets} sockets")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "raw.py"
        script.write_text(RAW_APP)
        with process([sys.executable, str(script), str(port)], base) as raw:
            raw_fig = asyncio.run(measure("raw", base, raw.pid, args.sockets, args.sample, True))
    with serving({"SWITCHBOARD_WIDGET_NEW_VISITORS": "0"}) as server:  # every socket comes from here
        sb = asyncio.run(measure("switchboard", server.base, server.pid, args.sockets, args.sample, False))
    print(f"memory per socket: switchboard / raw = {sb['per_kb'] / max(raw_fig['per_kb'], 0.001):.2f}")


if __name__ == "__main__":
    main()
