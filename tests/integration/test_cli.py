"""The `switchboard` command as a user runs it: real subprocesses (`python -m app` is `switchboard`), each
in its own directory with its own database. `agents add` and `faq import` run on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app.db.engine import Database
from app.domain.models import Agent, AgentQueue, AuditEntry, FaqEntry, Queue
from config import demo
from tests.support import LiveServer, free_port, make_settings

COMMAND_TIMEOUT_S = 60
READY_WITHIN_S = 10.0


def run(args: list[str], cwd: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SWITCHBOARD_DATABASE_URL": database_url, "SWITCHBOARD_SMTP_PORT": "0"}
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )


def fails_clearly(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    """Exit code 2, a last line on stderr that names the problem, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("switchboard: "), result.stderr
    for needle in needles:
        assert needle in last, result.stderr


def add_agent_args(email: str, password: str = "pw-secret-123", *extra: str) -> list[str]:
    return ["agents", "add", "--email", email, "--name", "Ana Agent", "--password", password, *extra]


async def _audit_actions(database_url: str) -> list[str]:
    db = Database(database_url)
    try:
        async with db.read() as s:
            return list((await s.execute(select(AuditEntry.action).order_by(AuditEntry.id))).scalars())
    finally:
        await db.close()


async def _agent_row(database_url: str, email: str) -> tuple[Agent | None, list[str]]:
    db = Database(database_url)
    try:
        async with db.read() as s:
            agent = (await s.execute(select(Agent).where(Agent.email == email))).scalar_one_or_none()
            queues: list[str] = []
            if agent is not None:
                rows = await s.execute(
                    select(Queue.name)
                    .join(AgentQueue, AgentQueue.queue_id == Queue.id)
                    .where(AgentQueue.agent_id == agent.id)
                )
                queues = sorted(rows.scalars())
            return agent, queues
    finally:
        await db.close()


async def _faq(database_url: str) -> dict[str, list[str]]:
    db = Database(database_url)
    try:
        async with db.read() as s:
            entries = (await s.execute(select(FaqEntry))).scalars().all()
            return {e.answer: sorted(p.text for p in e.phrasings) for e in entries}
    finally:
        await db.close()


async def _login(database_url: str, email: str, password: str) -> dict[str, object]:
    """Log in through the HTTP API of a server on that database (not migrated by us: the CLI did it)."""
    live = LiveServer(make_settings(database_url))
    await live.start()
    try:
        async with live.client() as c:
            r = await c.post("/api/auth/token", json={"email": email, "password": password})
            assert r.status_code == 200, r.text
            body: dict[str, object] = r.json()
            return body
    finally:
        await live.stop()


# ---------------------------------------------------------------------------------------------------------
# agents add
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.empty_db
def test_agents_add_on_a_fresh_database(database_url: str, tmp_path: Path) -> None:
    result = run(
        add_agent_args(
            "Ana@Example.com",
            "pw-secret-123",
            "--role",
            "supervisor",
            "--queues",
            "billing,tech",
            "--capacity",
            "4",
        ),
        tmp_path,
        database_url,
    )
    assert result.returncode == 0, result.stderr
    assert "ana@example.com" in result.stdout and "created" in result.stdout, result.stdout

    agent, queues = asyncio.run(_agent_row(database_url, "ana@example.com"))
    assert agent is not None
    assert (agent.name, agent.role, agent.capacity) == ("Ana Agent", "supervisor", 4)
    assert queues == ["billing", "tech"]
    assert agent.password_hash != "pw-secret-123"
    body = asyncio.run(_login(database_url, "ana@example.com", "pw-secret-123"))
    expected = {"id": agent.id, "name": "Ana Agent", "email": "ana@example.com", "role": "supervisor"}
    assert isinstance(body["agent"], dict) and expected.items() <= body["agent"].items(), body

    # without --queues an agent serves the one queue a new database has, `general`
    result = run(add_agent_args("ben@example.com"), tmp_path, database_url)
    assert result.returncode == 0, result.stderr
    agent, queues = asyncio.run(_agent_row(database_url, "ben@example.com"))
    assert agent is not None and agent.role == "agent" and queues == ["general"]


