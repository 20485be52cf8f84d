"""The customer profile an agent keeps: company, tags, typed attributes admins define, consent flags, notes,
addresses added by hand; every change on the timeline, every bad value a 400 that stores nothing."""

from __future__ import annotations

from email.message import EmailMessage

import httpx

from app.actions.profile import typed_address
from tests.support import LiveServer


def mail(sender: str, text: str, n: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@example.com"
    msg["Subject"] = f"question {n}"
    msg["Message-ID"] = f"<profile-{n}@example.org>"
    msg.set_content(text)
    return msg.as_bytes()


async def customer_by_mail(api: httpx.AsyncClient, sender: str, n: int) -> int:
    r = await api.post(
        "/api/email/inbound", content=mail(sender, "hello", n), headers={"Content-Type": "message/rfc822"}
    )
    assert r.status_code == 201, r.text
    ticket = (await api.get(f"/api/tickets/{r.json()['ticket_id']}")).json()
    return int(ticket["customer_id"])


async def admin_and_agent(server: LiveServer) -> tuple[str, str, int]:
    """Tokens of an admin and of Ana, an agent, and Ana's id."""
    await server.add_agent("adm@example.com", "Adm", role="admin")
    await server.add_agent("ana@example.com", "Ana")
    adm, _ = await server.token("adm@example.com")
    ana, ana_id = await server.token("ana@example.com")
    return adm, ana, ana_id


async def test_attributes_are_defined_by_admins_and_typed(server: LiveServer) -> None:
    adm, ana, _ = await admin_and_agent(server)
    async with server.client(ana) as c:
        r = await c.post("/api/customer-attributes", json={"key": "plan", "type": "text"})
        assert r.status_code == 403
    async with server.client(adm) as c:
        for bad in (
            {"key": "Plan", "type": "text"},
            {"key": "plan", "type": "colour"},
            {"key": "plan", "type": "choice"},
            {"key": "plan", "type": "choice", "choices": []},
            {"key": "plan", "type": "text", "extra": 1},
        ):
            r = await c.post("/api/customer-attributes", json=bad)
            assert r.status_code == 400, (bad, r.text)
        defs = [
            {"key": "plan", "label": "Plan", "type": "choice", "choices": ["free", "pro", "pro"]},
            {"key": "seats", "label": "Seats", "type": "number"},
            {"key": "renewal", "label": "Renews on", "type": "date"},
            {"key": "account_manager", "label": "Account manager", "type": "text"},
        ]
        for d in defs:
            r = await c.post("/api/customer-attributes", json=d)
            assert r.status_code == 201, r.text
        assert r.json() == {
            "key": "account_manager",
            "label": "Account manager",
            "type": "text",
            "choices": [],
        }
        assert (await c.post("/api/customer-attributes", json=defs[1])).status_code == 409
        r = await c.patch("/api/customer-attributes/plan", json={"choices": ["free", "pro", "enterprise"]})
        assert r.status_code == 200 and r.json()["choices"] == ["free", "pro", "enterprise"]
        assert (await c.patch("/api/customer-attributes/seats", json={"choices": ["1"]})).status_code == 400
        assert (await c.patch("/api/customer-attributes/nope", json={"label": "x"})).status_code == 404
    async with server.client(ana) as c:
        items = (await c.get("/api/customer-attributes")).json()["items"]
        assert [d["key"] for d in items] == ["plan", "seats", "renewal", "account_manager"]
        assert items[0]["choices"] == ["free", "pro", "enterprise"]


async def test_an_agent_keeps_the_profile(server: LiveServer) -> None:
    adm, ana, ana_id = await admin_and_agent(server)
    async with server.client(adm) as c:
        for d in (
            {"key": "plan", "type": "choice", "choices": ["free", "pro"]},
            {"key": "seats", "type": "number"},
            {"key": "renewal", "type": "date"},
        ):
            assert (await c.post("/api/customer-attributes", json=d)).status_code == 201
        cid = await customer_by_mail(c, "Greta Lind <greta@lind.example>", 1)
    async with server.client(ana) as c:
        before = (await c.get(f"/api/customers/{cid}")).json()
        assert before["company"] == "" and before["tags"] == [] and before["attributes"] == {}
        assert before["sms_opt_out"] is False and before["email_unsubscribed"] is False
        # each bad value is refused, and nothing of the request is stored
        for bad in (
            {"attributes": {"plan": "gold"}},
            {"attributes": {"seats": "12"}},
            {"attributes": {"seats": True}},
            {"attributes": {"renewal": "31/12/2027"}},
            {"attributes": {"renewal": "2027-02-30"}},
            {"attributes": {"colour": "red"}},
            {"attributes": ["plan"]},
            {"company": "Acme", "tags": "vip"},
            {"name": ""},
            {"company": "x" * 201},
            {"email_unsubscribed": "yes"},
            {"merged_into": 3},
        ):
            r = await c.patch(f"/api/customers/{cid}", json=bad)
            assert r.status_code == 400, (bad, r.text)
        assert (await c.get(f"/api/customers/{cid}")).json()["company"] == ""
        r = await c.patch(
            f"/api/customers/{cid}",
            json={
                "name": "Greta  Lindqvist",
                "company": "Acme AB",
                "tags": ["vip", "beta", "vip"],
                "attributes": {"plan": "pro", "seats": 12, "renewal": "2027-03-01"},
                "email_unsubscribed": True,
            },
        )
        assert r.status_code == 200, r.text
        p = r.json()
        assert p["name"] == "Greta Lindqvist" and p["company"] == "Acme AB" and p["tags"] == ["beta", "vip"]
        assert p["attributes"] == {"plan": "pro", "seats": 12, "renewal": "2027-03-01"}
        assert p["email_unsubscribed"] is True and p["updated_at"]
        # attributes change key by key; null removes one
        r = await c.patch(f"/api/customers/{cid}", json={"attributes": {"seats": 15.5, "renewal": None}})
        assert r.json()["attributes"] == {"plan": "pro", "seats": 15.5}
        # notes: newest first, on the timeline, never on a ticket
        assert (await c.post(f"/api/customers/{cid}/notes", json={"text": "  "})).status_code == 400
        for text in ("prefers email", "renewal call booked"):
            r = await c.post(f"/api/customers/{cid}/notes", json={"text": text})
            assert r.status_code == 201 and r.json()["agent_id"] == ana_id
        notes = (await c.get(f"/api/customers/{cid}/notes")).json()["items"]
        assert [n["text"] for n in notes] == ["renewal call booked", "prefers email"]
        timeline = (await c.get(f"/api/customers/{cid}/history")).json()["items"]
        lines = [(h["kind"], h["text"]) for h in timeline if h["ticket_id"] is None]
        assert ("consent", "unsubscribed from email (set by an agent)") in lines
        profile_lines = [t for k, t in lines if k == "profile"]
        assert any("company '' -> 'Acme AB'" in t and "plan = pro" in t for t in profile_lines), lines
        assert any("seats = 15.5" in t and "renewal removed" in t for t in profile_lines), lines
        assert [t for k, t in lines if k == "note"] == ["prefers email", "renewal call booked"]
        # the profile is in the customer's export
        async with server.client(adm) as a:
            doc = (await a.get(f"/api/customers/{cid}/export")).json()
        assert doc["customer"]["company"] == "Acme AB" and doc["customer"]["attributes"]["plan"] == "pro"
        assert {"prefers email", "renewal call booked"} <= {x["text"] for x in doc["timeline"]}


async def test_addresses_added_by_hand(server: LiveServer) -> None:
    await server.add_agent("ana@example.com", "Ana")
    ana, _ = await server.token("ana@example.com")
    async with server.client(ana) as c:
        greta = await customer_by_mail(c, "greta@lind.example", 1)
        other = await customer_by_mail(c, "g.lind@work.example", 2)
        for bad in (
            {"kind": "chat", "address": "abc"},
            {"kind": "email", "address": "not an address"},
            {"kind": "phone", "address": "070 123 45 67"},  # no country code, no SWITCHBOARD_PHONE_REGION
            {"kind": "phone", "address": "call me"},
        ):
            r = await c.post(f"/api/customers/{greta}/identities", json=bad)
            assert r.status_code == 400, (bad, r.text)
        r = await c.post(
            f"/api/customers/{greta}/identities", json={"kind": "phone", "address": "+46 (70) 123-45-67"}
        )
        assert r.status_code == 201, r.text
        assert r.json()["phones"] == ["+46701234567"]
        found = (await c.get("/api/customers", params={"q": "0046 70 123 45 67"})).json()["items"]
        assert [x["id"] for x in found] == [greta]
        # another customer's address: refused with who holds it, a duplicate to merge
        r = await c.post(
            f"/api/customers/{other}/identities", json={"kind": "email", "address": "Greta@Lind.example"}
        )
        assert r.status_code == 409 and r.json()["error"]["code"] == "identity_taken", r.text
        assert f"customer {greta}" in r.json()["error"]["message"]
        profile = (await c.get(f"/api/customers/{greta}")).json()
        phone = next(i for i in profile["identities"] if i["kind"] == "phone")
        r = await c.delete(f"/api/customers/{other}/identities/{phone['id']}")
        assert r.status_code == 404
        r = await c.delete(f"/api/customers/{greta}/identities/{phone['id']}")
        assert r.status_code == 200 and r.json()["phones"] == []
        timeline = (await c.get(f"/api/customers/{greta}/history")).json()["items"]
        assert [h["text"] for h in timeline if h["kind"] == "identity"] == [
            "phone +46701234567 added",
            "phone +46701234567 removed",
        ]


def test_a_local_number_needs_the_region() -> None:
    assert typed_address("phone", "070-123 45 67", "SE") == ("phone", "+46701234567")
    assert typed_address("phone", "+1 (415) 555-0100", "SE") == ("phone", "+14155550100")
    assert typed_address("email", " Ana@Example.COM ", "") == ("email", "ana@example.com")
