"""Two-step sign-in (TOTP): an agent turns it on with a code from the scanned secret; from then on a login
needs the password and a current code, each code good once; it goes off with a code, or by an admin for an
agent who lost their device."""

from __future__ import annotations

import time

import httpx
import pyotp

from tests.support import LiveServer

PW = "pw-secret-123"


def _wrong(totp: pyotp.TOTP) -> str:
    """A code that is none of the codes accepted now."""
    step = totp.timecode(time.time())
    valid = {totp.generate_otp(step + d) for d in range(-2, 3)}
    return next(c for c in ("000000", "111111", "222222", "333333", "444444", "555555") if c not in valid)


async def _login(c: httpx.AsyncClient, code: str | None = None, password: str = PW) -> httpx.Response:
    body = {"email": "ana@example.com", "password": password}
    if code is not None:
        body["code"] = code
    return await c.post("/api/auth/token", json=body)


async def test_two_step_sign_in_on_login_and_off(server: LiveServer) -> None:
    ana_id = await server.add_agent("ana@example.com", "Ana")
    await server.add_agent("sue@example.com", "Sue", role="supervisor")
    await server.add_agent("adm@example.com", "Adm", role="admin")
    token, _ = await server.token("ana@example.com")
    async with server.client(token) as ana:
        assert (await ana.post("/api/me/totp/confirm", json={"code": "123456"})).status_code == 400
        setup = (await ana.post("/api/me/totp")).json()
        totp = pyotp.TOTP(setup["secret"])
        assert setup["uri"].startswith("otpauth://totp/") and "ana%40example.com" in setup["uri"]
        wrong = await ana.post(
            "/api/me/totp/confirm", json={"code": "000000" if totp.now() != "000000" else "111111"}
        )
        assert wrong.status_code == 403
        assert (await ana.post("/api/me/totp/confirm", json={"code": totp.now()})).status_code == 204
        assert (await ana.get("/api/me")).json()["two_step"] is True
        assert (await ana.post("/api/me/totp")).status_code == 400  # on already
    async with server.client() as c:
        for _ in range(6):  # the right password without a code: asked for one, and not a failed login
            r = await _login(c)
            assert r.status_code == 401 and r.json()["error"]["code"] == "totp_required"
        assert (await _login(c, "12345x")).status_code == 401
        assert (await _login(c, _wrong(totp))).status_code == 401
        assert (await _login(c, totp.now(), password="wrong-password")).status_code == 401
        step = totp.timecode(time.time())
        code = totp.generate_otp(step + 1)  # the next step's code (the confirmed one was this step's)
        ok = await _login(c, code)
        assert ok.status_code == 200, ok.text
        replay = await _login(c, code)
        assert replay.status_code == 401 and replay.json()["error"]["code"] == "bad_credentials"
    fresh = ok.json()["token"]
    async with server.client(fresh) as ana:
        assert (await ana.post("/api/me/totp/disable", json={"code": code})).status_code == 403  # used
    sue, _ = await server.token("sue@example.com")
    adm, _ = await server.token("adm@example.com")
    async with server.client(sue) as c:
        assert (await c.patch(f"/api/agents/{ana_id}", json={"totp": False})).status_code == 403
    async with server.client(adm) as c:
        assert (await c.patch(f"/api/agents/{ana_id}", json={"totp": True})).status_code == 400
        assert (await c.patch(f"/api/agents/{ana_id}", json={"totp": False})).status_code == 200
    async with server.client() as c:
        assert (await _login(c)).status_code == 200  # the lost device no longer matters


async def test_an_agent_turns_two_step_off_with_a_current_code(server: LiveServer) -> None:
    await server.add_agent("ana@example.com", "Ana")
    token, _ = await server.token("ana@example.com")
    async with server.client(token) as ana:
        totp = pyotp.TOTP((await ana.post("/api/me/totp")).json()["secret"])
        step = totp.timecode(time.time())
        assert (
            await ana.post("/api/me/totp/confirm", json={"code": totp.generate_otp(step - 1)})
        ).status_code == 204
        assert (await ana.post("/api/me/totp/disable", json={"code": _wrong(totp)})).status_code == 403
        assert (await ana.get("/api/me")).json()["two_step"] is True
        r = await ana.post("/api/me/totp/disable", json={"code": totp.generate_otp(step)})
        assert r.status_code == 204
        assert (await ana.get("/api/me")).json()["two_step"] is False
    async with server.client() as c:
        assert (await _login(c)).status_code == 200