def test_agents_add_duplicate_email_fails_clearly(database_url: str, tmp_path: Path) -> None:
    first = run(add_agent_args("ana@example.com"), tmp_path, database_url)
    assert first.returncode == 0, first.stderr
    again = run(add_agent_args("ana@example.com", "another-password"), tmp_path, database_url)
    fails_clearly(again, "ana@example.com", "exists")
    # e-mail addresses are compared without regard to case
    shouted = run(add_agent_args("ANA@EXAMPLE.COM", "another-password"), tmp_path, database_url)
    fails_clearly(shouted, "ana@example.com", "exists")
    # the first agent's password is unchanged
    body = asyncio.run(_login(database_url, "ana@example.com", "pw-secret-123"))
    assert body["agent"]["email"] == "ana@example.com"  # type: ignore[index]


def test_agents_add_short_password_fails_clearly(database_url: str, tmp_path: Path) -> None:
    short = run(add_agent_args("ana@example.com", "short"), tmp_path, database_url)
    fails_clearly(short, "password", "8")
    agent, _ = asyncio.run(_agent_row(database_url, "ana@example.com"))
    assert agent is None
    # nothing half-made blocks a second try with a good password
    ok = run(add_agent_args("ana@example.com", "long-enough-1"), tmp_path, database_url)
    assert ok.returncode == 0, ok.stderr


def test_agents_password_deactivate_and_activate(database_url: str, tmp_path: Path) -> None:
    assert run(add_agent_args("ana@example.com"), tmp_path, database_url).returncode == 0
    changed = run(
        ["agents", "password", "--email", "ANA@example.com", "--password", "set-by-cli-1"],
        tmp_path,
        database_url,
    )
    assert changed.returncode == 0, changed.stderr
    asyncio.run(_login(database_url, "ana@example.com", "set-by-cli-1"))
    off = run(["agents", "deactivate", "--email", "ana@example.com"], tmp_path, database_url)
    assert off.returncode == 0 and "deactivated" in off.stdout, off.stderr
    agent, _ = asyncio.run(_agent_row(database_url, "ana@example.com"))
    assert agent is not None and not agent.active
    on = run(["agents", "activate", "--email", "ana@example.com"], tmp_path, database_url)
    assert on.returncode == 0, on.stderr
    asyncio.run(_login(database_url, "ana@example.com", "set-by-cli-1"))
    assert [a for a in asyncio.run(_audit_actions(database_url)) if a.startswith("cli.")] == [
        "cli.agents.password",
        "cli.agents.deactivate",
        "cli.agents.activate",
    ]
    fails_clearly(run(["agents", "deactivate", "--email", "zed@example.com"], tmp_path, database_url), "zed")
    short = run(
        ["agents", "password", "--email", "ana@example.com", "--password", "x"], tmp_path, database_url
    )
    fails_clearly(short, "password")


# ---------------------------------------------------------------------------------------------------------
# faq import
# ---------------------------------------------------------------------------------------------------------

RESET = "Open Settings > Security and choose Reset password."
HOURS = "We are open 9am to 5pm, Monday to Friday."
CARD = "New cards arrive within 5 working days."


