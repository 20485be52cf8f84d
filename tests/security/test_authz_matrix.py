"""Authorization, endpoint by endpoint: every route of the app is classified here (a new route that is not
fails the first test) and tried as no one, as the wrong role and as an agent of another queue; the
websockets as no one, with a bad or revoked token, as the wrong role, and as another visitor.

The rules (app/actions/access.py): supervisors and admins see every ticket; an agent sees the tickets of
their queues and those assigned to them, and a ticket they may not see answers the same 404 as one that
does not exist; every agent may look customers up; supervisor and admin endpoints answer 403 to agents.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import select
from starlette.routing import Mount, Route, WebSocketRoute

from app.domain.models import Agent
from app.main import create_app
from config.settings import Settings
from tests.security.world import World, refused
from tests.support import WS, LiveServer

PUBLIC = "public"  # anyone, by design
LOGIN = "login"  # anyone may try; answers a token only for the right password
TWILIO = "twilio"  # anyone may call; 403 without a valid X-Twilio-Signature
AGENT = "agent"  # any signed-in agent
TICKET = "ticket"  # an agent who may see the ticket (or its attachment); others get 404
SUPERVISOR = "supervisor"  # supervisors and admins; agents get 403
ADMIN = "admin"  # admins; agents and supervisors get 403
SURVEY = "survey"  # anyone holding the survey's token (from its link); others get 404: test_csat.py

# (method, path) -> class. HEAD is served wherever GET is.
HTTP_ROUTES: dict[tuple[str, str], str] = {
    ("POST", "/api/auth/token"): LOGIN,
    ("POST", "/api/auth/logout"): AGENT,
    ("GET", "/api/queues"): AGENT,
    ("POST", "/api/bot/ask"): AGENT,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,  # Prometheus scrapes it unauthenticated (see SECURITY.md)
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/api/tickets"): AGENT,  # filtered to what the caller may see: see test_ticket_scope
    ("GET", "/api/tickets/{ticket_id}"): TICKET,
    ("PATCH", "/api/tickets/{ticket_id}"): TICKET,
    ("POST", "/api/tickets/{ticket_id}/messages"): TICKET,
    ("POST", "/api/tickets/{ticket_id}/merge"): TICKET,
    ("POST", "/api/tickets/{ticket_id}/split"): TICKET,
    # every agent may look customers up (access.py): a contact center's agents serve whoever calls
    ("GET", "/api/customers"): AGENT,
    ("GET", "/api/search"): AGENT,  # its tickets filtered to what the caller may see: test_search.py
    ("GET", "/api/customers/{customer_id}"): AGENT,
    ("GET", "/api/customers/{customer_id}/history"): AGENT,
    ("POST", "/api/customers/{customer_id}/merge"): AGENT,
    ("PATCH", "/api/customers/{customer_id}"): AGENT,
    ("GET", "/api/customers/{customer_id}/notes"): AGENT,
    ("POST", "/api/customers/{customer_id}/notes"): AGENT,
    ("POST", "/api/customers/{customer_id}/identities"): AGENT,
    ("DELETE", "/api/customers/{customer_id}/identities/{identity_id}"): AGENT,
    ("GET", "/api/customers/{customer_id}/duplicates"): AGENT,
    ("GET", "/api/customers/{customer_id}/merges"): AGENT,
    ("GET", "/api/customers/{customer_id}/reminders"): AGENT,
    ("POST", "/api/customers/{customer_id}/reminders"): AGENT,
    ("GET", "/api/reminders"): SUPERVISOR,
    ("DELETE", "/api/reminders/{reminder_id}"): AGENT,
    ("GET", "/api/duplicates"): AGENT,
    ("POST", "/api/duplicates/scan"): SUPERVISOR,
    ("POST", "/api/duplicates/{pair_id}/dismiss"): AGENT,
    ("POST", "/api/merges/{merge_id}/undo"): AGENT,
    ("GET", "/api/webhooks"): ADMIN,
    ("POST", "/api/webhooks"): ADMIN,
    ("PATCH", "/api/webhooks/{webhook_id}"): ADMIN,
    ("DELETE", "/api/webhooks/{webhook_id}"): ADMIN,
    ("GET", "/api/webhooks/{webhook_id}/deliveries"): ADMIN,
    ("POST", "/api/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"): ADMIN,
    ("POST", "/api/webhooks/{webhook_id}/ping"): ADMIN,
    ("GET", "/api/rules"): SUPERVISOR,
    ("POST", "/api/rules"): ADMIN,
    ("POST", "/api/rules/dry-run"): ADMIN,
    ("PUT", "/api/rules/{rule_id}"): ADMIN,
    ("DELETE", "/api/rules/{rule_id}"): ADMIN,
    ("GET", "/api/calendars"): SUPERVISOR,
    ("POST", "/api/calendars"): ADMIN,
    ("PATCH", "/api/calendars/{calendar_id}"): ADMIN,
    ("DELETE", "/api/calendars/{calendar_id}"): ADMIN,
    ("PUT", "/api/queues/{queue}/calendar"): ADMIN,
    ("GET", "/api/sla-policies"): SUPERVISOR,
    ("POST", "/api/sla-policies"): ADMIN,
    ("PATCH", "/api/sla-policies/{policy_id}"): ADMIN,
    ("DELETE", "/api/sla-policies/{policy_id}"): ADMIN,
    ("GET", "/api/customer-attributes"): AGENT,
    ("POST", "/api/customer-attributes"): ADMIN,
    ("PATCH", "/api/customer-attributes/{key}"): ADMIN,
    ("DELETE", "/api/customer-attributes/{key}"): ADMIN,
    ("GET", "/api/customers/{customer_id}/export"): ADMIN,
    ("POST", "/api/customers/{customer_id}/erase"): ADMIN,
    ("GET", "/api/me"): AGENT,
    ("GET", "/api/audit"): ADMIN,
    ("POST", "/api/me/password"): AGENT,
    ("POST", "/api/me/totp"): AGENT,
    ("POST", "/api/me/totp/confirm"): AGENT,
    ("POST", "/api/me/totp/disable"): AGENT,
    ("GET", "/api/agents"): AGENT,
    ("PATCH", "/api/agents/{agent_id}"): SUPERVISOR,
    ("GET", "/api/stats"): SUPERVISOR,
    **{
        ("GET", f"/api/reports/{kind}{ext}"): SUPERVISOR
        for kind in ("first_response", "resolution", "volume", "deflection", "csat", "sla")
        for ext in ("", ".csv")
    },
    ("GET", "/api/canned"): AGENT,
    ("POST", "/api/canned"): SUPERVISOR,
    ("PATCH", "/api/canned/{canned_id}"): SUPERVISOR,
    ("DELETE", "/api/canned/{canned_id}"): SUPERVISOR,
    ("POST", "/api/email/inbound"): AGENT,
    ("GET", "/api/quarantine"): ADMIN,
    ("POST", "/api/quarantine/{quarantine_id}/reprocess"): ADMIN,
    ("GET", "/api/attachments/{attachment_id}"): TICKET,
    ("GET", "/api/faq"): AGENT,
    ("POST", "/api/faq"): ADMIN,
    ("POST", "/api/faq/learn"): AGENT,  # with a ticket_id the agent may not see: 404 (test_ticket_scope)
    ("GET", "/api/faq/export.csv"): AGENT,
    ("POST", "/api/faq/import"): ADMIN,
    ("GET", "/api/faq/{entry_id}"): AGENT,
    ("PATCH", "/api/faq/{entry_id}"): ADMIN,
    ("DELETE", "/api/faq/{entry_id}"): ADMIN,
    ("POST", "/twilio/sms"): TWILIO,
    ("POST", "/twilio/sms/status"): TWILIO,
    **{
        (method, f"/twilio/voice{tail}"): TWILIO
        for tail in ("", "/menu", "/dial-status", "/recorded", "/transcription", "/status")
        for method in ("GET", "POST")
    },
    ("GET", "/console"): PUBLIC,  # static pages: the data behind them needs a token
    ("GET", "/console/supervisor"): PUBLIC,
    ("GET", "/admin"): PUBLIC,
    ("GET", "/csat/{token}"): PUBLIC,  # the page; the survey behind it needs the token
    ("GET", "/api/csat/{token}"): SURVEY,
    ("POST", "/api/csat/{token}"): SURVEY,
    ("GET", "/api/csat"): SUPERVISOR,
    ("GET", "/console/faq"): PUBLIC,
    ("GET", "/demo"): PUBLIC,
    ("GET", "/widget.js"): PUBLIC,
}
MOUNTS = {"/static": PUBLIC}
# each has its own tests below
WEBSOCKETS = {"/ws/chat": "visitor token", "/ws/agent": AGENT, "/ws/supervisor": SUPERVISOR}

TWILIO_TOKEN = "authz-matrix-twilio-token"


def app_routes() -> tuple[set[tuple[str, str]], set[str], set[str]]:
    app = create_app(Settings())
    http: set[tuple[str, str]] = set()
    mounts: set[str] = set()
    sockets: set[str] = set()
    for route in app.routes:
        if isinstance(route, Route):
            http |= {(m, route.path) for m in (route.methods or set()) if m != "HEAD"}
        elif isinstance(route, Mount):
            mounts.add(route.path)
        elif isinstance(route, WebSocketRoute):
            sockets.add(route.path)
        else:
            raise AssertionError(f"unclassified kind of route: {route!r}")
    return http, mounts, sockets


def test_every_route_is_classified() -> None:
    http, mounts, sockets = app_routes()
    assert not http - HTTP_ROUTES.keys(), (
        f"routes with no authorization class here: {http - HTTP_ROUTES.keys()}"
    )
    assert not HTTP_ROUTES.keys() - http, (
        f"classified routes the app no longer has: {HTTP_ROUTES.keys() - http}"
    )
    assert mounts == MOUNTS.keys()
    assert sockets == WEBSOCKETS.keys()


async def call(
    server: LiveServer, token: str | None, method: str, path: str, ids: dict[str, str]
) -> httpx.Response:
    url = path.format(**ids)
    async with server.client(token) as c:
        if method in ("GET", "DELETE"):
            return await c.request(method, url)
        body: dict[str, Any] = {}
        if path.endswith("/messages"):
            body = {"body": "let me in", "internal": False}
        elif path == "/api/tickets/{ticket_id}":
            body = {"status": "pending"}
        return await c.request(method, url, json=body)


def routes_of(*classes: str) -> list[tuple[str, str]]:
    return sorted(k for k, v in HTTP_ROUTES.items() if v in classes)


async def test_no_one(world: World) -> None:
    """Without a token (and with a made-up one) every non-public endpoint answers 401 and changes nothing;
    the public ones answer without one."""
    server = world.server
    for method, path in routes_of(AGENT, TICKET, SUPERVISOR, ADMIN):
        for token in (None, "made-up-token", world.ana + "x"):
            r = await call(server, token, method, path, world.ids())
            assert r.status_code == 401, (method, path, token, r.status_code, r.text)
            assert r.json()["error"]["code"] == "unauthorized"
            assert r.headers["www-authenticate"] == "Bearer"
    for method, path in routes_of(PUBLIC):
        r = await call(server, None, method, path, world.ids())
        assert r.status_code == 200, (method, path, r.status_code)
    async with server.client() as c:
        assert (await c.get("/static/console.js")).status_code == 200
        r = await c.post("/api/auth/token", json={"email": "ana@example.com", "password": "wrong-password"})
        assert r.status_code == 401 and "token" not in r.json()
        r = await c.post("/api/auth/token", json={"email": "nobody@example.com", "password": "pw-secret-123"})
        assert r.status_code == 401 and "token" not in r.json()
    # nothing was changed by all those calls
    async with server.client(world.adm) as api:
        assert (await api.get("/api/canned")).json()["items"][0]["title"] == "Hi"
        assert (await api.get(f"/api/faq/{world.entry_id}")).status_code == 200
        messages = (await api.get(f"/api/tickets/{world.ticket_id}")).json()["messages"]
        assert not [m for m in messages if m["author"] == "agent"]


async def test_wrong_role(world: World) -> None:
    """An agent gets 403 from every supervisor and admin endpoint, a supervisor from every admin one; the
    right role gets through (so the 403 is the role check, not a broken endpoint)."""
    server = world.server
    for method, path in routes_of(SUPERVISOR, ADMIN):
        r = await call(server, world.ana, method, path, world.ids())
        assert r.status_code == 403, (method, path, r.status_code, r.text)
        assert r.json()["error"]["code"] == "forbidden"
    for method, path in routes_of(ADMIN):
        r = await call(server, world.sue, method, path, world.ids())
        assert r.status_code == 403, (method, path, r.status_code, r.text)
    async with server.client(world.sue) as sup, server.client(world.adm) as adm:
        assert (await sup.get("/api/stats")).status_code == 200
        assert (await sup.patch(f"/api/agents/{world.ben_id}", json={"capacity": 2})).status_code == 200
        assert (await adm.get("/api/quarantine")).status_code == 200
        assert (await adm.get(f"/api/faq/{world.entry_id}")).status_code == 200
    async with server.client(world.adm) as api:  # the agent's and supervisor's calls changed nothing
        assert (await api.get("/api/canned")).json()["items"][0]["body"] == "Hello!"
        faq = (await api.get(f"/api/faq/{world.entry_id}")).json()
        assert faq["answer"] == "We open at 9."


async def test_ticket_scope(world: World) -> None:
    """Ben (queue tech) cannot read, change, answer, or download from Ana's `general` tickets, find them in
    a list, or hang an FAQ lesson on them: the same 404 as for a ticket that does not exist. Ana can."""
    server = world.server
    ids = world.ids()
    for method, path in routes_of(TICKET):
        r = await call(server, world.ben, method, path, ids)
        assert r.status_code == 404, (method, path, r.status_code, r.text)
        missing = {**ids, "ticket_id": "999999", "attachment_id": "0" * 32}
        r2 = await call(server, world.ben, method, path, missing)
        assert (r2.status_code, r2.json()["error"]["code"]) == (404, r.json()["error"]["code"])
    async with server.client(world.ben) as ben, server.client(world.ana) as ana:
        for tid in (world.ticket_id, world.chat_ticket_id):
            r = await ben.post(f"/api/tickets/{tid}/messages", json={"body": "hi", "internal": True})
            assert r.status_code == 404
            r = await ben.patch(f"/api/tickets/{tid}", json={"queue": "tech"})
            assert r.status_code == 404
            r = await ben.patch(f"/api/tickets/{tid}", json={"assignee_id": world.ben_id})
            assert r.status_code == 404
            r = await ben.post("/api/faq/learn", json={"question": "q?", "answer": "a.", "ticket_id": tid})
            assert r.status_code == 404, r.text
        for query in (
            "",
            "?queue=general",
            f"?customer={world.customer_id}",
            "?status=new,open",
            "?waiting=1",
        ):
            r = await ben.get("/api/tickets" + query)
            assert r.status_code in (200, 400) and not r.json().get("items"), (query, r.text)
        # Ana, in the queue, can
        r = await ana.get(f"/api/tickets/{world.ticket_id}")
        assert r.status_code == 200
        assert {t["id"] for t in (await ana.get("/api/tickets")).json()["items"]} == {
            world.ticket_id,
            world.chat_ticket_id,
        }
        r = await ana.get(f"/api/attachments/{world.attachment_id}")
        assert r.status_code == 200 and r.content == b"%PDF-1.4 secret"
        assert r.headers["content-disposition"].startswith("attachment;")
        assert r.headers["x-content-type-options"] == "nosniff"
    # nothing changed by Ben's attempts
    async with server.client(world.adm) as api:
        t = (await api.get(f"/api/tickets/{world.ticket_id}")).json()
        assert (t["queue"], t["assignee_id"]) == ("general", None)
        assert not [m for m in t["messages"] if m["author"] == "agent"]


async def test_assigned_ticket_follows_the_assignee(world: World) -> None:
    """An agent outside the queue sees a ticket once it is assigned to them, and no longer once it is not."""
    server = world.server
    async with server.client(world.sue) as sup, server.client(world.ben) as ben:
        r = await sup.patch(f"/api/tickets/{world.ticket_id}", json={"assignee_id": world.ben_id})
        assert r.status_code == 200, r.text
        assert (await ben.get(f"/api/tickets/{world.ticket_id}")).status_code == 200
        r = await sup.patch(f"/api/tickets/{world.ticket_id}", json={"assignee_id": None})
        assert r.status_code == 200, r.text
        assert (await ben.get(f"/api/tickets/{world.ticket_id}")).status_code == 404


async def test_twilio_webhooks_refuse_unsigned(database_url: str) -> None:
    """Every /twilio/* route answers 403 without a signature, or with a wrong one, and stores nothing."""
    from tests.support import make_settings, running

    settings = make_settings(database_url, twilio_account_sid="AC" + "1" * 32, twilio_auth_token=TWILIO_TOKEN)
    async with running(settings) as server, server.client() as c:
        form = {
            "From": "+14155550123",
            "To": "+15005550006",
            "Body": "hi",
            "MessageSid": "SM1",
            "CallSid": "CA1",
        }
        for method, path in routes_of(TWILIO):
            for headers in ({}, {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}):
                if method == "GET":
                    r = await c.get(path, params=form, headers=headers)
                else:
                    r = await c.post(path, data=form, headers=headers)
                assert r.status_code == 403, (method, path, headers, r.status_code, r.text)
        async with server.ctx.db.read() as s:
            from app.domain.models import Message

            assert (await s.execute(select(Message.id))).first() is None


async def test_revoked_and_stale_tokens(world: World) -> None:
    """A logged-out token, every token issued before a password change, and a switched-off agent's token
    all answer 401, even just after being remembered (app.actions.token_cache), and a socket open with the
    revoked token is closed (4401). tests/security/test_sessions.py covers the password changes in full."""
    server = world.server
    ws = await server.agent_socket(world.ana)
    async with server.client(world.ana) as ana:
        assert (await ana.post("/api/auth/logout")).status_code == 204
        assert (await ana.get("/api/me")).status_code == 401
    await asyncio.wait_for(ws.closed.wait(), 5)
    assert ws.conn.close_code == 4401
    ben_again, _ = await server.token("ben@example.com")
    for tok in (world.ben, ben_again):
        async with server.client(tok) as c:
            assert (await c.get("/api/me")).status_code == 200  # and remembered (app.actions.token_cache)
    async with server.client(world.adm) as adm:
        r = await adm.patch(f"/api/agents/{world.ben_id}", json={"password": "a-new-secret-456"})
        assert r.status_code == 200, r.text
    for tok in (world.ben, ben_again):
        async with server.client(tok) as c:
            assert (await c.get("/api/me")).status_code == 401
    adm2, _ = await server.token("adm@example.com")
    async with server.ctx.db.read() as s:
        sue_id = (await s.execute(select(Agent.id).where(Agent.email == "sue@example.com"))).scalar_one()
    async with server.client(world.sue) as c:
        assert (await c.get("/api/me")).status_code == 200
    async with server.client(world.adm) as adm:
        assert (await adm.patch(f"/api/agents/{sue_id}", json={"active": False})).status_code == 200
    async with server.client(world.sue) as c:
        assert (await c.get("/api/me")).status_code == 401
    async with server.client() as c:
        r = await c.post("/api/auth/token", json={"email": "sue@example.com", "password": "pw-secret-123"})
        assert r.status_code == 401
    async with server.client(adm2) as c:
        assert (await c.get("/api/me")).status_code == 200


# --- websockets --------------------------------------------------------------------------------------


async def test_agent_sockets_without_valid_auth(world: World) -> None:
    server = world.server
    for path in ("/ws/agent", "/ws/supervisor"):
        await refused(server, path, {"type": "status", "status": "available"}, 4401)
        await refused(server, path, {"type": "auth"}, 4401)
        await refused(server, path, {"type": "auth", "token": "made-up"}, 4401)
        await refused(server, path, {"type": "auth", "token": 12}, 4401)
        await refused(server, path, "not json", 4401)
    # a plain agent is refused the supervisor board, whose snapshots cover every queue
    ws = await refused(server, "/ws/supervisor", {"type": "auth", "token": world.ana}, 4403)
    assert ws.frames[-1]["code"] == "forbidden"
    sup = await WS.open(server.ws_base + "/ws/supervisor")
    await sup.send({"type": "auth", "token": world.sue})
    assert await sup.wait_for(lambda f: f.get("type") == "queues")
    await sup.close()
    # a revoked token opens nothing
    async with server.client(world.ben) as ben:
        assert (await ben.post("/api/auth/logout")).status_code == 204
    await refused(server, "/ws/agent", {"type": "auth", "token": world.ben}, 4401)


async def test_agent_socket_hears_only_its_queues(world: World) -> None:
    """Ben (tech) hears nothing of a conversation in `general`, cannot subscribe to it by viewing it, and
    does not see the customer typing; Ana (general) hears it all."""
    server = world.server
    ana = await server.agent_socket(world.ana, status="away")
    ben = await server.agent_socket(world.ben, status="away")
    await ben.send({"type": "viewing", "ticket_id": world.chat_ticket_id, "state": "viewing"})
    err = await ben.wait_for(lambda f: f.get("type") == "error")
    assert err and err["code"] == "not_found", ben.frames
    await ana.send({"type": "viewing", "ticket_id": world.chat_ticket_id, "state": "viewing"})
    assert await ana.wait_for(lambda f: f.get("type") == "ticket.viewing"), ana.frames
    await world.visitor.send({"type": "typing"})
    await world.visitor.send({"type": "message", "text": "are you there?", "client_id": "v2"})
    assert await world.visitor.wait_for(lambda f: f.get("type") == "ack" and f["client_id"] == "v2")
    other, _ = await server.widget(name="Walt")  # a new conversation in general
    await other.send({"type": "message", "text": "new here", "client_id": "w1"})
    assert await other.wait_for(lambda f: f.get("type") == "ack")
    async with server.client(world.ana) as api:
        r = await api.post(
            f"/api/tickets/{world.ticket_id}/messages", json={"body": "a note", "internal": True}
        )
        assert r.status_code == 201
    assert await ana.wait_for(lambda f: f.get("type") == "customer.typing")
    assert await ana.wait_for(
        lambda f: f.get("type") == "message.created" and f["data"].get("body") == "are you there?"
    )
    assert await ana.wait_for(lambda f: f.get("type") == "ticket.created")
    assert await ana.wait_for(
        lambda f: f.get("type") == "message.created" and f["data"].get("body") == "a note"
    )
    await asyncio.sleep(0.5)
    leaked = [f for f in ben.frames if isinstance(f.get("data"), dict) and "ticket_id" in f["data"]]
    assert not leaked, leaked
    assert not ben.of("customer.typing")
    assert not [f for f in ben.frames if "are you there" in str(f) or "a note" in str(f)]
    for ws in (ana, ben, other):
        await ws.close()


async def test_visitor_cannot_open_another_conversation(world: World) -> None:
    """A made-up token, another visitor's public visitor id, a conversation id, or the customer's name and
    email address all open a new, empty conversation: never Vera's."""
    server = world.server
    async with server.client(world.ana) as api:
        r = await api.post(
            f"/api/tickets/{world.chat_ticket_id}/messages", json={"body": "Hi Vera, agent here"}
        )
        assert r.status_code == 201, r.text
    assert await world.visitor.wait_for(lambda f: f.get("from") == "agent")
    async with server.client(world.adm) as api:
        customer = (await api.get(f"/api/customers/{world.customer_id}")).json()
        chat_customer = (await api.get(f"/api/tickets/{world.chat_ticket_id}")).json()["customer_id"]
        identities = (await api.get(f"/api/customers/{chat_customer}")).json()["identities"]
    visitor_id = next(i["address"] for i in identities if i["kind"] == "chat")
    attempts: list[dict[str, Any]] = [
        {"visitor_token": "made-up-token"},
        {"visitor_token": world.visitor_token[:-1] + ("A" if world.visitor_token[-1] != "A" else "B")},
        {"visitor_token": visitor_id},
        {"visitor_token": visitor_id, "name": "Vera", "last_seq": 0},
        {"conversation_id": world.chat_ticket_id, "ticket_id": world.chat_ticket_id},
        {"name": "Vera", "email": "vera@example.org"},
        {"name": customer["name"], "email": "carla@example.org"},  # the email ticket's customer
    ]
    for hello in attempts:
        ws, welcome = await server.widget(**hello)
        assert welcome["conversation_id"] is None, (hello, welcome)
        assert welcome["visitor_token"] != world.visitor_token
        await ws.send({"type": "ping"})
        assert await ws.wait_for(lambda f: f.get("type") == "pong")
        assert not ws.of("message"), (hello, ws.frames)
        await ws.close()
    # the real token resumes, with the whole conversation
    ws, welcome = await server.widget(visitor_token=world.visitor_token)
    assert welcome["conversation_id"] == world.chat_ticket_id
    assert await ws.wait_for(lambda f: f.get("from") == "agent")
    await ws.close()


async def test_customer_history_respects_ticket_scope(world: World) -> None:
    server = world.server
    async with server.client(world.ana) as ana:
        r = await ana.post(
            f"/api/tickets/{world.ticket_id}/messages",
            json={"body": "note: card ends 4242", "internal": True},
        )
        assert r.status_code == 201
    async with server.client(world.ben) as ben:
        assert (await ben.get(f"/api/tickets/{world.ticket_id}")).status_code == 404
        r = await ben.get(f"/api/customers/{world.customer_id}/history")
        assert r.status_code == 200
        texts = " ".join(str(i.get("text")) for i in r.json()["items"])
        tickets = {i.get("ticket_id") for i in r.json()["items"]}
    assert "card ends 4242" not in texts
    assert "attached invoice" not in texts
    assert world.ticket_id not in tickets
