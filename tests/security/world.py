"""The world the security tests attack: two queues, an agent in each, a supervisor, an admin, tickets, an
attachment, a canned response, an FAQ entry and a quarantined mail."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select

from app.domain.models import Attachment
from tests.support import WS, LiveServer


@dataclass
class World:
    """Two queues, an agent in each, a supervisor and an admin; a chat ticket and an email ticket (with an
    attachment) in `general`, Ana's queue; a canned response, an FAQ entry and a quarantined mail."""

    server: LiveServer
    ana: str  # agent, queue general
    ben: str  # agent, queue tech
    sue: str  # supervisor
    adm: str  # admin
    ana_id: int
    ben_id: int
    ticket_id: int  # the email ticket
    chat_ticket_id: int
    customer_id: int
    attachment_id: str
    canned_id: int
    entry_id: int
    quarantine_id: int
    visitor: WS
    visitor_token: str

    def ids(self) -> dict[str, str]:
        return {
            "ticket_id": str(self.ticket_id),
            "customer_id": str(self.customer_id),
            "agent_id": str(self.ben_id),
            "canned_id": str(self.canned_id),
            "entry_id": str(self.entry_id),
            "quarantine_id": str(self.quarantine_id),
            "attachment_id": self.attachment_id,
            "identity_id": "1",
            "key": "plan",
            "pair_id": "1",
            "merge_id": "1",
            "webhook_id": "1",
            "delivery_id": "1",
            "rule_id": "1",
            "calendar_id": "1",
            "queue": "general",
            "policy_id": "1",
            "reminder_id": "1",
            "token": "x" * 32,
        }


def mail_with_attachment() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Carla <carla@example.org>"
    msg["To"] = "support@example.com"
    msg["Subject"] = "my invoice"
    msg["Message-ID"] = "<authz-1@example.org>"
    msg.set_content("Please look at the attached invoice.")
    msg.add_attachment(b"%PDF-1.4 secret", maintype="application", subtype="pdf", filename="invoice.pdf")
    return msg.as_bytes()


async def build_world(server: LiveServer) -> World:
    ana_id = await server.add_agent("ana@example.com", "Ana", queues=["general"])
    ben_id = await server.add_agent("ben@example.com", "Ben", queues=["tech"])
    await server.add_agent("sue@example.com", "Sue", role="supervisor", queues=["general", "tech"])
    await server.add_agent("adm@example.com", "Adm", role="admin", queues=["general"])
    ana, _ = await server.token("ana@example.com")
    ben, _ = await server.token("ben@example.com")
    sue, _ = await server.token("sue@example.com")
    adm, _ = await server.token("adm@example.com")
    visitor, welcome = await server.widget(name="Vera")
    await visitor.send({"type": "message", "text": "hello, my order is late", "client_id": "v1"})
    assert await visitor.wait_for(lambda f: f.get("type") == "ack"), visitor.frames
    async with server.client(adm) as api:
        r = await api.post(
            "/api/email/inbound",
            content=mail_with_attachment(),
            headers={"Content-Type": "message/rfc822"},
        )
        assert r.status_code == 201, r.text
        ticket_id = r.json()["ticket_id"]
        r = await api.post(
            "/api/email/inbound",
            content=b"\x00\x01 not a mail at all",
            headers={"Content-Type": "message/rfc822"},
        )
        assert r.status_code == 201 and r.json()["quarantine_id"], r.text
        quarantine_id = r.json()["quarantine_id"]
        ticket = (await api.get(f"/api/tickets/{ticket_id}")).json()
        tickets = (await api.get("/api/tickets")).json()["items"]
        chat_ticket_id = next(t["id"] for t in tickets if t["channel"] == "chat")
        r = await api.post("/api/canned", json={"title": "Hi", "body": "Hello!", "shortcut": "hi"})
        assert r.status_code == 201, r.text
        canned_id = r.json()["id"]
        r = await api.post("/api/faq", json={"answer": "We open at 9.", "phrasings": ["When do you open?"]})
        assert r.status_code == 201, r.text
        entry_id = r.json()["id"]
    assert ticket["queue"] == "general"
    async with server.ctx.db.read() as s:
        attachment_id = (
            await s.execute(select(Attachment.id).where(Attachment.ticket_id == ticket_id))
        ).scalar_one()
    return World(
        server,
        ana,
        ben,
        sue,
        adm,
        ana_id,
        ben_id,
        ticket_id,
        chat_ticket_id,
        ticket["customer_id"],
        attachment_id,
        canned_id,
        entry_id,
        quarantine_id,
        visitor,
        welcome["visitor_token"],
    )


async def refused(server: LiveServer, path: str, first: Any, code: int) -> WS:
    ws = await WS.open(server.ws_base + path)
    if first is not None:
        await ws.send(first)
    await asyncio.wait_for(ws.closed.wait(), 15)
    assert ws.conn.close_code == code, (path, first, ws.conn.close_code, ws.frames)
    assert not any(f.get("type") in ("ready", "queues", "agents") for f in ws.frames), ws.frames
    return ws