def write_csv(path: Path, header: list[str], rows: list[tuple[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def test_faq_import_groups_rows_by_answer_and_replaces(database_url: str, tmp_path: Path) -> None:
    first = tmp_path / "faq.csv"
    write_csv(
        first,
        ["question", "answer"],
        [
            ("How do I reset my password?", RESET),
            ("I forgot my password, help", RESET),
            ("What are your opening hours?", HOURS),
            ("When are you open?", HOURS),
            ("Can't log in", RESET),
        ],
    )
    result = run(["faq", "import", str(first)], tmp_path, database_url)
    assert result.returncode == 0, result.stderr
    assert "imported 2 entries" in result.stdout, result.stdout
    assert asyncio.run(_faq(database_url)) == {
        RESET: sorted(["How do I reset my password?", "I forgot my password, help", "Can't log in"]),
        HOURS: sorted(["What are your opening hours?", "When are you open?"]),
    }

    # without --replace a second file adds to the knowledge base; a known answer gains phrasings
    second = tmp_path / "more.csv"
    write_csv(
        second,
        ["Question", " Answer"],  # header names are not case sensitive; spaces around them are fine
        [("Where is my card?", CARD), ("My card has not arrived", CARD), ("Password reset please", RESET)],
    )
    result = run(["faq", "import", str(second)], tmp_path, database_url)
    assert result.returncode == 0, result.stderr
    faq = asyncio.run(_faq(database_url))
    assert sorted(faq) == sorted([RESET, HOURS, CARD])
    assert "Password reset please" in faq[RESET] and len(faq[RESET]) == 4

    # --replace: the knowledge base is exactly the file afterwards
    result = run(["faq", "import", str(second), "--replace"], tmp_path, database_url)
    assert result.returncode == 0, result.stderr
    assert "imported 2 entries" in result.stdout, result.stdout
    assert asyncio.run(_faq(database_url)) == {
        CARD: sorted(["Where is my card?", "My card has not arrived"]),
        RESET: ["Password reset please"],
    }


def test_faq_import_wrong_header_fails_clearly(database_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("q,a\nHow do I reset my password?,Open Settings\n", encoding="utf-8")
    result = run(["faq", "import", str(bad)], tmp_path, database_url)
    fails_clearly(result, "bad.csv", "question,answer")
    assert asyncio.run(_faq(database_url)) == {}

    missing = run(["faq", "import", str(tmp_path / "nope.csv")], tmp_path, database_url)
    fails_clearly(missing, "nope.csv")


# ---------------------------------------------------------------------------------------------------------
# serve --demo
# ---------------------------------------------------------------------------------------------------------


def _stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> bool:
    """SIGTERM, then SIGKILL after `timeout`; True when SIGTERM alone stopped it (or it had exited)."""
    if proc.poll() is not None:
        return True
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
        return True
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout)
        return False


def test_serve_demo_is_ready_within_10_s_and_the_demo_admin_can_log_in(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "SWITCHBOARD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/switchboard.db",
        "SWITCHBOARD_PORT": str(port),
        "SWITCHBOARD_SMTP_PORT": "0",
    }
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--demo"],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            ready_after = _wait_healthy(proc, base, log_path, started)
            assert ready_after < READY_WITHIN_S, f"ready after {ready_after:.1f} s"

            output = log_path.read_text(errors="replace")
            assert f"{base}/demo" in output, output
            assert demo.PASSWORD in output and "admin@example.com" in output, output

            with httpx.Client(base_url=base, timeout=10) as c:
                admin = next(email for email, _, role, _ in demo.AGENTS if role == "admin")
                r = c.post("/api/auth/token", json={"email": admin, "password": demo.PASSWORD})
                assert r.status_code == 200, r.text
                assert r.json()["agent"]["role"] == "admin"
                token = r.json()["token"]
                auth = {"Authorization": f"Bearer {token}"}
                queues = c.get("/api/queues", headers=auth)
                assert queues.status_code == 200, queues.text
                assert {"general", "billing", "tech"} <= {q["name"] for q in queues.json()["items"]}
                page = c.get("/demo")
                assert page.status_code == 200 and '<script src="/widget.js"' in page.text
                answer = c.post("/api/bot/ask", json={"text": "how do I reset my password?"}, headers=auth)
                assert answer.status_code == 200 and "Reset password" in (answer.json()["answer"] or "")

            # SIGTERM (what a service manager sends) stops it gracefully
            assert _stop(proc), "serve ignored SIGTERM for 10 s"
            assert "Application shutdown complete" in log_path.read_text(errors="replace")
        finally:
            _stop(proc)


def _wait_healthy(proc: subprocess.Popen[bytes], base: str, log_path: Path, started: float) -> float:
    """Seconds from start until /healthz answered 200; fails early if the process exits."""
    deadline = started + 30  # generous, so a slow start is measured and reported rather than cut off
    with httpx.Client(base_url=base, timeout=1) as c:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"serve exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}")
            try:
                r = c.get("/healthz")
                if r.status_code == 200 and r.json() == {"status": "ok"}:
                    return time.monotonic() - started
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"not healthy after 30 s:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.05)
