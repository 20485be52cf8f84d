"""Widget identity: a visitor is anonymous unless the embedding site signs its user id (HMAC-SHA256 with
the site's secret); a signed user is one customer on every device and finds their open conversation there;
a wrong or missing signature, another user's signature, or a typed email address unlocks nothing."""

from __future__ import annotations

from typing import Any

from app.actions.widget_identity import sign
from tests.support import WS, LiveServer, make_settings, running

SECRET = "site-secret-0123456789"


async def _hello(server: LiveServer, **hello: Any) -> tuple[WS, dict[str, Any]]:
    ws = await WS.open(server.ws_base + "/ws/chat")
    await ws.send({"type": "hello", **hello})
    welcome = await ws.wait_for(lambda f: f.get("type") == "welcome")
    assert welcome, ws.frames
    return ws, welcome


async def _say(ws: WS, text: str, cid: str) -> int:
    await ws.send({"type": "message", "text": text, "client_id": cid})
    ack = await ws.wait_for(lambda f: f.get("type") == "ack" and f["client_id"] == cid, 10)
    assert ack, ws.frames
    return int(ack["seq"])


def _texts(ws: WS) -> list[str]:
    return [f["text"] for f in ws.frames if f.get("type") == "message"]


async def test_a_signed_user_is_one_customer_on_every_device(database_url: str) -> None:
    async with running(make_settings(database_url, widget_secret=SECRET)) as server:
        me = {"user_id": "u-1001", "user_hash": sign(SECRET, "u-1001"), "email": "kim@example.com"}
        tablet, early = await _hello(server, **me)  # open before any conversation exists
        laptop, hi = await _hello(server, **me, name="Kim")
        assert hi["conversation_id"] is None and early["conversation_id"] is None
        await _say(laptop, "my parcel is late, I need a person", "l1")
        await tablet.close()
        tablet, later = await _hello(server, **me, visitor_token=early["visitor_token"])  # it comes back
        assert later["visitor_token"] == early["visitor_token"] and later["conversation_id"] is not None
        assert await tablet.wait_for(lambda f: f.get("text") == "my parcel is late, I need a person")
        await tablet.close()
        phone, welcome = await _hello(server, **me)  # another device: no visitor token
        assert welcome["conversation_id"] is not None
        assert await phone.wait_for(lambda f: f.get("text") == "my parcel is late, I need a person")
        await _say(phone, "from my phone too", "p1")
        assert await laptop.wait_for(lambda f: f.get("text") == "from my phone too")
        # the laptop comes back with its own token: the same session, the same conversation
        again, back = await _hello(server, **me, visitor_token=hi["visitor_token"])
        assert back["visitor_token"] == hi["visitor_token"]
        assert back["conversation_id"] == welcome["conversation_id"]
        async with server.ctx.db.read() as s:
            from sqlalchemy import select

            from app.domain.models import Identity

            kinds = (await s.execute(select(Identity.kind, Identity.address, Identity.verified))).all()
        assert ("user", "u-1001", True) in kinds and ("email", "kim@example.com", False) in kinds
        for ws in (laptop, phone, again):
            await ws.close()


async def test_wrong_or_foreign_signatures_and_typed_emails_unlock_nothing(database_url: str) -> None:
    async with running(make_settings(database_url, widget_secret=SECRET)) as server:
        kim = {"user_id": "u-1001", "user_hash": sign(SECRET, "u-1001")}
        laptop, hi = await _hello(server, **kim, email="kim@example.com")
        await _say(laptop, "private: my address is 1 Elm St", "k1")
        # a forged signature, a signature of the id under another secret, another user's valid signature
        attempts: list[dict[str, Any]] = [
            {"user_id": "u-1001", "user_hash": "0" * 64},
            {"user_id": "u-1001", "user_hash": sign("guessed-secret", "u-1001")},
            {"user_id": "u-1001"},
            {"user_id": "u-2002", "user_hash": sign(SECRET, "u-1001")},
            {"email": "kim@example.com", "name": "Kim"},
        ]
        for hello in attempts:
            ws, welcome = await _hello(server, **hello)
            assert welcome["conversation_id"] is None, hello
            assert welcome["visitor_token"] != hi["visitor_token"]
            if "user_id" in hello:
                assert await ws.wait_for(lambda f: f.get("code") == "bad_identity"), hello
            await _say(ws, "hello?", "x")
            assert not any("Elm St" in t for t in _texts(ws)), hello
            await ws.close()
        # another signed user, even holding Kim's visitor token, gets a conversation of their own
        lee = {"user_id": "u-2002", "user_hash": sign(SECRET, "u-2002")}
        ws, welcome = await _hello(server, **lee, visitor_token=hi["visitor_token"])
        assert welcome["visitor_token"] != hi["visitor_token"] and welcome["conversation_id"] is None
        await _say(ws, "hi from Lee", "lee1")
        assert not any("Elm St" in t for t in _texts(ws))
        await ws.close()
        await laptop.close()


async def test_without_a_secret_every_visitor_is_anonymous(server: LiveServer) -> None:
    secretless = {"user_id": "u-1", "user_hash": sign("", "u-1")}
    first, _ = await _hello(server, **secretless)
    assert await first.wait_for(lambda f: f.get("code") == "bad_identity")
    await _say(first, "hello", "a1")
    second, welcome = await _hello(server, **secretless)
    assert welcome["conversation_id"] is None
    await first.close()
    await second.close()
