"""The automation & settings page (`/admin`) in a real browser (headless Chromium driven by Playwright)
against a live server: an admin writes a rule (email tickets that mention a refund become urgent and tagged
billing), dry-runs it over the tickets there are, saves it, and the next refund mail is handled by it; a
rule without actions shows the server's message. A webhook is added (its secret shown, a ping delivered to
a receiver on loopback), a calendar is made and given to a queue, a choice attribute is defined. A
supervisor reads the rules without changing them; an agent is told the page is for admins."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, expect
from sqlalchemy import select

from app.domain.models import Queue
from tests.e2e.pages import PASSWORD, UI_TIMEOUT_MS, eventually, inbound
from tests.receiver import Receiver
from tests.support import LiveServer

pytestmark = [
    pytest.mark.e2e,
    # a browser test exercises the pages, not the database: SQLite is enough
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

TEST_BUDGET_S = 60
SCREENSHOT = "/tmp/switchboard-admin.png"
SCREENSHOT_RULE = "/tmp/switchboard-admin-rule.png"
DASH = "\u2013"  # the en dash the page writes spans with


class Tab:
    """One browser context and page; keeps uncaught page errors and console errors (CSP reports too)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("console", self._on_console)

    def _on_console(self, msg: ConsoleMessage) -> None:
        # a 4xx answer the page shows on purpose is logged by Chromium as a failed resource: not a fault
        if msg.type == "error" and "Failed to load resource" not in msg.text:
            self.errors.append(msg.text)


@pytest.fixture
async def tabs(browser: Browser) -> AsyncIterator[Callable[[], Awaitable[Tab]]]:
    expect.set_options(timeout=UI_TIMEOUT_MS)
    contexts: list[BrowserContext] = []

    async def make() -> Tab:
        context = await browser.new_context(viewport={"width": 1300, "height": 1000})
        context.set_default_timeout(UI_TIMEOUT_MS)
        contexts.append(context)
        return Tab(await context.new_page())

    try:
        yield make
    finally:
        for context in contexts:
            await context.close()


async def sign_in(server: LiveServer, page: Page, email: str) -> None:
    response = await page.goto(server.base + "/admin")
    assert response is not None and response.status == 200
    assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")
    await expect(page.get_by_role("heading", name="Sign in to automation & settings")).to_be_visible()
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_label("Password").press("Enter")
    await expect(page.locator("input[type=password]")).to_have_count(0)


