"""A real `switchboard serve` process for the tests that start, kill and restart them (cluster, faults)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support import free_port

READY_WITHIN_S = 20.0


class Node:
    """One `switchboard serve` process, stopped by its process group id."""

    def __init__(self, env: dict[str, str], log: Path, *args: str, port: int | None = None) -> None:
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.ws = f"ws://127.0.0.1:{self.port}"
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "app", "serve", *args],
                env={**env, "SWITCHBOARD_PORT": str(self.port)},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def ready(self) -> None:
        async with httpx.AsyncClient(base_url=self.base, timeout=1) as http:
            for _ in range(int(READY_WITHIN_S * 10)):
                if self.proc.poll() is not None:
                    raise AssertionError(f"node exited: {self.log.read_text(errors='replace')[-2000:]}")
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"node not ready: {self.log.read_text(errors='replace')[-2000:]}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
