"""Likely duplicates, found as new addresses arrive and by a scan of the whole base, listed with their
reasons; merged, and the merge undone: what moved goes back, the pair is not suggested again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.actions import inbound
from tests.integration.test_customer_profile import customer_by_mail
from tests.support import LiveServer, make_settings, running, sms_text


@pytest.fixture
async def live(database_url: str) -> AsyncIterator[LiveServer]:
    async with running(make_settings(database_url, duplicate_check_s=0.1)) as server:
        yield server


async def eventually_pairs(api: httpx.AsyncClient, want: int, **params: Any) -> list[dict[str, Any]]:
    for _ in range(100):
        items: list[dict[str, Any]] = (await api.get("/api/duplicates", params=params)).json()["items"]
        if len(items) >= want:
            return items
        await asyncio.sleep(0.05)
    raise AssertionError(f"wanted {want} pairs, have {items}")


async def test_new_addresses_are_checked_and_listed_with_reasons(live: LiveServer) -> None:
    await live.add_agent("ana@example.com", "Ana")
    ana, _ = await live.token("ana@example.com")
    async with live.client(ana) as api:
        greta = await customer_by_mail(api, "Greta Lind <greta@lind.example>", 1)
        await asyncio.sleep(0.3)  # the watch has noted where the base stands
        other = await customer_by_mail(api, "G. Lind <Greta+Orders@Lind.example>", 2)
        stranger = await customer_by_mail(api, "Bo <bo@elsewhere.example>", 3)
        [pair] = await eventually_pairs(api, 1)
        assert {pair["a"]["id"], pair["b"]["id"]} == {greta, other} and pair["status"] == "open"
        email = next(r for r in pair["reasons"] if r["kind"] == "email")
        assert "greta@lind.example" in email["detail"]
        found = (await api.get(f"/api/customers/{greta}/duplicates")).json()["items"]
        assert [d["customer"]["id"] for d in found] == [other] and found[0]["score"] > 0.9
        assert (await api.get(f"/api/customers/{stranger}/duplicates")).json()["items"] == []
        # dismissed: listed no more, not suggested again, not even by a scan
        assert (await api.post(f"/api/duplicates/{pair['id']}/dismiss")).status_code == 200
        assert (await api.get("/api/duplicates")).json()["items"] == []
        assert (await api.get(f"/api/customers/{greta}/duplicates")).json()["items"] == []
        dismissed = (await api.get("/api/duplicates", params={"status": "dismissed"})).json()["items"]
        assert [p["id"] for p in dismissed] == [pair["id"]]
        assert (await api.post("/api/duplicates/999999/dismiss")).status_code == 404
        assert (await api.get("/api/duplicates", params={"status": "maybe"})).status_code == 400


async def test_a_scan_finds_similar_names_at_one_company(live: LiveServer) -> None:
    await live.add_agent("sue@example.com", "Sue", role="supervisor")
    await live.add_agent("ana@example.com", "Ana")
    sue, _ = await live.token("sue@example.com")
    ana, _ = await live.token("ana@example.com")
    async with live.client(sue) as api:
        a = await customer_by_mail(api, "a@one.example", 1)
        b = await customer_by_mail(api, "b@two.example", 2)
        c = await customer_by_mail(api, "c@three.example", 3)
        d = await customer_by_mail(api, "d@four.example", 4)
        for cid, name, company in (
            (a, "Åsa Lindqvist", "Acme AB"),
            (b, "Lindqvist, Asa", "ACME"),  # swapped, accent dropped, the company written another way
            (c, "Åsa Lindqvist", "Globex"),  # the same name elsewhere: another person
            (d, "Bertil Lindqvist", "Acme AB"),  # a colleague
        ):
            r = await api.patch(f"/api/customers/{cid}", json={"name": name, "company": company})
            assert r.status_code == 200, r.text
        async with live.client(ana) as agent:
            assert (await agent.post("/api/duplicates/scan")).status_code == 403
        r = await api.post("/api/duplicates/scan")
        assert r.status_code == 200, r.text
        # (the watch may have kept the pair already: the addresses came just before the names)
        assert r.json()["customers"] == 4 and r.json()["found"] == 1 and r.json()["open"] == 1
        [pair] = (await api.get("/api/duplicates")).json()["items"]
        assert {pair["a"]["id"], pair["b"]["id"]} == {a, b}
        assert [x["kind"] for x in pair["reasons"]] == ["name"] and "company" in pair["reasons"][0]["detail"]
        assert (await api.post("/api/duplicates/scan")).json()["new"] == 0  # kept once


async def test_merge_and_undo(live: LiveServer) -> None:
    await live.add_agent("ana@example.com", "Ana")
    ana, ana_id = await live.token("ana@example.com")
    async with live.client(ana) as api:
        greta = await customer_by_mail(api, "Greta <greta@lind.example>", 1)
        sms = await inbound.receive_inbound(live.ctx, sms_text(1, "+46701234567", "Greta here"))
        other = sms.customer_id
        await api.patch(f"/api/customers/{greta}", json={"tags": ["vip"]})
        await api.patch(f"/api/customers/{other}", json={"company": "Acme AB", "tags": ["sms"]})
        r = await api.post(f"/api/customers/{greta}/merge", json={"other_id": other})
        assert r.status_code == 200, r.text
        merged = r.json()
        merge_id = merged["merge_id"]
        assert merged["phones"] == ["+46701234567"] and merged["company"] == "Acme AB"
        assert merged["tags"] == ["sms", "vip"]
        tickets = (await api.get("/api/tickets", params={"customer": greta})).json()["items"]
        assert sms.ticket_id in {t["id"] for t in tickets}
        # a text after the merge reaches the survivor
        later = await inbound.receive_inbound(live.ctx, sms_text(2, "+46701234567", "still waiting"))
        assert later.customer_id == greta and later.ticket_id == sms.ticket_id
        merges = (await api.get(f"/api/customers/{greta}/merges")).json()["items"]
        assert [(m["id"], m["other_id"], m["agent_id"], m["undone_at"]) for m in merges] == [
            (merge_id, other, ana_id, None)
        ]
        assert merges[0]["moved"]["tickets"] == 1 and merges[0]["moved"]["identities"] == 1

        r = await api.post(f"/api/merges/{merge_id}/undo")
        assert r.status_code == 200, r.text
        survivor, restored = r.json()["survivor"], r.json()["restored"]
        assert survivor["phones"] == [] and survivor["company"] == "" and survivor["tags"] == ["vip"]
        assert restored["id"] == other and restored["merged_into"] is None
        assert restored["phones"] == ["+46701234567"] and restored["tags"] == ["sms"]
        assert (await api.get(f"/api/customers/{other}")).status_code == 200
        mine = {t["id"] for t in (await api.get("/api/tickets", params={"customer": other})).json()["items"]}
        assert mine == {sms.ticket_id}
        # texts go to the restored customer again
        again = await inbound.receive_inbound(live.ctx, sms_text(3, "+46701234567", "hello?"))
        assert again.customer_id == other
        history = (await api.get(f"/api/customers/{other}/history")).json()["items"]
        assert any(h["kind"] == "unmerge" for h in history)
        assert "Greta here" in {h["text"] for h in history}
        assert (await api.post(f"/api/merges/{merge_id}/undo")).json()["error"]["code"] == "already_undone"
        assert (await api.post("/api/merges/424242/undo")).status_code == 404
        # undone: the two are known not to be one person
        assert (await api.get(f"/api/customers/{greta}/duplicates")).json()["items"] == []


async def test_an_undo_waits_for_a_later_merge_of_the_survivor(live: LiveServer) -> None:
    await live.add_agent("ana@example.com", "Ana")
    ana, _ = await live.token("ana@example.com")
    async with live.client(ana) as api:
        a, b, c = [await customer_by_mail(api, f"p{n}@example.org", n) for n in (1, 2, 3)]
        first = (await api.post(f"/api/customers/{b}/merge", json={"other_id": a})).json()["merge_id"]
        second = (await api.post(f"/api/customers/{c}/merge", json={"other_id": b})).json()["merge_id"]
        r = await api.post(f"/api/merges/{first}/undo")
        assert r.status_code == 409 and r.json()["error"]["code"] == "merged_since"
        assert (await api.post(f"/api/merges/{second}/undo")).status_code == 200
        r = await api.post(f"/api/merges/{first}/undo")
        assert r.status_code == 200, r.text
        for cid, email in ((a, "p1@example.org"), (b, "p2@example.org"), (c, "p3@example.org")):
            profile = (await api.get(f"/api/customers/{cid}")).json()
            assert profile["merged_into"] is None and profile["emails"] == [email]