async def test_admin_writes_a_rule_a_webhook_a_calendar_and_an_attribute(
    server: LiveServer, tabs: Any, receiver: Receiver
) -> None:
    async with asyncio.timeout(TEST_BUDGET_S):
        await server.add_agent("ada@example.com", "Ada Admin", role="admin")
        admin, _ = await server.token("ada@example.com")
        async with server.client(admin) as api:
            refund = await inbound(api, "rita@example.org", "Refund for order 42", "I want a refund, please.")
            other = await inbound(api, "olle@example.org", "Where is my parcel", "It has not come yet.")
            queues = [q["name"] for q in (await api.get("/api/queues")).json()["items"]]
        assert queues, "the server has no queue"

        tab = await tabs()
        page = tab.page
        await sign_in(server, page, "ada@example.com")
        await expect(page.get_by_role("heading", name="Rules")).to_be_visible()
        await expect(page.locator("#rules-empty")).to_have_text("No rules yet: add one with New rule.")

        # ---- a rule, written in the form
        await page.get_by_role("button", name="New rule").click()
        form = page.locator("#rule-form")
        await expect(page.locator("#rule-form").get_by_label("Name", exact=True)).to_be_focused()
        await page.locator("#rule-form").get_by_label("Name", exact=True).fill("Refunds are urgent")
        await expect(form.get_by_label("When")).to_have_value("ticket.created")
        await form.get_by_role("button", name="Add a condition").click()
        cond = form.locator("#rule-conditions > li")
        await expect(cond.nth(0).get_by_label("Condition field")).to_be_focused()
        await cond.nth(0).get_by_label("Condition field").select_option("channel")
        await cond.nth(0).get_by_label("Condition operator").select_option("is")
        await cond.nth(0).get_by_label("Condition: value").select_option("email")
        await form.get_by_role("button", name="Add a condition").click()
        await expect(cond.nth(1).get_by_label("Condition field")).to_have_value("text")
        await expect(cond.nth(1).get_by_label("Condition operator")).to_have_value("contains")
        await cond.nth(1).get_by_label("Condition: value").fill("refund")
        acts = form.locator("#rule-actions > li")
        await expect(acts).to_have_count(1)
        await acts.nth(0).get_by_label("Action", exact=True).select_option("set_priority")
        await acts.nth(0).get_by_label("Priority").select_option("urgent")
        await form.get_by_role("button", name="Add an action").click()
        await acts.nth(1).get_by_label("Action", exact=True).select_option("add_tags")
        await acts.nth(1).get_by_label("Tags, separated by commas").fill("billing")
        # the reply action offers its placeholders
        await acts.nth(1).get_by_label("Action", exact=True).select_option("reply")
        await expect(acts.nth(1).get_by_text("{{customer.first_name}}")).to_be_visible()
        await acts.nth(1).get_by_label("Action", exact=True).select_option("add_tags")
        await acts.nth(1).get_by_label("Tags, separated by commas").fill("billing")

        # ---- its dry run: two tickets checked, the refund one matches
        await form.get_by_role("button", name="Dry run").click()
        await expect(page.locator("#dry-summary")).to_have_text("Checked 2 tickets, 1 would match.")
        rows = page.locator("#dry-table tbody tr")
        await expect(rows).to_have_count(1)
        await expect(rows.nth(0)).to_have_attribute("data-ticket", str(refund))
        await expect(rows.nth(0)).to_contain_text("Refund for order 42")
        await expect(rows.nth(0)).to_contain_text("email")
        await expect(rows.nth(0)).to_contain_text("priority -> urgent")
        await expect(rows.nth(0)).to_contain_text("add tags billing")
        await expect(page.locator(f'#dry-table tr[data-ticket="{other}"]')).to_have_count(0)
        await form.screenshot(path=SCREENSHOT_RULE)

        await form.get_by_role("button", name="Save rule").click()
        await expect(form).to_be_hidden()
        item = page.locator("#rules-list > li")
        await expect(item).to_have_count(1)
        await expect(item).to_contain_text("Refunds are urgent")
        await expect(item).to_contain_text("When a ticket is created")
        await expect(item).to_contain_text("channel is “email”")
        await expect(item).to_contain_text("contains “refund”")
        await expect(item).to_contain_text("priority → urgent; add tags billing")
        await expect(item.get_by_role("checkbox", name="Active: Refunds are urgent")).to_be_checked()
        async with server.client(admin) as api:
            rules = (await api.get("/api/rules")).json()["items"]
            assert len(rules) == 1 and rules[0]["active"], rules
            assert rules[0]["conditions"] == [
                {"field": "channel", "op": "is", "value": "email"},
                {"field": "text", "op": "contains", "value": "refund"},
            ], rules
            assert rules[0]["actions"] == [
                {"type": "set_priority", "priority": "urgent"},
                {"type": "add_tags", "tags": ["billing"]},
            ], rules

            # ---- the next refund mail: the rule makes it urgent and tags it
            fresh = await inbound(api, "rolf@example.org", "Money back?", "Please refund my last invoice.")

            async def handled() -> bool:
                t = (await api.get(f"/api/tickets/{fresh}")).json()
                return bool(t["priority"] == "urgent" and "billing" in t["tags"])

            await eventually(handled, "the rule never handled the new refund mail")
            calm = (await api.get(f"/api/tickets/{other}")).json()
            assert calm["priority"] != "urgent" and "billing" not in calm["tags"], calm

        # ---- a rule without actions: the server's message, in the form
        await page.get_by_role("button", name="New rule").click()
        await page.locator("#rule-form").get_by_label("Name", exact=True).fill("Broken")
        await acts.nth(0).get_by_role("button", name="Remove this action").click()
        await expect(acts).to_have_count(0)
        await form.get_by_role("button", name="Save rule").click()
        async with server.client(admin) as api:
            r = await api.post(
                "/api/rules",
                json={"name": "Broken", "trigger": "ticket.created", "conditions": [], "actions": [],
                      "active": True, "position": 10},
            )  # fmt: skip
            assert r.status_code == 400, r.text
            message = r.json()["error"]["message"]
        alert = form.get_by_role("alert")
        await expect(alert).to_have_text(message)
        await expect(form).to_be_visible()
        await form.get_by_role("button", name="Cancel").click()
        await expect(item).to_have_count(1)

        # ---- a webhook: its secret is shown; a ping reaches the receiver and is listed as sent
        hooks = page.locator("#webhooks-panel")
        await hooks.get_by_label("URL").fill(receiver.url)
        await hooks.get_by_label("Description").fill("Billing system")
        await expect(hooks.get_by_label("All events")).to_be_checked()
        await hooks.get_by_role("button", name="Add webhook").click()
        hook = page.locator("#webhooks-list > li")
        await expect(hook).to_have_count(1)
        async with server.client(admin) as api:
            stored = (await api.get("/api/webhooks")).json()["items"]
        assert len(stored) == 1 and stored[0]["url"] == receiver.url and stored[0]["events"] == ["*"], stored
        await expect(hook.locator(".secret")).to_have_text(stored[0]["secret"])
        await expect(hook).to_contain_text("Events: all events")
        await hook.get_by_role("button", name="Hide").click()
        await expect(hook.locator(".secret")).not_to_contain_text(stored[0]["secret"][:8])
        await hook.get_by_role("button", name="Send ping").click()
        await expect(page.locator("#webhooks-flash")).to_contain_text("A ping is on its way")

        async def pinged() -> bool:
            return any(g["body"].get("type") == "ping" for g in receiver.got)

        await eventually(pinged, "the ping never reached the receiver")
        ping_row = hook.locator(".deliveries tbody tr", has_text="ping")
        for _ in range(40):
            await hook.get_by_role("button", name="Refresh").click()
            if await ping_row.filter(has_text="sent").count():
                break
            await asyncio.sleep(0.1)
        await expect(ping_row.filter(has_text="sent")).to_have_count(1)

        # ---- a calendar, given to a queue
        await page.get_by_role("button", name="New calendar").click()
        cal = page.locator("#calendar-form")
        await cal.get_by_label("Name").fill("Stockholm office")
        await cal.get_by_label("Time zone").fill("Europe/Stockholm")
        await expect(cal.get_by_label("Monday")).to_have_value(f"09:00{DASH}17:00")
        await cal.get_by_label("Monday").fill(f"08:00{DASH}12:00, 13:00-16:00")
        await cal.get_by_label("Friday").fill("")
        await cal.get_by_label("Date").fill("2030-12-24")
        await cal.get_by_role("button", name="Add holiday").click()
        await expect(cal.get_by_role("button", name="Remove holiday 2030-12-24")).to_be_visible()
        await cal.get_by_role("button", name="Save calendar").click()
        await expect(cal).to_be_hidden()
        await expect(page.locator("#calendars-list > li")).to_contain_text("Stockholm office")
        async with server.client(admin) as api:
            cals = (await api.get("/api/calendars")).json()["items"]
        assert len(cals) == 1, cals
        assert cals[0]["timezone"] == "Europe/Stockholm" and cals[0]["holidays"] == ["2030-12-24"], cals
        assert cals[0]["hours"]["mon"] == [["08:00", "12:00"], ["13:00", "16:00"]], cals
        assert "fri" not in cals[0]["hours"] and cals[0]["hours"]["tue"] == [["09:00", "17:00"]], cals

        queue = queues[0]
        await page.get_by_label(f"Calendar of queue {queue}").select_option(str(cals[0]["id"]))
        saved = page.locator("#queue-calendars tr", has_text=queue)
        await expect(saved).to_contain_text("Saved: Stockholm office.")
        async with server.ctx.db.read() as s:  # no API answers a queue's calendar: the database does
            row = (await s.execute(select(Queue.calendar_id).where(Queue.name == queue))).scalar_one()
        assert row == cals[0]["id"]

        # a bad time zone: the server's message
        await page.get_by_role("button", name="New calendar").click()
        await cal.get_by_label("Name").fill("Nowhere")
        await cal.get_by_label("Time zone").fill("Mars/Olympus")
        await cal.get_by_role("button", name="Save calendar").click()
        await expect(cal.get_by_role("alert")).to_have_text("unknown timezone 'Mars/Olympus'")
        await cal.get_by_role("button", name="Cancel").click()

        # ---- a choice attribute
        attrs = page.locator("#attribute-form")
        await attrs.get_by_label("Key").fill("plan")
        await attrs.get_by_label("Label").fill("Plan")
        await expect(attrs.get_by_label("Choices")).to_be_hidden()
        await attrs.get_by_label("Type").select_option("choice")
        await attrs.get_by_label("Choices").fill("Free, Pro, Enterprise")
        await attrs.get_by_role("button", name="Add attribute").click()
        attr_row = page.locator('#attributes-list tr[data-key="plan"]')
        await expect(attr_row).to_contain_text("Free, Pro, Enterprise")
        await attr_row.get_by_role("button", name="Edit attribute plan").click()
        await attr_row.get_by_label("Label of plan").fill("Price plan")
        await attr_row.get_by_role("button", name="Save").click()
        await expect(attr_row).to_contain_text("Price plan")
        async with server.client(admin) as api:
            defs = (await api.get("/api/customer-attributes")).json()["items"]
        assert defs == [
            {"key": "plan", "label": "Price plan", "type": "choice", "choices": ["Free", "Pro", "Enterprise"]}
        ], defs

        await page.screenshot(path=SCREENSHOT, full_page=True)
        assert tab.errors == [], tab.errors


