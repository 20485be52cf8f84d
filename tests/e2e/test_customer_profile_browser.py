"""The customer profile in the agent console's right-hand pane, in a real browser (headless Chromium driven
by Playwright) against a live server: name and company, tags, the attributes an admin defines (a choice and
a date), consent, notes and an address added by hand, each checked through the API and again after a
reload; a bad address shows the server's message and stores nothing. Then the duplicates: a second customer
with the same phone written another way is offered as a possible duplicate with its reason, merging it in
moves its ticket here, and Undo gives it back."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, expect

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
    async with open_tab(browser, height=1500) as t:
        yield t


SCREENSHOT = "/tmp/switchboard-customer-profile.png"
SCREENSHOT_DUPLICATES = "/tmp/switchboard-customer-duplicates.png"


async def customer_mail(api: httpx.AsyncClient, sender: str, subject: str) -> dict[str, Any]:
    """A customer's mail through the relay endpoint: its ticket, with the customer's id."""
    ticket_id = await inbound(api, sender, subject, "Hello, " + subject.lower() + ".")
    ticket = (await api.get(f"/api/tickets/{ticket_id}")).json()
    assert ticket["customer_id"], ticket
    return ticket


def toast(page: Page, text: str) -> Locator:
    return page.locator("#toasts .toast", has_text=text)


async def setup(server: LiveServer) -> tuple[str, str]:
    """An admin who defines two attributes, and an agent of the general queue: their tokens."""
    await server.add_agent("ada@example.com", "Ada Admin", role="admin")
    await server.add_agent("ana@example.com", "Ana Lopez")
    admin, _ = await server.token("ada@example.com")
    agent, _ = await server.token("ana@example.com")
    async with server.client(admin) as api:
        for definition in (
            {"key": "plan", "label": "Plan", "type": "choice", "choices": ["Free", "Pro", "Enterprise"]},
            {"key": "renewal", "label": "Renewal date", "type": "date"},
        ):
            r = await api.post("/api/customer-attributes", json=definition)
            assert r.status_code == 201, r.text
    return admin, agent


async def test_profile_edits_reach_the_api_and_survive_a_reload(server: LiveServer, tab: Tab) -> None:
    async with asyncio.timeout(TEST_BUDGET_S):
        _admin, token = await setup(server)
        async with server.client(token) as api:
            ticket = await customer_mail(api, "Maria Svensson <maria@customer.example>", "Invoice question")
        cid = ticket["customer_id"]

        page = tab.page
        await sign_in(server, page, "ana@example.com", f"/console#/tickets/{ticket['id']}")
        aside = page.get_by_role("complementary")
        await expect(aside.get_by_role("heading", level=2)).to_have_text("Maria Svensson")
        await expect(aside.get_by_role("region", name="Channels")).to_contain_text("maria@customer.example")

        # name and company: an Edit form; an empty name is refused with the server's words, nothing stored
        await aside.get_by_role("button", name="Edit name and company").click()
        form = aside.get_by_role("form", name="Edit name and company")
        await expect(form.get_by_label("Name")).to_be_focused()
        await form.get_by_label("Name").fill("  ")
        await form.get_by_label("Company").fill("Acme AB")
        await form.get_by_role("button", name="Save").click()
        await expect(form.get_by_role("alert")).to_have_text("Not saved: name cannot be empty")
        async with server.client(token) as api:
            assert (await api.get(f"/api/customers/{cid}")).json()["company"] == ""
        await form.get_by_label("Name").fill("Maria Svensson")
        await form.get_by_role("button", name="Save").click()
        await expect(form).to_have_count(0)
        await expect(aside.locator(".cust-company")).to_have_text("Acme AB")
        await expect(aside.get_by_role("button", name="Edit name and company")).to_be_focused()

        # a tag, by keyboard
        await aside.get_by_role("textbox", name="Add a customer tag").fill("VIP")
        await aside.get_by_role("textbox", name="Add a customer tag").press("Enter")
        await expect(aside.get_by_role("button", name="Remove customer tag vip")).to_be_visible()
        await expect(toast(page, "Customer tag vip added")).to_be_visible()

        # the attributes the admin defined: a select and a date input
        await expect(aside.get_by_label("Plan")).to_have_value("")
        await expect(aside.get_by_label("Plan").locator("option")).to_have_text(
            ["—", "Free", "Pro", "Enterprise"]
        )
        await expect(aside.get_by_label("Renewal date")).to_have_attribute("type", "date")
        await aside.get_by_label("Plan").select_option("Pro")
        await expect(toast(page, "Plan saved")).to_be_visible()
        await aside.get_by_label("Renewal date").fill("2027-03-31")
        await expect(toast(page, "Renewal date saved")).to_be_visible()

        # consent
        await expect(aside.get_by_role("checkbox", name="Opted out of SMS")).not_to_be_checked()
        await aside.get_by_role("checkbox", name="Unsubscribed from email").check()
        await expect(toast(page, "Unsubscribed from email")).to_be_visible()

        # a note about the customer
        notes = aside.get_by_role("region", name=re.compile("^Notes"))
        await notes.get_by_role("textbox", name="Note about the customer").fill(
            "Prefers a call in the morning."
        )
        await notes.get_by_role("button", name="Add customer note").click()
        await expect(notes.get_by_role("list", name="Notes, newest first")).to_contain_text(
            "Prefers a call in the morning."
        )
        await expect(notes.locator(".cnote-who")).to_have_text(["Ana Lopez (you)"])
        await expect(notes.get_by_role("textbox", name="Note about the customer")).to_have_value("")

        # a phone written the way people write it
        channels = aside.get_by_role("region", name="Channels")
        await channels.get_by_label("Type of address").select_option("phone")
        await channels.get_by_role("textbox", name="Phone number to add").fill("+46 (70) 123-45-67")
        await channels.get_by_role("button", name="Add address").click()
        await expect(channels.locator(".id-row", has_text="+46701234567")).to_contain_text("verified")
        await expect(channels.get_by_role("textbox", name="Phone number to add")).to_have_value("")

        # a bad address: the server's message in the page, nothing stored
        await channels.get_by_role("textbox", name="Phone number to add").fill("call me")
        await channels.get_by_role("button", name="Add address").click()
        await expect(channels.get_by_role("alert")).to_contain_text("'call me' is not a phone number")
        await expect(channels.get_by_role("textbox", name="Phone number to add")).to_have_value("call me")
        await page.screenshot(path=SCREENSHOT, full_page=True)

        async with server.client(token) as api:
            c = (await api.get(f"/api/customers/{cid}")).json()
            assert c["name"] == "Maria Svensson" and c["company"] == "Acme AB"
            assert c["tags"] == ["vip"]
            assert c["attributes"] == {"plan": "Pro", "renewal": "2027-03-31"}
            assert c["email_unsubscribed"] is True and c["sms_opt_out"] is False
            assert c["phones"] == ["+46701234567"] and c["emails"] == ["maria@customer.example"]
            note_texts = [n["text"] for n in (await api.get(f"/api/customers/{cid}/notes")).json()["items"]]
            assert note_texts == ["Prefers a call in the morning."]

        # all of it is there after a reload
        await page.reload()
        aside = page.get_by_role("complementary")
        await expect(aside.get_by_role("heading", level=2)).to_have_text("Maria Svensson")
        await expect(aside.locator(".cust-company")).to_have_text("Acme AB")
        await expect(aside.get_by_role("button", name="Remove customer tag vip")).to_be_visible()
        await expect(aside.get_by_label("Plan")).to_have_value("Pro")
        await expect(aside.get_by_label("Renewal date")).to_have_value("2027-03-31")
        await expect(aside.get_by_role("checkbox", name="Unsubscribed from email")).to_be_checked()
        await expect(aside.get_by_role("checkbox", name="Opted out of SMS")).not_to_be_checked()
        await expect(aside.get_by_role("region", name=re.compile("^Notes"))).to_contain_text(
            "Prefers a call in the morning."
        )
        await expect(aside.get_by_role("region", name="Channels")).to_contain_text("+46701234567")
        # the changes are lines on the customer's history
        await expect(aside.locator(".timeline")).to_contain_text("company '' -> 'Acme AB'")

        # clearing an attribute removes it
        await aside.get_by_label("Plan").select_option("")
        await expect(toast(page, "Plan cleared")).to_be_visible()
        async with server.client(token) as api:
            c = (await api.get(f"/api/customers/{cid}")).json()
        assert c["attributes"] == {"renewal": "2027-03-31"}
        assert tab.errors == [] and tab.dialogs == [], (tab.errors, tab.dialogs)


async def claimed_phone(server: LiveServer, customer_id: int, written: str) -> None:
    """A phone the customer gave but no channel proved (unverified), stored as the app stores numbers (E.164).
    No request makes one today (a verified number belongs to one customer, and the widget claims emails
    only), so the row goes in directly, as an import of older records would put it."""
    from app.domain.models import Identity
    from channels.phone import to_e164

    address = to_e164(written)
    assert address is not None
    async with server.ctx.db.write() as s:
        s.add(Identity(customer_id=customer_id, kind="phone", address=address, verified=False))


async def test_a_duplicate_is_merged_and_the_merge_undone(server: LiveServer, tab: Tab) -> None:
    async with asyncio.timeout(TEST_BUDGET_S):
        _admin, token = await setup(server)
        async with server.client(token) as api:
            mine = await customer_mail(api, "Maria Svensson <maria@customer.example>", "Invoice question")
            other = await customer_mail(api, "Maria Svensson <maria.s@other.example>", "Order 5521")
            cid, oid = mine["customer_id"], other["customer_id"]
            assert cid != oid
            r = await api.post(
                f"/api/customers/{cid}/identities", json={"kind": "phone", "address": "+46 (70) 123-45-67"}
            )
            assert r.status_code == 201, r.text
            await claimed_phone(server, oid, "+46 70 123 45 67")

        page = tab.page
        await sign_in(server, page, "ana@example.com", f"/console#/tickets/{mine['id']}")
        aside = page.get_by_role("complementary")
        await expect(aside.get_by_role("heading", level=2)).to_have_text("Maria Svensson")
        dups = aside.get_by_role("region", name=re.compile("^Possible duplicates"))
        tickets = aside.get_by_role("region", name=re.compile("^Tickets"))
        channels = aside.get_by_role("region", name="Channels")
        candidate = dups.locator(".dup", has_text="maria.s@other.example")
        await expect(candidate).to_have_count(1)
        await expect(candidate).to_contain_text(f"Customer #{oid}")
        await expect(candidate).to_contain_text("+46701234567")
        await expect(candidate.locator(".dup-score")).to_have_text(re.compile(r"^\d{1,3}% match"))
        reasons = candidate.get_by_role("list", name="Why Maria Svensson may be this customer")
        await expect(reasons).to_contain_text("the same phone number")
        await expect(tickets).not_to_contain_text("Order 5521")
        await page.screenshot(path=SCREENSHOT_DUPLICATES, full_page=True)

        # merged after a confirmation: its ticket and address are this customer's now, and Undo is offered
        merge = f"Merge Maria Svensson (customer #{oid}) into this customer"
        await candidate.get_by_role("button", name=merge).click()
        merged = dups.locator(".merge-row", has_text=f"#{oid}")
        await expect(merged).to_contain_text("Merged Maria Svensson")
        undo = merged.get_by_role("button", name="Undo the merge of Maria Svensson")
        await expect(undo).to_be_focused()
        await expect(merged).to_contain_text("moved 1 ticket")
        await expect(candidate).to_have_count(0)
        await expect(tickets).to_contain_text("Order 5521")
        await expect(channels).to_contain_text("maria.s@other.example")
        assert len(tab.dialogs) == 1 and tab.dialogs[0].startswith(
            f"confirm: Merge Maria Svensson (customer #{oid}) into Maria Svensson?"
        ), tab.dialogs
        async with server.client(token) as api:
            assert (await api.get(f"/api/tickets/{other['id']}")).json()["customer_id"] == cid
            assert (await api.get(f"/api/customers/{oid}")).status_code == 308

        # undone: the ticket and the address go back
        await undo.click()
        await expect(merged).to_contain_text("Merge undone")
        await expect(merged.get_by_role("button")).to_have_count(0)
        await expect(tickets).not_to_contain_text("Order 5521")
        await expect(channels).not_to_contain_text("maria.s@other.example")
        async with server.client(token) as api:
            assert (await api.get(f"/api/tickets/{other['id']}")).json()["customer_id"] == oid
            restored = await api.get(f"/api/customers/{oid}")
            assert restored.status_code == 200 and restored.json()["merged_into"] is None
            assert restored.json()["emails"] == ["maria.s@other.example"]

        # an address another customer holds: the 409 in the page, and that customer offered for a merge
        await channels.get_by_role("textbox", name="Email address to add").fill("maria.s@other.example")
        await channels.get_by_role("button", name="Add address").click()
        await expect(channels.get_by_role("alert")).to_have_text(
            f"Not added: maria.s@other.example belongs to customer {oid}: "
            "merge the two if they are one person"
        )
        await expect(channels.get_by_role("button", name=merge)).to_be_visible()
        async with server.client(token) as api:
            assert (await api.get(f"/api/customers/{cid}")).json()["emails"] == ["maria@customer.example"]
        assert tab.errors == [], tab.errors
