"""Search (`GET /api/search`, `GET /api/customers?q=`) through the databases' own full-text indexes, on
SQLite (FTS5) and PostgreSQL (tsvector): customers by any part of their name (accents or not, the start of
a word), company, email and its parts, phone however written; tickets by subject and message text, notes
included, only those the caller may see; merged-away customers never; renamed, removed and erased text no
longer; hostile queries a 200 or a 400, never a 5xx."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

import httpx

from tests.support import LiveServer


def mail(sender: str, subject: str, text: str, n: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@example.com"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<search-{n}@example.org>"
    msg.set_content(text)
    return msg.as_bytes()


async def mail_in(api: httpx.AsyncClient, sender: str, subject: str, text: str, n: int) -> tuple[int, int]:
    """A mail in; (its ticket's id, its customer's id)."""
    r = await api.post(
        "/api/email/inbound",
        content=mail(sender, subject, text, n),
        headers={"Content-Type": "message/rfc822"},
    )
    assert r.status_code == 201, r.text
    tid = int(r.json()["ticket_id"])
    ticket = (await api.get(f"/api/tickets/{tid}")).json()
    return tid, int(ticket["customer_id"])


async def customer(
    api: httpx.AsyncClient, n: int, email: str, name: str, company: str = "", phone: str | None = None
) -> int:
    _, cid = await mail_in(api, email, f"hello {n}", "hello", n)
    r = await api.patch(f"/api/customers/{cid}", json={"name": name, "company": company})
    assert r.status_code == 200, r.text
    if phone:
        r = await api.post(f"/api/customers/{cid}/identities", json={"kind": "phone", "address": phone})
        assert r.status_code == 201, r.text
    return cid


async def found(api: httpx.AsyncClient, q: str) -> list[int]:
    """The customers a query finds, the same through both endpoints."""
    r = await api.get("/api/customers", params={"q": q})
    assert r.status_code == 200, (q, r.text)
    ids = [c["id"] for c in r.json()["items"]]
    r = await api.get("/api/search", params={"q": q})
    assert r.status_code == 200, (q, r.text)
    assert [c["id"] for c in r.json()["customers"]] == ids, q
    return ids


async def ticket_hits(api: httpx.AsyncClient, q: str, **params: Any) -> list[dict[str, Any]]:
    r = await api.get("/api/search", params={"q": q, **params})
    assert r.status_code == 200, (q, r.text)
    hits: list[dict[str, Any]] = r.json()["tickets"]
    return hits


async def test_customers_by_name_company_email_and_phone(server: LiveServer) -> None:
    await server.add_agent("ana@example.com", "Ana")
    ana, _ = await server.token("ana@example.com")
    async with server.client(ana) as api:
        asa = await customer(
            api, 1, "greta@lindqvist.example", "Åsa Lindqvist", "Nordvind Logistik", "+46 70 123 45 67"
        )
        bruno = await customer(api, 2, "bruno@acme.example", "Bruno Díaz", "Acme", "+1 415 555 0100")
        for q in (
            "asa",  # no accent
            "Åsa",
            "ÅSA",
            "lindqvist",  # last name
            "lindq",  # the start of a word
            "Åsa Lindq",
            "lindqvist asa",  # any order
            "nordvind",  # company
            "greta",  # the email's local part
            "lindqvist.example",  # its domain
            "greta@lindqvist.example",
            "GRETA@Lindqvist.Example",
            "greta@lindq",  # the start of an address
            "+46701234567",
            "+46 (70) 123-45-67",
            "0046 70 123 45 67",
            "46 70 123",  # the start of a number
        ):
            assert await found(api, q) == [asa], q
        for q in (
            "bruno",
            "diaz",
            "Díaz",
            "acme",
            "bruno@acme.example",
            "+1 (415) 555-0100",
            "001 415 5550100",
        ):
            assert await found(api, q) == [bruno], q
        assert await found(api, "example") == [bruno, asa]  # newest first
        for q in ("zebra", "asa bruno", "lindqvist.acme", "+46 70 999 99 99", "%", "_", "' OR 1=1 --"):
            assert await found(api, q) == [], q
        # no query: the newest customers, as before
        r = await api.get("/api/customers")
        assert [c["id"] for c in r.json()["items"]][:2] == [bruno, asa]
        view = (await api.get("/api/search", params={"q": "asa"})).json()["customers"][0]
        assert view["name"] == "Åsa Lindqvist" and view["phones"] == ["+46701234567"]


async def test_tickets_by_text_only_where_the_caller_may(server: LiveServer) -> None:
    await server.add_agent("ana@example.com", "Ana", queues=["general"])
    ben_id = await server.add_agent("ben@example.com", "Ben", queues=["billing"])
    await server.add_agent("sue@example.com", "Sue", role="supervisor", queues=["general"])
    ana, _ = await server.token("ana@example.com")
    ben, _ = await server.token("ben@example.com")
    sue, _ = await server.token("sue@example.com")
    async with server.client(ana) as a, server.client(ben) as b, server.client(sue) as s:
        long_text = (
            "Good morning. " * 30 + "The dishwasher makes a grinding noise at night. " + "Thanks. " * 30
        )
        noisy, _ = await mail_in(a, "Oda <oda@example.org>", "Noisy machine", long_text, 1)
        other, _ = await mail_in(
            a, "Per <per@example.org>", "Refund", "I want my money back, grinding teeth", 2
        )
        r = await a.post(
            f"/api/tickets/{noisy}/messages", json={"body": "escalate to Kjellberg", "internal": True}
        )
        assert r.status_code in (201, 202), r.text

        [hit] = await ticket_hits(a, "dishwasher")
        assert hit["ticket"]["id"] == noisy and hit["ticket"]["queue"] == "general"
        assert hit["ticket"]["subject"] == "Noisy machine" and hit["message_id"] is not None
        assert "grinding noise" in hit["snippet"] and len(hit["snippet"]) < 200
        assert hit["snippet"].startswith("…") and hit["snippet"].endswith("…")
        [note] = await ticket_hits(a, "kjellb")  # an internal note, the start of a word
        assert note["ticket"]["id"] == noisy and note["snippet"] == "escalate to Kjellberg"
        assert note["message_id"] != hit["message_id"]
        [subject] = await ticket_hits(a, "noisy")
        assert subject["ticket"]["id"] == noisy and subject["message_id"] is None
        assert subject["snippet"] == "Noisy machine"
        assert [h["ticket"]["id"] for h in await ticket_hits(a, "grinding")] == [other, noisy]
        assert [h["ticket"]["id"] for h in await ticket_hits(a, "grinding", limit=1)] == [other]
        assert await ticket_hits(a, "dishwasher refund") == []  # every word must match

        # Ben serves billing: neither ticket, by any word, exactly as GET /api/tickets
        for q in ("dishwasher", "kjellberg", "noisy", "grinding", "example"):
            assert await ticket_hits(b, q) == [], q
        assert (await b.get("/api/tickets")).json()["items"] == []
        # assigned to him, he finds it; moved to his queue, the other one too
        r = await s.patch(f"/api/tickets/{noisy}", json={"assignee_id": ben_id})
        assert r.status_code == 200, r.text
        assert [h["ticket"]["id"] for h in await ticket_hits(b, "grinding")] == [noisy]
        assert [h["ticket"]["id"] for h in await ticket_hits(b, "kjellberg")] == [noisy]
        r = await s.patch(f"/api/tickets/{other}", json={"queue": "billing"})
        assert r.status_code == 200, r.text
        assert [h["ticket"]["id"] for h in await ticket_hits(b, "grinding")] == [other, noisy]
        visible = {t["id"] for t in (await b.get("/api/tickets")).json()["items"]}
        assert visible == {noisy, other}
        # Ana still sees the one left in general (and the supervisor both)
        assert [h["ticket"]["id"] for h in await ticket_hits(a, "grinding")] == [noisy]
        assert [h["ticket"]["id"] for h in await ticket_hits(s, "grinding")] == [other, noisy]


async def test_chat_messages_are_found(server: LiveServer) -> None:
    await server.add_agent("ana@example.com", "Ana")
    ana, _ = await server.token("ana@example.com")
    ws, _ = await server.widget(name="Wanda")
    await ws.send({"type": "message", "text": "my parcel number is QX-77812", "client_id": "c1"})
    assert await ws.wait_for(lambda f: f.get("type") == "ack"), ws.frames
    await ws.close()
    async with server.client(ana) as api:
        [hit] = await ticket_hits(api, "qx 77812")
        assert hit["ticket"]["channel"] == "chat" and "QX-77812" in hit["snippet"]
        assert await found(api, "wanda") == [hit["ticket"]["customer_id"]]


async def test_merged_renamed_removed_and_erased_are_not_found(server: LiveServer) -> None:
    await server.add_agent("adm@example.com", "Adm", role="admin")
    adm, _ = await server.token("adm@example.com")
    async with server.client(adm) as api:
        carla = await customer(api, 1, "carla@mendes.example", "Carla Mendes")
        twin = await customer(api, 2, "c.mendes@work.example", "Carla M.")
        assert await found(api, "carla") == [twin, carla]
        r = await api.post(f"/api/customers/{carla}/merge", json={"other_id": twin})
        assert r.status_code == 200, r.text
        assert await found(api, "carla") == [carla]  # the merged-away one is gone
        assert await found(api, "c.mendes@work.example") == [carla]  # its address moved to the survivor
        assert await found(api, "work.example") == [carla]

        oskar = await customer(api, 3, "o@ekstrom.example", "Oskar Ekström", "Sågverket")
        r = await api.patch(f"/api/customers/{oskar}", json={"name": "Olle Berg", "company": "Bruket"})
        assert r.status_code == 200, r.text
        for q in ("oskar", "oskar ekstrom", "sagverket"):
            assert await found(api, q) == [], q
        assert await found(api, "olle berg") == [oskar]
        assert await found(api, "bruket") == [oskar]
        profile = (await api.get(f"/api/customers/{oskar}")).json()
        [identity] = profile["identities"]
        r = await api.delete(f"/api/customers/{oskar}/identities/{identity['id']}")
        assert r.status_code == 200, r.text
        assert await found(api, "ekstrom") == []

        tid, cid = await mail_in(api, "Lotta <lotta@secret.example>", "Pacemaker", "my pacemaker beeps", 4)
        assert await found(api, "lotta") == [cid]
        assert [h["ticket"]["id"] for h in await ticket_hits(api, "pacemaker")] == [tid]
        r = await api.post(f"/api/customers/{cid}/erase", json={"confirm": True})
        assert r.status_code == 200, r.text
        for q in ("lotta", "secret.example", "lotta@secret.example"):
            assert await found(api, q) == [], q
        for q in ("pacemaker", "beeps"):
            assert await ticket_hits(api, q) == [], q
        assert await found(api, f"erased customer {cid}") == [cid]


HOSTILE = [
    '"',
    '""',
    '"abc',
    "*",
    "a*",
    "*a",
    "NEAR(",
    "NEAR(a b, 2)",
    "a OR",
    "OR",
    "AND NOT",
    "-x",
    "x - y",
    "name:x",
    "a:b:c",
    "^a",
    "(a",
    "a)",
    "{a b}",
    "a & b | !c",
    "a <-> b",
    "'a':*",
    "\\",
    "%",
    "_",
    "'",
    "a\x00b",
    "\x00",
    "\x01\x02",
    "x" * 300,
    "a " * 150,
    "é" * 200,
    "\u0301",
    "𞤀𞤁",  # letters SQLite's tokenizer does not know
    "😀 ok",
    "' OR 1=1 --",
    "1; DROP TABLE messages; --",
]


async def test_hostile_queries_are_only_text(server: LiveServer) -> None:
    await server.add_agent("ana@example.com", "Ana")
    ana, _ = await server.token("ana@example.com")
    async with server.client(ana) as api:
        await mail_in(api, "Nea <nea@example.org>", "OR AND NOT", 'quote " star * near NEAR(a b) minus -x', 1)
        for q in HOSTILE:
            for path in ("/api/search", "/api/customers"):
                r = await api.get(path, params={"q": q})
                assert r.status_code in (200, 400), (path, q, r.status_code, r.text)
                assert ("error" in r.json()) == (r.status_code == 400), r.text
        # operators are words like any other
        assert len(await ticket_hits(api, "NEAR")) == 1
        assert len(await ticket_hits(api, "or and not")) == 1
        assert len(await ticket_hits(api, "-x")) == 1
        r = await api.get("/api/search", params={"q": "x" * 201})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid"
        for limit in ("0", "101", "x", "-1", "1.5", "٣"):
            r = await api.get("/api/search", params={"q": "nea", "limit": limit})
            assert r.status_code == 400, (limit, r.text)
        r = await api.get("/api/search", params={"q": ""})
        assert r.status_code == 200 and r.json() == {"customers": [], "tickets": []}
    async with server.client() as nobody:
        assert (await nobody.get("/api/search", params={"q": "nea"})).status_code == 401
