"""SLA timers, a pending ticket's wake-up time and reminders to the customer, in the agent console, in a real
browser (headless Chromium driven by Playwright) against a live server; each change is checked through the
API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.pages import Tab, eventually, inbound, open_tab, sign_in
from tests.support import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

TEST_BUDGET_S = 60


@pytest.fixture
async def tab(browser: Browser) -> AsyncIterator[Tab]:
    async with open_tab(browser, height=1500) as t:
        yield t


async def test_sla_timers_wake_up_time_and_reminders(server: LiveServer, tab: Tab) -> None:
    async with asyncio.timeout(TEST_BUDGET_S):
        await server.add_agent("ada@example.com", "Ada Admin", role="admin")
        await server.add_agent("ana@example.com", "Ana Lopez")
        admin, _ = await server.token("ada@example.com")
        token, _ = await server.token("ana@example.com")
        async with server.client(admin) as api:
            always = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
            cal = (await api.post("/api/calendars", json={"name": "Always", "hours": always})).json()
            await api.put("/api/queues/general/calendar", json={"calendar_id": cal["id"]})
            r = await api.post(
                "/api/sla-policies",
                json={"queue": "general", "first_response_minutes": 30, "resolution_minutes": 480},
            )
            assert r.status_code == 201, r.text
        async with server.client(token) as api:
            tid = await inbound(api, "Maria Svensson <maria@customer.example>", "Invoice", "When is it due?")
            cid = (await api.get(f"/api/tickets/{tid}")).json()["customer_id"]

            page = tab.page
            await sign_in(server, page, "ana@example.com", f"/console#/tickets/{tid}")
            timers = page.get_by_role("list", name="SLA targets")
            await expect(timers).to_contain_text("First reply due in 29m")
            await expect(timers).to_contain_text("Resolution due in 7h")

            # pending: the wake-up field appears; a time set there reaches the ticket
            wake = page.get_by_label("Pending until")
            await expect(wake).to_be_hidden()
            await page.get_by_label("Status").select_option("pending")
            await expect(wake).to_be_visible()
            await wake.fill("2027-05-06T07:30")
            expected = await page.evaluate("new Date('2027-05-06T07:30').toISOString()")

            async def woken_at() -> bool:
                t = (await api.get(f"/api/tickets/{tid}")).json()
                return bool(t["pending_until"]) and datetime.fromisoformat(
                    t["pending_until"]
                ) == datetime.fromisoformat(expected.replace("Z", "+00:00"))

            await eventually(woken_at, "the wake-up time reaches the ticket")

            # a reminder to the customer, then cancelled
            box = page.get_by_role("region", name="Reminders")
            await box.get_by_label("Kind").select_option("payment")
            await box.get_by_label("Channel").select_option("email")
            await box.get_by_label("When").fill("2027-05-01T09:00")
            await box.get_by_label("Reminder text").fill("Your invoice 7 is due on Friday.")
            await box.get_by_role("button", name="Schedule reminder").click()
            await expect(box.get_by_role("listitem")).to_contain_text("Scheduled")

            async def scheduled() -> bool:
                items = (await api.get(f"/api/customers/{cid}/reminders")).json()["items"]
                return [(i["status"], i["body"], i["channel"], i["ticket_id"]) for i in items] == [
                    ("scheduled", "Your invoice 7 is due on Friday.", "email", tid)
                ]

            await eventually(scheduled, "the reminder is scheduled")
            await box.get_by_role("button", name="Cancel the payment reminder").click()
            await expect(box.get_by_role("listitem")).to_contain_text("Cancelled")

            async def cancelled() -> bool:
                items = (await api.get(f"/api/customers/{cid}/reminders")).json()["items"]
                return [i["status"] for i in items] == ["cancelled"]

            await eventually(cancelled, "the reminder is cancelled")
        assert not tab.errors, tab.errors
