"""A `switchboard serve` for benchmarks: SQLite in a temporary folder, loopback only, stopped by its pid."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Serving:
    base: str
    port: int
    env: dict[str, str]
    pid: int = 0  # the serve process, once started

    def cli(self, *args: str) -> None:
        """Run a `switchboard` command against the same database (e.g. agents add)."""
        subprocess.run([sys.executable, "-m", "app", *args], env=self.env, check=True, capture_output=True)


@contextmanager
def serving(
    extra_env: dict[str, str] | None = None, before: list[list[str]] | None = None, port: int | None = None
) -> Iterator[Serving]:
    """Start the server (after the `before` commands) on `port` (a free one by default) and wait until it
    is healthy."""
    tmp = tempfile.mkdtemp(prefix="sb-bench-")
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env.update(
        {
            "SWITCHBOARD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.db",
            "SWITCHBOARD_PORT": str(port),
            "SWITCHBOARD_SMTP_PORT": "0",
            "SWITCHBOARD_LOG_LEVEL": "warning",
        }
    )
    env.update(extra_env or {})
    server = Serving(f"http://127.0.0.1:{port}", port, env)
    for args in before or []:
        server.cli(*args)
    with process([sys.executable, "-m", "app", "serve"], server.base, env) as proc:
        yield replace(server, pid=proc.pid)


@contextmanager
def process(
    argv: list[str], base: str, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server process in a session of its own, wait until `base`/healthz answers 200 (30 s at
    most), and stop it by its process group at the end."""
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"{argv[-1]} did not become healthy in 30 s")
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
