"""The audit log: who read or changed what. Every login (failed ones with the address tried), every look
at one customer's data, every change, by whom, from where, with what answer; polling is not recorded, a
command's changes are; only admins read the log."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.security.world import World


async def _log(world: World, **params: Any) -> list[dict[str, Any]]:
    async with world.server.client(world.adm) as c:
        r = await c.get("/api/audit", params=params)
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items


async def _until(world: World, pred: Any) -> list[dict[str, Any]]:
    """The log once it shows what pred looks for (entries are written just after each response)."""
    for _ in range(50):
        items = await _log(world, limit=500)
        if pred(items):
            return items
        await asyncio.sleep(0.05)
    raise AssertionError(items[:10])


async def test_reads_changes_and_logins_are_recorded_with_who_and_what(world: World) -> None:
    server = world.server
    async with server.client() as c:
        r = await c.post("/api/auth/token", json={"email": "ana@example.com", "password": "not-her-password"})
        assert r.status_code == 401
    async with server.client(world.ana) as ana:
        assert (await ana.get(f"/api/tickets/{world.ticket_id}")).status_code == 200
        assert (await ana.get(f"/api/customers/{world.customer_id}/history")).status_code == 200
        assert (await ana.get("/api/customers", params={"q": "carla"})).status_code == 200
        assert (
            await ana.patch(f"/api/tickets/{world.ticket_id}", json={"priority": "high"})
        ).status_code == 200
        assert (await ana.get("/api/queues")).status_code == 200  # polling: not recorded
        assert (await ana.get(f"/api/tickets/{world.ticket_id + 999}")).status_code == 404  # recorded, 404
    ana_id = world.ana_id
    wanted = [
        ("get_ticket", 200),
        ("history", 200),
        ("search", 200),
        ("patch_ticket", 200),
        ("get_ticket", 404),
    ]

    def recorded(xs: list[dict[str, Any]]) -> list[tuple[str, int]]:
        """Ana's entries since her login (each is written just after its response, so not always in order)."""
        return sorted(
            (x["action"], x["status"]) for x in xs if x["agent_id"] == ana_id and x["action"] != "login"
        )

    items = await _until(world, lambda xs: recorded(xs) == sorted(wanted))
    mine = [x for x in items if x["agent_id"] == ana_id]
    read = next(x for x in mine if x["action"] == "get_ticket" and x["status"] == 200)
    assert read["agent_email"] == "ana@example.com" and read["method"] == "GET"
    assert read["path"] == f"/api/tickets/{world.ticket_id}" and read["client"] == "127.0.0.1"
    assert read["detail"]["params"] == {"ticket_id": str(world.ticket_id)}
    assert next(x for x in mine if x["action"] == "search")["detail"]["query"] == "q=carla"
    assert not any(x["action"] == "queues" for x in items)
    failed = next(x for x in items if x["action"] == "login.failed")
    assert failed["agent_id"] is None and failed["detail"]["email"] == "ana@example.com"
    assert failed["status"] == 401
    # filters, and paging back
    only = await _log(world, agent_id=ana_id, action="get_ticket")
    assert only and {(x["agent_id"], x["action"]) for x in only} == {(ana_id, "get_ticket")}
    older = await _log(world, before=only[0]["id"], agent_id=ana_id, action="get_ticket")
    assert [x["id"] for x in older] == [x["id"] for x in only[1:]]


async def test_only_admins_read_the_log_and_their_reading_is_recorded(world: World) -> None:
    for token in (world.ana, world.sue):
        async with world.server.client(token) as c:
            assert (await c.get("/api/audit")).status_code == 403
    async with world.server.client(world.adm) as c:
        assert (await c.get("/api/audit", params={"limit": 501})).status_code == 400
    items = await _until(world, lambda xs: sum(x["action"] == "list_audit" for x in xs) >= 2)
    assert {x["status"] for x in items if x["action"] == "list_audit"} >= {403, 400}
