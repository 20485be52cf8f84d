"""Benchmark: inbound webhooks handled per second and their response time, on SQLite, one `switchboard
serve`, against the raw stack (bench/raw_chat.py) measured in the same run.

- sms: a signed Twilio Messaging webhook (a new MessageSid; senders spread over 200 numbers so most texts
  join an existing conversation), answered only after commit, with the bot's TwiML when it answers in
  time. The raw stack checks the signature, stores the text by a group-commit writer, answers empty TwiML.
- email: `POST /api/email/inbound`, a raw mail of ~1 KB (senders spread over 97 addresses, each mail a new
  ticket) with an agent's bearer token, answered 201 after commit. The raw stack stores the body as is.
Twilio gives up after 15 s; we aim for well under 100 ms at p99. Closed loop (1 and 8 requests in
flight), then open loop at `--rates` requests a second for `--seconds` each. Requests are prepared
beforehand and sent by bench/_loadgen.py.
Run from the project root:  .venv/bin/python bench/webhooks.py [--kinds sms,email] [--rates 300,500,700]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from _loadgen import Pool, form_post, raw_post
from _server import free_port, process, serving
from email_ingest import mail
from twilio.request_validator import RequestValidator

TOKEN = "bench-twilio-token"  # bench/raw_chat.py checks signatures with the same
AGENT = {"email": "bench@example.com", "password": "bench-password-1"}
# a kind of webhook: the bytes of its i-th request, for a base URL and a tag that keeps ids unique
Prepare = Callable[[int, str], bytes]


def sms(base: str, _token: str) -> Prepare:
    url = base + "/twilio/sms"
    validator = RequestValidator(TOKEN)

    def prepare(i: int, tag: str) -> bytes:
        params = {
            "MessageSid": f"SM{tag}{i:0{32 - len(tag)}d}",  # 34 characters, as Twilio's
            "AccountSid": "AC" + "0" * 32,
            "From": f"+1415555{i % 200:04d}",
            "To": "+15005550006",
            "Body": f"question {i} about my bill",
            "NumMedia": "0",
        }
        return form_post(url, params, {"X-Twilio-Signature": validator.compute_signature(url, params)})

    return prepare


def email(base: str, token: str) -> Prepare:
    url = base + "/api/email/inbound"

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "message/rfc822"}

    def prepare(i: int, tag: str) -> bytes:
        return raw_post(url, mail(i, tag).as_bytes(), headers)  # the mail bench/email_ingest.py sends

    return prepare


KINDS = {"sms": sms, "email": email}


async def run(
    base: str, prepare: Prepare, n: int, concurrency: int, tag: str
) -> tuple[float, list[float], int]:
    requests = [prepare(i, tag) for i in range(n)]
    latencies: list[float] = []
    errors = 0
    pool = Pool(base, concurrency)

    async def worker() -> None:
        nonlocal errors
        while requests:
            raw = requests.pop()
            t = time.perf_counter()
            status = await pool.request(raw)
            latencies.append((time.perf_counter() - t) * 1000)
            errors += status not in (200, 201)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - start
    await pool.close()
    return wall, latencies, errors


async def run_rate(
    base: str, prepare: Prepare, rate: int, seconds: float, tag: str
) -> tuple[float, list[float], str]:
    """Open loop: a new webhook every 1/rate s whatever the answers; returns the rate answered, the
    latencies and what was not a 200/201 (statuses, or the client's exceptions)."""
    requests = [prepare(i, tag) for i in range(int(rate * seconds))]
    latencies: list[float] = []
    errors: collections.Counter[str] = collections.Counter()
    pool = Pool(base, 256)

    async def one(raw: bytes) -> None:
        t = time.perf_counter()
        try:
            status = await pool.request(raw)
        except (OSError, asyncio.IncompleteReadError) as e:
            errors[type(e).__name__] += 1
            return
        if status not in (200, 201):
            errors[str(status)] += 1
        latencies.append((time.perf_counter() - t) * 1000)

    start = time.perf_counter()
    tasks = []
    for k, raw in enumerate(requests):
        await asyncio.sleep(max(0.0, start + k / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(one(raw)))
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - start
    await pool.close()
    return len(latencies) / wall, latencies, ", ".join(f"{n} {k}" for k, n in errors.items()) or "0"


def figures(rate: float, lat: list[float]) -> tuple[float, float, float]:
    """The rate answered, p50 and p99 of one run."""
    lat = sorted(lat)
    p50 = statistics.median(lat) if lat else float("nan")
    p99 = lat[int(0.99 * (len(lat) - 1))] if lat else float("nan")
    return rate, p50, p99


def report(label: str, runs: list[tuple[float, float, float]], errors: list[int | str]) -> None:
    """The median of each figure over the runs (each run's own figures too, when there are several)."""
    rate, p50, p99 = (statistics.median(run[k] for run in runs) for k in range(3))
    each = f"   (p99 of each run: {', '.join(f'{r[2]:.1f}' for r in runs)})" if len(runs) > 1 else ""
    failed = ", ".join(str(e) for e in errors if e not in (0, "0")) or "0"
    print(
        f"  {label:>22}: {rate:7.1f} webhooks/s   p50 {p50:6.1f} ms   p99 {p99:7.1f} ms   "
        f"failed: {failed}{each}"
    )


def measure(
    base: str, kinds: list[str], n: int, rates: list[int], seconds: float, repeat: int, token: str = "raw"
) -> None:
    """Each figure the median of `repeat` runs."""
    for kind in kinds:
        prepare = KINDS[kind](base, token)
        print(f" {kind}:")
        asyncio.run(run(base, prepare, 50, 4, "w"))  # warm-up
        for concurrency in (1, 8):
            runs: list[tuple[float, float, float]] = []
            errors: list[int | str] = []
            for k in range(repeat):
                wall, lat, failed = asyncio.run(run(base, prepare, n, concurrency, f"c{concurrency}r{k}"))
                runs.append(figures(len(lat) / wall, lat))
                errors.append(failed)
            report(f"{concurrency} in flight", runs, errors)
        for rate in rates:
            runs = []
            errors = []
            for k in range(repeat):
                answered, lat, failed_ = asyncio.run(run_rate(base, prepare, rate, seconds, f"o{rate}r{k}"))
                runs.append(figures(answered, lat))
                errors.append(failed_)
            report(f"offered {rate}/s", runs, errors)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kinds", default="sms,email")
    ap.add_argument("--requests", type=int, default=600)
    ap.add_argument("--rates", default="300,500,700")
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each figure (the median is printed)")
    args = ap.parse_args()
    kinds = [k for k in args.kinds.split(",") if k]
    rates = [int(r) for r in args.rates.split(",") if r]
    print(
        f"webhooks: SQLite, one process, {args.requests} requests a closed loop, "
        f"medians of {args.repeat} runs, {os.cpu_count()} cores"
    )
    print("raw stack (bench/raw_chat.py: uvicorn + Starlette, signature checked, group-commit insert):")
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(__file__).with_name("raw_chat.py")
        raw_base = f"http://127.0.0.1:{port}"
        with process([sys.executable, str(script), f"{tmp}/raw.db", str(port)], raw_base):
            measure(raw_base, kinds, args.requests, rates, args.seconds, args.repeat)
    print("switchboard serve:")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "SWITCHBOARD_PUBLIC_URL": base,
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_FROM_NUMBER": "+15005550006",
        "SWITCHBOARD_TWILIO_API_URL": "http://127.0.0.1:9",
        "SWITCHBOARD_SUPPORT_ADDRESS": "support@example.com",
    }
    add = ["agents", "add", "--email", AGENT["email"], "--name", "Bench", "--password", AGENT["password"]]
    with serving(env, before=[add], port=port):
        token = httpx.post(base + "/api/auth/token", json=AGENT).json()["token"]
        measure(base, kinds, args.requests, rates, args.seconds, args.repeat, token)


if __name__ == "__main__":
    main()
