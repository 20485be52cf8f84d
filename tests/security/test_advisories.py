"""Peer advisories (SECURITY.md lists them): each test shows Switchboard is not open the same way.

The authorization ones (another account's ids, the websocket path, the widget handing out a chat,
sessions after a password change) are in test_authz_matrix.py; these are the rest."""

from __future__ import annotations

import asyncio
import itertools
import re
from email.message import EmailMessage
from urllib.parse import quote

from sqlalchemy import func, select

from app.domain.models import Attachment, Message, Ticket
from tests.security.world import World, refused
from tests.support import WS, LiveServer

RFC822 = {"Content-Type": "message/rfc822"}
INJECTIONS = [
    "' OR '1'='1",
    "general' OR '1'='1' --",
    "1 OR 1=1",
    "1; DROP TABLE tickets; --",
    "open') OR ('1'='1",
    "new,open' UNION SELECT * FROM agents --",
    "%",
    "_",
    "\\",
    '"; SELECT pg_sleep(5); --',
    "1)) OR ((1=1",
    "\x00",
    "$ne",
    "[gt]=0",
]


async def test_sql_injection_through_filters(world: World) -> None:
    """Chatwoot CVE-2025-21628: SQL through filter operators. Every filter is a bound parameter or checked
    against a list: injected text is a 400 or matches nothing, never another queue's tickets, never a 500,
    and the tables are intact afterwards."""
    server = world.server
    async with server.client(world.ben) as ben, server.client(world.adm) as adm:
        for payload in INJECTIONS:
            for key in ("status", "queue", "assignee", "customer", "waiting", "limit"):
                r = await ben.get("/api/tickets", params={key: payload})
                assert r.status_code in (200, 400), (key, payload, r.status_code, r.text)
                if r.status_code == 200:
                    assert r.json()["items"] == [], (key, payload)
            for path in ("/api/customers", "/api/faq"):
                r = await ben.get(path, params={"q": payload})
                assert r.status_code in (200, 400), (path, payload, r.status_code)
            # a wildcard or quote is matched literally: no customer is called "%"
            if payload in ("%", "_", "' OR '1'='1"):
                assert (await ben.get("/api/customers", params={"q": payload})).json()["items"] == []
            r = await ben.get(f"/api/tickets/{quote(payload, safe='')}")
            assert r.status_code in (400, 404), (payload, r.status_code)
        items = (await adm.get("/api/tickets")).json()["items"]
        assert {t["id"] for t in items} == {world.ticket_id, world.chat_ticket_id}
    async with server.ctx.db.read() as s:
        assert (await s.execute(select(func.count()).select_from(Ticket))).scalar_one() == 2


