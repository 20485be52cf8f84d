"""Outgoing webhooks against a real receiver on loopback: events of the followed types arrive signed (the
receiver checks the HMAC over the raw body), a failing receiver is retried with backoff until it answers
2xx, and a receiver that never does ends as failed after the last try."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.actions import webhooks
from tests.integration.test_ticket_merge import mail, send
from tests.receiver import Receiver, until
from tests.support import LiveServer, make_settings, running


@pytest.fixture
async def live(database_url: str) -> AsyncIterator[LiveServer]:
    async with running(make_settings(database_url, webhook_retry_s=0.002)) as server:
        yield server


def verify(secret: str, raw: bytes, header: str) -> bool:
    parts = dict(p.split("=", 1) for p in header.split(","))
    mac = hmac.new(secret.encode(), f"{parts['t']}.".encode() + raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, parts["v1"])


async def test_events_arrive_signed_and_failures_are_retried(live: LiveServer, receiver: Receiver) -> None:
    await live.add_agent("adm@example.com", "Adm", role="admin")
    await live.add_agent("ana@example.com", "Ana")
    adm, _ = await live.token("adm@example.com")
    ana, _ = await live.token("ana@example.com")
    async with live.client(ana) as c:
        assert (await c.post("/api/webhooks", json={"url": receiver.url})).status_code == 403
    async with live.client(adm) as api:
        for bad in (
            {"url": "ftp://example.com/x"},
            {"url": "not a url"},
            {"url": receiver.url, "events": ["ticket.exploded"]},
            {"url": receiver.url, "colour": "red"},
        ):
            assert (await api.post("/api/webhooks", json=bad)).status_code == 400, bad
        r = await api.post("/api/webhooks", json={"url": receiver.url, "events": ["ticket.created"]})
        assert r.status_code == 201, r.text
        hook = r.json()
        assert len(hook["secret"]) == 64 and hook["events"] == ["ticket.created"]
        receiver.fail_with = [500, 503]  # the first two tries fail: the third gets through
        ticket_id = await send(api, mail("greta@lind.example", "parcel", "where is it?", 1))
        await until(lambda: receiver.got, "the delivery")
        [got] = receiver.got
        assert receiver.tries == 3
        assert got["body"]["type"] == "ticket.created" and got["body"]["data"]["ticket"]["id"] == ticket_id
        assert got["headers"]["X-Switchboard-Event"] == "ticket.created"
        assert got["headers"]["X-Switchboard-Delivery"] == str(got["body"]["id"])
        assert verify(hook["secret"], got["raw"], got["headers"]["X-Switchboard-Signature"])
        assert not verify("another secret", got["raw"], got["headers"]["X-Switchboard-Signature"])
        [d] = (await api.get(f"/api/webhooks/{hook['id']}/deliveries")).json()["items"]
        assert (d["status"], d["attempts"], d["last_status"]) == ("sent", 3, 200)
        # message events are not followed by this webhook: nothing more arrives for them
        assert all(x["body"]["type"] == "ticket.created" for x in receiver.got)

        # a ping, then a receiver that never answers 2xx: failed after the last try, and tried again on demand
        assert (await api.post(f"/api/webhooks/{hook['id']}/ping")).status_code == 202
        await until(lambda: len(receiver.got) == 2, "the ping")
        assert receiver.got[1]["body"]["type"] == "ping"
        receiver.fail_with = [500] * webhooks.MAX_ATTEMPTS
        await send(api, mail("bo@else.example", "hi", "hello", 2))

        async def failed() -> dict[str, Any] | None:
            items = (await api.get(f"/api/webhooks/{hook['id']}/deliveries")).json()["items"]
            return next((x for x in items if x["status"] == "failed"), None)

        for _ in range(400):
            gone = await failed()
            if gone:
                break
            await asyncio.sleep(0.05)
        assert gone and gone["attempts"] == webhooks.MAX_ATTEMPTS and gone["last_error"] == "HTTP 500"
        r = await api.post(f"/api/webhooks/{hook['id']}/deliveries/{gone['id']}/redeliver")
        assert r.status_code == 200 and r.json()["status"] == "pending"
        await until(lambda: len(receiver.got) == 3, "the redelivery")
        # switched off: nothing more is queued
        assert (await api.patch(f"/api/webhooks/{hook['id']}", json={"active": False})).json()[
            "active"
        ] is False
        await send(api, mail("cy@else.example", "hey", "hey", 3))
        await asyncio.sleep(0.5)
        assert len(receiver.got) == 3
        assert (await api.delete(f"/api/webhooks/{hook['id']}")).status_code == 204
        assert (await api.get("/api/webhooks")).json()["items"] == []


def test_backoff_grows_and_is_capped() -> None:
    assert [webhooks.backoff_s(n, 10) for n in (1, 2, 3)] == [10, 30, 90]
    assert webhooks.backoff_s(20, 10) == webhooks.BACKOFF_CAP_S
