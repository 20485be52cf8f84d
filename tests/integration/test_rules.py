"""Automation rules: admins write them as data; on a new or changed ticket the matching ones act (queue,
priority, tags, assignment, a reply through the ticket's channel, a webhook); a rule's own changes do not
set rules off again; a dry run shows what a rule would do to past tickets and changes nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.integration.test_ticket_merge import mail, send
from tests.receiver import Receiver, until
from tests.support import LiveServer

REFUNDS: dict[str, Any] = {
    "name": "Refunds to billing",
    "trigger": "ticket.created",
    "conditions": [
        {"field": "channel", "op": "is", "value": "email"},
        {"field": "text", "op": "contains_any", "value": ["refund", "chargeback"]},
    ],
    "actions": [
        {"type": "set_priority", "priority": "urgent"},
        {"type": "add_tags", "tags": ["billing"]},
        {"type": "set_queue", "queue": "billing"},
        {"type": "reply", "body": "Hi {{customer.first_name}}, billing has your refund request."},
    ],
}
ESCALATE: dict[str, Any] = {
    "name": "Urgent tickets are escalated",
    "trigger": "ticket.updated",
    "conditions": [
        {"field": "priority", "op": "is", "value": "urgent"},
        {"field": "ticket_tag", "op": "has_not", "value": "escalated"},
    ],
    "actions": [{"type": "add_tags", "tags": ["escalated"]}],
}
# not idempotent: were a rule's own update to set rules off again, this would reply to its own reply forever
ON_IT: dict[str, Any] = {
    "name": "Billing says it is on it",
    "trigger": "ticket.updated",
    "conditions": [{"field": "ticket_tag", "op": "has", "value": "billing"}],
    "actions": [{"type": "reply", "body": "We are on it."}],
}


async def ticket(api: httpx.AsyncClient, tid: int) -> dict[str, Any]:
    return dict((await api.get(f"/api/tickets/{tid}")).json())


async def rule_lines(api: httpx.AsyncClient, customer_id: int, tid: int) -> list[str]:
    items = (await api.get(f"/api/customers/{customer_id}/history")).json()["items"]
    return [h["text"] for h in items if h["kind"] == "rule" and h["ticket_id"] == tid]


async def test_rules_act_on_new_and_changed_tickets(server: LiveServer, receiver: Receiver) -> None:
    await server.add_agent("adm@example.com", "Adm", role="admin", queues=["general"])
    ana_id = await server.add_agent("ana@example.com", "Ana", queues=["billing"])
    adm, _ = await server.token("adm@example.com")
    ana, _ = await server.token("ana@example.com")
    async with server.client(ana) as agent:
        assert (await agent.post("/api/rules", json=REFUNDS)).status_code == 403
        assert (await agent.get("/api/rules")).status_code == 403
    async with server.client(adm) as api:
        for bad in (
            {**REFUNDS, "trigger": "ticket.deleted"},
            {**REFUNDS, "actions": []},
            {**REFUNDS, "actions": [{"type": "set_queue", "queue": "nowhere"}]},
            {**REFUNDS, "actions": [{"type": "assign", "agent_id": 999}]},
            {**REFUNDS, "conditions": [{"field": "channel", "op": "is", "value": "fax"}]},
            {**REFUNDS, "conditions": [{"field": "mood", "op": "is", "value": "angry"}]},
            {**REFUNDS, "conditions": [{"field": "text", "op": "is", "value": "x"}]},
        ):
            r = await api.post("/api/rules", json=bad)
            assert r.status_code == 400 and r.json()["error"]["code"] == "bad_rule", (bad, r.text)
        hook = (
            await api.post("/api/webhooks", json={"url": receiver.url, "events": ["ticket.assigned"]})
        ).json()
        refunds = {**REFUNDS, "actions": [*REFUNDS["actions"], {"type": "webhook", "webhook_id": hook["id"]}]}
        r = await api.post("/api/rules", json=refunds)
        assert r.status_code == 201, r.text
        for rule in (ESCALATE, ON_IT):
            assert (await api.post("/api/rules", json=rule)).status_code == 201

        quiet = await send(api, mail("Bo <bo@else.example>", "hello", "just saying hi", 1))
        loud = await send(api, mail("Greta Lind <greta@lind.example>", "money", "I want a REFUND now", 2))
        for _ in range(100):
            if (await ticket(api, loud))["queue"] == "billing":
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # the bot's handoff (an update) may come before or after the rule
        t = await ticket(api, loud)
        assert (t["queue"], t["priority"]) == ("billing", "urgent") and "billing" in t["tags"]
        system = [m["body"] for m in t["messages"] if m["author"] == "system" and not m["internal"]]
        assert system[0] == "Hi Greta, billing has your refund request."
        q = await ticket(api, quiet)
        assert (q["queue"], q["priority"], q["tags"]) == ("general", "normal", [])
        # the rule's webhook action: a rule.matched delivery, whatever events the webhook follows
        await until(lambda: receiver.got, "the rule's webhook")
        body = receiver.got[0]["body"]
        assert body["type"] == "rule.matched" and body["data"]["rule_name"] == "Refunds to billing"
        assert body["data"]["ticket"]["id"] == loud and body["data"]["ticket"]["queue"] == "billing"
        before = [m for m in t["messages"] if m["body"] == "We are on it."]
        assert len(before) <= 1  # from the handoff, if it came after the rule; a loop would have sent dozens
    async with server.client(ana) as agent:  # one change by an agent: the update rules act once
        r = await agent.patch(f"/api/tickets/{loud}", json={"assignee_id": ana_id})
        assert r.status_code == 200, r.text
        for _ in range(100):
            t = await ticket(agent, loud)
            if "escalated" in t["tags"] and len(
                [m for m in t["messages"] if m["body"] == "We are on it."]
            ) > len(before):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        t = await ticket(agent, loud)
        assert t["tags"] == ["billing", "escalated"]
        assert len([m for m in t["messages"] if m["body"] == "We are on it."]) == len(before) + 1
        lines = [x.split(":")[0] for x in await rule_lines(agent, t["customer_id"], loud)]
        assert (
            lines.count("rule 'Refunds to billing'") == 1
            and lines.count("rule 'Urgent tickets are escalated'") == 1
        )


async def test_dry_run_changes_nothing(server: LiveServer) -> None:
    await server.add_agent("adm@example.com", "Adm", role="admin", queues=["general", "billing"])
    adm, _ = await server.token("adm@example.com")
    async with server.client(adm) as api:
        ids = [
            await send(api, mail(f"c{n}@example.org", subject, text, n))
            for n, (subject, text) in enumerate(
                [("hi", "hello"), ("money", "a refund please"), ("card", "chargeback coming"), ("x", "y")]
            )
        ]
        r = await api.post("/api/rules/dry-run", json={"rule": REFUNDS, "limit": 10})
        assert r.status_code == 200, r.text
        result = r.json()
        assert result["checked"] == 4
        assert sorted(m["ticket_id"] for m in result["matched"]) == sorted([ids[1], ids[2]])
        assert result["matched"][0]["would"][0] == "priority -> urgent"
        for tid in ids:  # nothing changed
            t = await ticket(api, tid)
            assert (t["priority"], t["queue"], t["tags"]) == ("normal", "general", [])
        assert (await api.post("/api/rules/dry-run", json={"rule": {"name": "x"}})).status_code == 400
        assert (await api.post("/api/rules/dry-run", json={"rule_id": 999})).status_code == 404
        assert (await api.post("/api/rules/dry-run", json={"rule": REFUNDS, "limit": 0})).status_code == 400
        # business hours: a calendar that is never open
        r = await api.post(
            "/api/calendars", json={"name": "Closed", "timezone": "Europe/Stockholm", "hours": {}}
        )
        assert r.status_code == 201, r.text
        closed = r.json()["id"]
        assert (
            await api.put("/api/queues/general/calendar", json={"calendar_id": closed})
        ).status_code == 200
        in_hours = {**REFUNDS, "conditions": [{"field": "business_hours", "op": "is", "value": True}]}
        after_hours = {**REFUNDS, "conditions": [{"field": "business_hours", "op": "is", "value": False}]}
        assert (await api.post("/api/rules/dry-run", json={"rule": in_hours})).json()["matched"] == []
        assert len((await api.post("/api/rules/dry-run", json={"rule": after_hours})).json()["matched"]) == 4
        assert (
            await api.put("/api/queues/nowhere/calendar", json={"calendar_id": closed})
        ).status_code == 404
        r = await api.post("/api/calendars", json={"name": "Bad", "hours": {"mon": [["17:00", "09:00"]]}})
        assert r.status_code == 400
        assert (await api.delete(f"/api/calendars/{closed}")).status_code == 204
        assert (await api.get("/api/calendars")).json()["items"] == []
