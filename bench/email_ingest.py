"""Benchmark: emails ingested per second through the SMTP listener (parse, customer, threading, ticket,
message, history, attachments-as-original, commit), on SQLite, one `switchboard serve` process.

Each sender thread keeps one SMTP connection and sends mails back to back; every 250 is acked only after
commit. Prints mails per second and per-mail latency (p50/p99) for 1 and 4 parallel connections.
Run from the project root:  .venv/bin/python bench/email_ingest.py [--mails 400]
"""

from __future__ import annotations

import argparse
import os
import smtplib
import statistics
import threading
import time
from email.message import EmailMessage
from email.utils import make_msgid

from _server import free_port, serving


def mail(i: int, tag: str) -> EmailMessage:
    m = EmailMessage()
    m["From"] = f"Customer {i} <customer{i % 97}@bench.example>"
    m["To"] = "support@example.com"
    m["Subject"] = f"Question {tag}-{i} about my order"
    m["Message-ID"] = make_msgid(domain="bench.example")
    m.set_content(f"Hello,\n\nmy order {i} has not arrived yet. Could you check?\n\nThanks\n" + "x" * 400)
    return m


def run(port: int, n: int, conns: int, tag: str) -> tuple[float, list[float]]:
    latencies: list[float] = []
    lock = threading.Lock()

    def sender(k: int) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
            for i in range(k, n, conns):
                msg = mail(i, tag)
                t = time.perf_counter()
                s.send_message(msg)
                with lock:
                    latencies.append((time.perf_counter() - t) * 1000)

    start = time.perf_counter()
    threads = [threading.Thread(target=sender, args=(k,)) for k in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, latencies


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mails", type=int, default=400)
    args = ap.parse_args()
    smtp_port = free_port()
    with serving({"SWITCHBOARD_SMTP_PORT": str(smtp_port)}):
        print(f"email ingest: SQLite, one process, {args.mails} mails each run, {os.cpu_count()} cores")
        run(smtp_port, 20, 1, "warmup")
        for conns in (1, 4):
            wall, lat = run(smtp_port, args.mails, conns, f"c{conns}")
            lat.sort()
            rate, p50, p99 = len(lat) / wall, statistics.median(lat), lat[int(0.99 * (len(lat) - 1))]
            print(f"{conns} connection(s): {rate:7.1f} mails/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms")


if __name__ == "__main__":
    main()
