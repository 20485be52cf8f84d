"""Ticket merge and split in the agent console, in a real browser (headless Chromium driven by Playwright)
against a live server: a customer's second mail opened a second ticket; the agent merges it into the first
from the "Merge…" menu (which offers only that customer's other open tickets), the first thread then holds
both mails and the second ticket says where it went; then a message is split off into a ticket of its
own. Each step is checked through the API."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.pages import Tab, inbound, open_tab, sign_in
from tests.support import LiveServer

pytestmark = [
    pytest.mark.e2e,
    # a browser test exercises the pages, not the database: SQLite is enough
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

TEST_BUDGET_S = 60


@pytest.fixture
async def tab(browser: Browser) -> AsyncIterator[Tab]:
    async with open_tab(browser, height=1000) as t:
        yield t


SCREENSHOT = "/tmp/switchboard-ticket-merge.png"
INVOICE = "My invoice shows the wrong amount."
SCREENSHOT_MENU = "/tmp/switchboard-ticket-merge-menu.png"
SCREENSHOT_MERGED = "/tmp/switchboard-ticket-merged-away.png"


async def test_merge_two_tickets_then_split_a_message_off(server: LiveServer, tab: Tab) -> None:
    async with asyncio.timeout(TEST_BUDGET_S):
        await server.add_agent("ana@example.com", "Ana Lopez", queues=["general"])
        token, _ = await server.token("ana@example.com")
        async with server.client(token) as api:
            first = await inbound(api, "greta@lind.example", "Parcel late", "Where is my parcel?")
            second = await inbound(api, "greta@lind.example", "Invoice wrong", INVOICE)
            stranger = await inbound(api, "bo@else.example", "Hello", "Just saying hello.")
            one = (await api.get(f"/api/tickets/{first}")).json()
            two = (await api.get(f"/api/tickets/{second}")).json()
            assert one["customer_id"] == two["customer_id"], (one, two)
            customer = one["customer_id"]

        page = tab.page
        await sign_in(server, page, "ana@example.com")
        await expect(page.locator("#admin-link")).to_have_count(0)  # an agent: no link to the admin page

        await page.goto(server.base + f"/console#/tickets/{first}")
        thread = page.get_by_role("log", name="Conversation")
        await expect(thread).to_contain_text("Where is my parcel?")
        await expect(thread).not_to_contain_text("wrong amount")

        # ---- merge: the menu offers the customer's other open ticket, not another customer's
        await page.get_by_role("button", name="Merge…").click()
        menu = page.get_by_role("dialog", name="Merge a ticket into this one")
        await expect(menu).to_be_visible()
        option = menu.locator(f'.merge-opt[data-ticket="{second}"]')
        await expect(option).to_contain_text("Invoice wrong")
        await expect(option).to_be_focused()
        await expect(menu.locator(f'.merge-opt[data-ticket="{stranger}"]')).to_have_count(0)
        await expect(menu.locator(".merge-opt")).to_have_count(1)
        await page.screenshot(path=SCREENSHOT_MENU)
        await option.click()
        merged_toast = page.locator("#toasts .toast", has_text=f"Ticket #{second} merged into this one")
        await expect(merged_toast).to_be_visible()
        await expect(menu).to_be_hidden()
        await expect(thread).to_contain_text("Where is my parcel?")
        await expect(thread).to_contain_text("My invoice shows the wrong amount.")
        assert any(d.startswith(f"confirm: Merge ticket #{second}") for d in tab.dialogs), tab.dialogs

        async with server.client(token) as api:
            gone = (await api.get(f"/api/tickets/{second}")).json()
            assert gone["status"] == "closed" and "merged" in gone["tags"], gone
            assert gone["merged_into"] == first, gone
            kept = (await api.get(f"/api/tickets/{first}")).json()
            bodies = [m["body"].strip() for m in kept["messages"] if m["author"] == "customer"]
            assert bodies == ["Where is my parcel?", "My invoice shows the wrong amount."], kept["messages"]
            invoice = next(m for m in kept["messages"] if "invoice" in m["body"])

        # ---- the ticket merged away says where it went, with a link there
        await page.goto(server.base + f"/console#/tickets/{second}")
        banner = page.locator(".merged-banner")
        await expect(banner).to_be_visible()
        await expect(banner).to_contain_text(f"Merged into #{first}")
        await expect(page.get_by_role("button", name="Merge…")).to_be_hidden()
        await page.screenshot(path=SCREENSHOT_MERGED)
        await banner.get_by_role("link", name=f"#{first}").click()
        await expect(page).to_have_url(re.compile(rf"#/tickets/{first}$"))
        await expect(page.locator("#ticket-subject")).to_have_text("Parcel late")
        await expect(thread).to_contain_text("My invoice shows the wrong amount.")

        # ---- split: the invoice mail becomes a ticket of its own
        row = thread.locator(f'li.msg[data-id="{invoice["id"]}"]')
        await row.hover()
        split = row.get_by_role("button", name=re.compile("^Split into new ticket"))
        await expect(split).to_be_visible()
        await split.click()
        notice = page.locator(".split-notice")
        await expect(notice).to_be_visible()
        await expect(notice).to_contain_text("The message is now ticket #")
        await expect(thread).not_to_contain_text("wrong amount")
        await expect(thread).to_contain_text("Where is my parcel?")
        asked = [d for d in tab.dialogs if d.startswith("confirm: Split this message into a new ticket?")]
        assert asked, tab.dialogs

        async with server.client(token) as api:
            tickets = (await api.get(f"/api/tickets?customer={customer}")).json()["items"]
            new = [t for t in tickets if t["id"] not in (first, second)]
            assert len(new) == 1, tickets
            split_off = (await api.get(f"/api/tickets/{new[0]['id']}")).json()
            assert split_off["status"] == "new" and split_off["channel"] == "email", split_off
            assert [m["body"].strip() for m in split_off["messages"]] == [INVOICE], split_off["messages"]
            rest = (await api.get(f"/api/tickets/{first}")).json()
            assert all("invoice" not in m["body"] for m in rest["messages"]), rest["messages"]

        # the notice's link opens the new ticket
        await notice.get_by_role("link", name=f"#{split_off['id']}").click()
        await expect(page.locator("#ticket-subject")).to_have_text("My invoice shows the wrong amount.")
        await expect(thread).to_contain_text("My invoice shows the wrong amount.")

        await page.screenshot(path=SCREENSHOT)
        assert tab.errors == [], tab.errors


async def test_merge_refused_shows_the_server_message(server: LiveServer, tab: Tab) -> None:
    """The server refuses a merge (here: the other ticket was merged meanwhile by someone else)."""
    async with asyncio.timeout(TEST_BUDGET_S):
        await server.add_agent("ana@example.com", "Ana Lopez", queues=["general"])
        await server.add_agent("ada@example.com", "Ada Admin", role="admin", queues=["general"])
        token, _ = await server.token("ana@example.com")
        async with server.client(token) as api:
            first = await inbound(api, "greta@lind.example", "Parcel late", "Where is my parcel?")
            second = await inbound(api, "greta@lind.example", "Invoice wrong", "My invoice is wrong.")
            third = await inbound(api, "greta@lind.example", "Address", "Please change my address.")

        page = tab.page
        await sign_in(server, page, "ada@example.com", f"/console#/tickets/{first}")
        # an admin: a link to the admin page in the top bar
        await expect(page.locator("#admin-link")).to_have_attribute("href", "/admin")
        thread = page.get_by_role("log", name="Conversation")
        await expect(thread).to_contain_text("Where is my parcel?")
        await page.get_by_role("button", name="Merge…").click()
        menu = page.get_by_role("dialog", name="Merge a ticket into this one")
        await expect(menu.locator(".merge-opt")).to_have_count(2)
        async with server.client(token) as api:  # meanwhile, another agent merges the second elsewhere
            r = await api.post(f"/api/tickets/{third}/merge", json={"other_id": second})
            assert r.status_code == 200, r.text
            r = await api.post(f"/api/tickets/{first}/merge", json={"other_id": second})
            assert r.status_code == 400, r.text
            message = r.json()["error"]["message"]
        await menu.locator(f'.merge-opt[data-ticket="{second}"]').click()
        await expect(menu.get_by_role("alert")).to_have_text("Not merged: " + message)
        await page.keyboard.press("Escape")
        await expect(menu).to_be_hidden()
        await expect(page.get_by_role("button", name="Merge…")).to_be_focused()
        await expect(thread).not_to_contain_text("invoice")
        assert tab.errors == [], tab.errors
