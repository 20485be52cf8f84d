"""Benchmark: SMS webhooks handled per second and their response time, on SQLite, one `switchboard serve`.

Each request is a signed Twilio Messaging webhook (a new MessageSid; senders spread over 200 numbers so
most texts join an existing conversation) and is answered only after commit, with the bot's TwiML when
it answers in time. Twilio gives up after 15 s; we aim for well under 100 ms at p99.
Run from the project root:  .venv/bin/python bench/sms_webhooks.py [--requests 600]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

import httpx
from _server import free_port, serving
from twilio.request_validator import RequestValidator

TOKEN = "bench-twilio-token"


async def run(base: str, n: int, concurrency: int, tag: str) -> tuple[float, list[float], int]:
    url = base + "/twilio/sms"
    validator = RequestValidator(TOKEN)
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while not queue.empty():
            i = queue.get_nowait()
            params = {
                "MessageSid": f"SM{tag}{i:028d}"[:34],
                "AccountSid": "AC" + "0" * 32,
                "From": f"+1415555{i % 200:04d}",
                "To": "+15005550006",
                "Body": f"question {i} about my bill",
                "NumMedia": "0",
            }
            headers = {"X-Twilio-Signature": validator.compute_signature(url, params)}
            t = time.perf_counter()
            r = await client.post(url, data=params, headers=headers)
            latencies.append((time.perf_counter() - t) * 1000)
            errors += r.status_code != 200

    start = time.perf_counter()
    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return time.perf_counter() - start, latencies, errors


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=600)
    args = ap.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "SWITCHBOARD_PUBLIC_URL": base,
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_FROM_NUMBER": "+15005550006",
        "SWITCHBOARD_TWILIO_API_URL": "http://127.0.0.1:9",
    }
    with serving(env, port=port):
        print(f"SMS webhooks: SQLite, one process, {args.requests} requests each run, {os.cpu_count()} cores")
        asyncio.run(run(base, 50, 4, "w"))
        for concurrency in (1, 8):
            wall, lat, errors = asyncio.run(run(base, args.requests, concurrency, f"c{concurrency}"))
            lat.sort()
            rate, p50, p99 = len(lat) / wall, statistics.median(lat), lat[int(0.99 * (len(lat) - 1))]
            print(
                f"{concurrency} in flight: {rate:7.1f} webhooks/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms"
                f"   non-200: {errors}"
            )


if __name__ == "__main__":
    main()
