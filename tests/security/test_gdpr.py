"""A customer's own data: exported whole as JSON, and erased (the right to be forgotten): what identifies
them or was said goes, what happened stays countable, a redelivered mail does not bring the text back, and
both requests are on the audit log. Admins only."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from app.domain.models import Message
from tests.security.world import World, mail_with_attachment


async def test_export_then_erase_a_customer(world: World) -> None:
    server, cid = world.server, world.customer_id
    for token in (world.ana, world.sue):
        async with server.client(token) as c:
            assert (await c.get(f"/api/customers/{cid}/export")).status_code == 403
            assert (await c.post(f"/api/customers/{cid}/erase", json={"confirm": True})).status_code == 403
    async with server.client(world.adm) as adm:
        r = await adm.get(f"/api/customers/{cid}/export")
        assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
        doc = r.json()
        assert doc["customer"]["emails"] == ["carla@example.org"]
        [ticket] = doc["tickets"]
        assert ticket["id"] == world.ticket_id and ticket["subject"] == "my invoice"
        first = ticket["messages"][0]
        assert "attached invoice" in first["body"]
        assert [a["filename"] for a in first["attachments"]] == ["invoice.pdf"]
        assert any(line["kind"] == "ticket.created" for line in doc["timeline"])

        assert (await adm.post(f"/api/customers/{cid}/erase", json={})).status_code == 400
        r = await adm.post(f"/api/customers/{cid}/erase", json={"confirm": True})
        assert r.status_code == 200, r.text
        erased = r.json()["erased"]
        assert erased["customers"] == 1 and erased["tickets"] == 1 and erased["attachments"] == 1
        assert erased["identities"] >= 1 and erased["messages"] >= 1

        profile = (await adm.get(f"/api/customers/{cid}")).json()
        assert profile["name"] == f"Erased customer {cid}" and profile["identities"] == []
        t = (await adm.get(f"/api/tickets/{world.ticket_id}")).json()
        assert t["subject"] == "[erased]" and {m["body"] for m in t["messages"]} == {"[erased]"}
        assert (await adm.get(f"/api/attachments/{world.attachment_id}")).status_code == 404
        history = (await adm.get(f"/api/customers/{cid}/history")).json()["items"]
        assert history and all("invoice" not in (h.get("text") or "") for h in history)
        assert (await adm.get("/api/customers", params={"q": "carla"})).json()["items"] == []
        # the sending server delivers the same mail again: stored once already, it stays erased
        r = await adm.post(
            "/api/email/inbound", content=mail_with_attachment(), headers={"Content-Type": "message/rfc822"}
        )
        assert r.status_code in (200, 201), r.text
        async with server.ctx.db.read() as s:
            bodies = (
                await s.execute(select(Message.body).where(Message.body.contains("attached invoice")))
            ).all()
        assert bodies == []
        for _ in range(50):  # an entry is written just after its response
            log = (await adm.get("/api/audit", params={"limit": 500})).json()["items"]
            actions = {(x["action"], x["agent_email"], x["status"]) for x in log}
            if ("erase_customer", "adm@example.com", 200) in actions:
                break
            await asyncio.sleep(0.05)
    assert ("export_customer", "adm@example.com", 200) in actions
    assert ("erase_customer", "adm@example.com", 200) in actions
    assert ("erase_customer", "ana@example.com", 403) in actions