async def test_supervisor_reads_and_agent_is_refused(server: LiveServer, tabs: Any) -> None:
    async with asyncio.timeout(TEST_BUDGET_S):
        await server.add_agent("ada@example.com", "Ada Admin", role="admin")
        await server.add_agent("sam@example.com", "Sam Super", role="supervisor")
        await server.add_agent("ana@example.com", "Ana Agent")
        admin, _ = await server.token("ada@example.com")
        async with server.client(admin) as api:
            r = await api.post(
                "/api/rules",
                json={"name": "<b>VIP</b> first", "trigger": "ticket.created",
                      "conditions": [{"field": "customer_tag", "op": "has", "value": "vip"}],
                      "actions": [{"type": "set_priority", "priority": "high"}]},
            )  # fmt: skip
            assert r.status_code == 201, r.text

        tab = await tabs()
        page = tab.page
        await sign_in(server, page, "sam@example.com")
        await expect(page.locator("#readonly-note")).to_be_visible()
        item = page.locator("#rules-list > li")
        await expect(item).to_contain_text("<b>VIP</b> first")  # the server's text stays text
        await expect(item).to_contain_text("customer tag has “vip”")
        await expect(page.get_by_role("button", name="New rule")).to_be_hidden()
        await expect(item.get_by_role("checkbox")).to_be_disabled()
        await item.get_by_role("button", name="View rule <b>VIP</b> first").click()
        await expect(page.locator("#rule-form").get_by_label("Name", exact=True)).to_be_disabled()
        await expect(page.locator("#rule-form").get_by_role("button", name="Save rule")).to_be_hidden()
        await expect(page.locator("#webhooks-denied")).to_have_text("Webhooks are for admins only.")
        await expect(page.get_by_role("button", name="New calendar")).to_be_hidden()
        assert tab.errors == [], tab.errors

        other = await tabs()
        await sign_in(server, other.page, "ana@example.com")
        await expect(other.page.get_by_role("heading", name="Admins only")).to_be_visible()
        await expect(other.page.locator("#admin")).to_be_hidden()
        await other.page.get_by_role("button", name="Sign out").click()
        await expect(other.page.get_by_role("heading", name=re.compile("^Sign in to auto"))).to_be_visible()
        assert other.errors == [], other.errors