async def test_stored_xss_through_mail_subject_and_body(world: World) -> None:
    """Zammad CVE-2018-1000154, FreeScout CVE-2026-32754: script in a mail's subject or HTML body. The API
    hands out text only (the sanitised HTML is kept for the record, never served); the console renders it as
    text under a CSP without inline script (tests/e2e/test_console.py::test_customer_markup_stays_text)."""
    server = world.server
    m = EmailMessage()
    m["From"] = "Mallory <mallory@example.org>"
    m["To"] = "support@example.com"
    m["Subject"] = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    m["Message-ID"] = "<xss-1@example.org>"
    m.set_content("plain part")
    m.add_alternative(
        '<p>Hi</p><script>alert(3)</script><img src=x onerror="alert(4)">'
        '<a href="javascript:alert(5)">click</a><iframe src="https://evil.example"></iframe>',
        subtype="html",
    )
    async with server.client(world.adm) as api:
        r = await api.post(
            "/api/email/inbound", content=m.as_bytes(), headers={"Content-Type": "message/rfc822"}
        )
        assert r.status_code == 201, r.text
        ticket = (await api.get(f"/api/tickets/{r.json()['ticket_id']}")).json()
        assert r.headers["content-type"].startswith("application/json")
    assert ticket["subject"] == '<img src=x onerror="alert(1)"><script>alert(2)</script>'  # data, as text
    first = ticket["messages"][0]
    assert set(first) >= {"body"} and "html" not in first
    async with server.ctx.db.read() as s:
        stored = await s.get(Message, first["id"])
        assert stored is not None
        html = (stored.meta or {}).get("html") or ""
    for bad in ("<script", "onerror", "javascript:", "<iframe"):
        assert bad not in html.lower(), html
    async with server.client() as c:
        for page in ("/console", "/console/supervisor", "/console/faq"):
            csp = (await c.get(page)).headers["content-security-policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp


async def test_upload_ids_are_not_guessable(world: World) -> None:
    """Zammad CVE-2024-33668: guessable attachment ids. Ids are 128 random bits (hex), checked against the
    ticket the caller may see, and served as a download that cannot run in the page."""
    server = world.server
    m = EmailMessage()
    m["From"] = "carla@example.org"
    m["Subject"] = "two files"
    m["Message-ID"] = "<att-2@example.org>"
    m.set_content("files")
    for i in range(3):
        m.add_attachment(f"file {i}".encode(), maintype="text", subtype="html", filename=f"f{i}.html")
    async with server.client(world.adm) as api:
        r = await api.post(
            "/api/email/inbound", content=m.as_bytes(), headers={"Content-Type": "message/rfc822"}
        )
        assert r.status_code == 201
    async with server.ctx.db.read() as s:
        ids = list((await s.execute(select(Attachment.id))).scalars())
    assert len(ids) == 4 and len(set(ids)) == 4
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids), ids
    ints = sorted(int(i, 16) for i in ids)
    assert min(b - a for a, b in itertools.pairwise(ints)) > 2**64  # not a counter
    async with server.client(world.ana) as ana, server.client(world.ben) as ben:
        for aid in ids:
            r = await ana.get(f"/api/attachments/{aid}")
            assert r.status_code == 200
            assert r.headers["content-type"] == "application/octet-stream"
            assert r.headers["content-disposition"].startswith("attachment;")
            assert "sandbox" in r.headers["content-security-policy"]
            assert (await ben.get(f"/api/attachments/{aid}")).status_code == 404
        neighbour = format(int(ids[0], 16) + 1, "032x")
        assert (await ana.get(f"/api/attachments/{neighbour}")).status_code == 404


async def test_tokens_never_travel_in_urls(world: World) -> None:
    """Tokens in URLs leak through logs and Referer: the API reads the bearer token from the header only,
    the sockets from their first frame only, and the pages send Referrer-Policy: no-referrer."""
    server = world.server
    async with server.client() as c:
        for name in ("token", "access_token", "auth", "bearer"):
            r = await c.get("/api/me", params={name: world.ana})
            assert r.status_code == 401, name
        for page in ("/console", "/console/supervisor", "/console/faq", "/demo", "/widget.js"):
            assert (await c.get(page)).headers["referrer-policy"] == "no-referrer", page
    # a token in the socket's URL opens nothing: the first frame must carry it
    for path in ("/ws/agent", "/ws/supervisor"):
        await refused(server, f"{path}?token={world.sue}", {"type": "status", "status": "away"}, 4401)
    ws = await WS.open(f"{server.ws_base}/ws/agent?token={world.ana}")
    await ws.send({"type": "ping"})
    await asyncio.wait_for(ws.closed.wait(), 15)
    assert ws.conn.close_code == 4401


async def test_login_does_not_tell_which_emails_exist(server: LiveServer) -> None:
    """Same answer for an unknown email as for a wrong password (argon2 runs either way)."""
    await server.add_agent("ana@example.com", "Ana")
    async with server.client() as c:
        wrong = await c.post("/api/auth/token", json={"email": "ana@example.com", "password": "wrong-pass"})
        unknown = await c.post("/api/auth/token", json={"email": "zed@example.com", "password": "wrong-pass"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
