"""Sessions end when they must (Chatwoot CVE-2021-3740: sessions that survived a password change), and
passwords cannot be guessed at speed: a changed or reset password voids every earlier token and closes
their sockets, a switched-off agent is out at once, and failed logins lock the address for a while, the
same for known and unknown addresses, and per client address across accounts."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from app.actions import login_throttle
from app.domain.models import LoginThrottle
from app.domain.types import utcnow
from tests.support import LiveServer

PW = "pw-secret-123"


async def _login(c: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await c.post("/api/auth/token", json={"email": email, "password": password})


async def test_a_password_change_voids_every_other_token_and_closes_their_sockets(server: LiveServer) -> None:
    await server.add_agent("ana@example.com", "Ana")
    token, _ = await server.token("ana@example.com")
    other, _ = await server.token("ana@example.com")  # another browser
    ws = await server.agent_socket(other)
    async with server.client(other) as c:
        assert (await c.get("/api/me")).status_code == 200  # remembered now (app.actions.token_cache)
    async with server.client(token) as c:
        wrong = await c.post(
            "/api/me/password", json={"current_password": "not-it-123", "new_password": "new-secret-456"}
        )
        assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "wrong_password"
        short = await c.post("/api/me/password", json={"current_password": PW, "new_password": "short"})
        assert short.status_code == 400
        r = await c.post("/api/me/password", json={"current_password": PW, "new_password": "new-secret-456"})
        assert r.status_code == 200, r.text
        fresh = r.json()["token"]
        assert (await c.get("/api/me")).status_code == 401  # the caller's own old token too
    await asyncio.wait_for(ws.closed.wait(), 5)
    assert ws.conn.close_code == 4401
    async with server.client(other) as c:
        assert (await c.get("/api/me")).status_code == 401
    async with server.client(fresh) as c:
        assert (await c.get("/api/me")).status_code == 200
    async with server.client() as c:
        assert (await _login(c, "ana@example.com", PW)).status_code == 401
        assert (await _login(c, "ana@example.com", "new-secret-456")).status_code == 200


async def test_only_admins_reset_passwords_and_switch_agents_off(server: LiveServer) -> None:
    ana_id = await server.add_agent("ana@example.com", "Ana")
    await server.add_agent("sue@example.com", "Sue", role="supervisor")
    await server.add_agent("adm@example.com", "Adm", role="admin")
    ana, _ = await server.token("ana@example.com")
    sue, _ = await server.token("sue@example.com")
    adm, adm_id = await server.token("adm@example.com")
    ws = await server.agent_socket(ana)
    async with server.client(sue) as c:
        for change in ({"password": "sue-sets-this-1"}, {"active": False}):
            r = await c.patch(f"/api/agents/{ana_id}", json=change)
            assert r.status_code == 403, change
    async with server.client(ana) as c:
        assert (await c.get("/api/me")).status_code == 200
    async with server.client(adm) as c:
        assert (await c.patch(f"/api/agents/{adm_id}", json={"active": False})).status_code == 400
        assert (await c.patch(f"/api/agents/{ana_id}", json={"password": 5})).status_code == 400
        r = await c.patch(f"/api/agents/{ana_id}", json={"password": "reset-by-admin-1"})
        assert r.status_code == 200, r.text
    await asyncio.wait_for(ws.closed.wait(), 5)
    assert ws.conn.close_code == 4401
    async with server.client() as c:
        assert (await _login(c, "ana@example.com", PW)).status_code == 401
        ana2 = (await _login(c, "ana@example.com", "reset-by-admin-1")).json()["token"]
    ws2 = await server.agent_socket(ana2)
    async with server.client(adm) as c:
        r = await c.patch(f"/api/agents/{ana_id}", json={"active": False})
        assert r.status_code == 200 and r.json()["active"] is False
        assert ana_id not in [a["id"] for a in (await c.get("/api/agents")).json()["items"]]
    await asyncio.wait_for(ws2.closed.wait(), 5)
    async with server.client(ana2) as c:
        assert (await c.get("/api/me")).status_code == 401
    async with server.client() as c:
        assert (await _login(c, "ana@example.com", "reset-by-admin-1")).status_code == 401
    async with server.client(adm) as c:
        assert (await c.patch(f"/api/agents/{ana_id}", json={"active": True})).status_code == 200
    async with server.client() as c:
        assert (await _login(c, "ana@example.com", "reset-by-admin-1")).status_code == 200


async def test_failed_logins_lock_an_address_known_or_not(server: LiveServer) -> None:
    await server.add_agent("ana@example.com", "Ana")
    async with server.client() as c:
        for email in ("ana@example.com", "nobody@example.com"):
            codes = [(await _login(c, email, f"guess-{i}-xyz")).status_code for i in range(5)]
            assert codes == [401] * 5, (email, codes)
            locked = await _login(c, email, PW)  # even the right password, while locked
            assert locked.status_code == 429, (email, locked.text)
            assert locked.json()["error"]["code"] == "too_many_attempts"
            assert 1 <= int(locked.headers["Retry-After"]) <= 30
        # the lock runs out: the right password works and clears the count
        async with server.ctx.db.write() as s:
            await s.execute(update(LoginThrottle).values(locked_until=utcnow() - timedelta(seconds=1)))
        assert (await _login(c, "ana@example.com", PW)).status_code == 200
        async with server.ctx.db.read() as s:
            left = (await s.execute(select(LoginThrottle.email))).scalars().all()
        assert left == ["nobody@example.com"]
        # the next failure of a locked-before address locks it again, for longer
        assert (await _login(c, "nobody@example.com", "guess-again-1")).status_code == 401
        again = await _login(c, "nobody@example.com", "guess-again-2")
        assert again.status_code == 429 and 30 < int(again.headers["Retry-After"]) <= 60


async def test_failed_logins_from_one_client_are_limited_across_addresses(server: LiveServer) -> None:
    await server.add_agent("ana@example.com", "Ana")
    async with server.client() as c:
        codes = []
        for i in range(32):  # 4 tries each at 8 addresses: no address locks
            codes.append((await _login(c, f"user{i // 4}@example.com", "wrong-guess-1")).status_code)
        assert codes[:30] == [401] * 30 and codes[30:] == [429, 429], codes
        r = await _login(c, "ana@example.com", PW)
        assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0


async def test_rows_of_addresses_untried_for_a_day_are_deleted(server: LiveServer, monkeypatch: Any) -> None:
    monkeypatch.setattr(login_throttle, "CLEANUP_CHANCE", 1.0)  # every failure cleans up, for the test
    async with server.ctx.db.write() as s:
        s.add(LoginThrottle(email="old@example.com", failures=3, updated_at=utcnow() - timedelta(days=2)))
        s.add(LoginThrottle(email="recent@example.com", failures=3, updated_at=utcnow() - timedelta(hours=2)))
    async with server.client() as c:
        assert (await _login(c, "new@example.com", "wrong-guess-1")).status_code == 401
    async with server.ctx.db.read() as s:
        left = sorted((await s.execute(select(LoginThrottle.email))).scalars())
    assert left == ["new@example.com", "recent@example.com"]
