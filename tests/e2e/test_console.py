"""The agent console (`/console`) in a real browser (headless Chromium driven by Playwright) against a live
server: login and session, tickets arriving live from the chat widget in another browser context, replies
and internal notes, status, canned responses, collision warnings, the customer's typing indicator, keyboard
shortcuts, and customer markup that stays text."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pyotp
import pytest
from playwright.async_api import Browser, BrowserContext, Dialog, Locator, Page, expect

from app.actions import canned, totp
from tests.support import WS, LiveServer

pytestmark = [
    pytest.mark.e2e,
    # a browser test exercises the pages, not the database: SQLite is enough
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

TEST_BUDGET_S = 30
UI_TIMEOUT_MS = 8_000
PASSWORD = "pw-secret-123"
SCREENSHOT = "/tmp/switchboard-console.png"
SCREENSHOT_NOTE = "/tmp/switchboard-console-note.png"
SCREENSHOT_COLLISION = "/tmp/switchboard-console-collision.png"
SCREENSHOT_XSS = "/tmp/switchboard-console-xss.png"
SCREENSHOT_LOGIN = "/tmp/switchboard-console-login.png"

XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'

# the widget's hooks (in its open shadow root; Playwright's CSS locators pierce it)
LAUNCHER = '[data-sb="launcher"]'
INPUT = '[data-sb="input"]'
SEND = '[data-sb="send"]'
STATUS = '[data-sb="status"]'
MSG = '[data-sb="msg"]'


class Tab:
    """One browser context (its own localStorage) and page; records dialogs and uncaught page errors."""

    def __init__(self, context: BrowserContext, page: Page) -> None:
        self.context = context
        self.page = page
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", self._on_dialog)

    async def _on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        await dialog.dismiss()

    def assert_clean(self) -> None:
        assert self.errors == [] and self.dialogs == [], (self.errors, self.dialogs)


@pytest.fixture
async def tabs(browser: Browser) -> AsyncIterator[Callable[[], Awaitable[Tab]]]:
    """A factory of fresh browser contexts, all closed at the end."""
    contexts: list[BrowserContext] = []
    expect.set_options(timeout=UI_TIMEOUT_MS)

    async def make() -> Tab:
        context = await browser.new_context(viewport={"width": 1400, "height": 900})
        context.set_default_timeout(UI_TIMEOUT_MS)
        contexts.append(context)
        return Tab(context, await context.new_page())

    try:
        yield make
    finally:
        for context in contexts:
            await context.close()


class Console:
    """The agent console in one browser tab."""

    def __init__(self, server: LiveServer, tab: Tab) -> None:
        self.server = server
        self.tab = tab
        self.page = tab.page

    async def open(self, path: str = "/console") -> None:
        response = await self.page.goto(self.server.base + path)
        assert response is not None and response.status == 200

    async def login(self, email: str, password: str = PASSWORD) -> None:
        await self.page.locator("input[type=email]").fill(email)
        await self.page.locator("input[type=password]").fill(password)
        await self.page.locator("input[type=password]").press("Enter")
        await expect(self.page.get_by_role("button", name="Log out")).to_be_visible()
        await expect(self.page.locator("input[type=password]")).to_have_count(0)
        await expect(self.page.locator("#conn")).to_have_attribute("data-state", "open")

    async def go_available(self, token: str) -> None:
        await self.page.get_by_text("Available", exact=True).click()
        await expect(self.page.get_by_role("radio", name="Available")).to_be_checked()
        deadline = time.monotonic() + 5
        async with self.server.client(token) as api:
            while (await api.get("/api/me")).json()["presence"] != "available":
                assert time.monotonic() < deadline, "the server never heard the agent become available"
                await asyncio.sleep(0.05)

    def item(self, text: str) -> Locator:
        """A ticket in the left-hand lists."""
        return self.page.locator("#lists .tk", has_text=text)

    def mine(self) -> Locator:
        return self.page.locator("#lists section", has=self.page.locator("h2", has_text="My tickets"))

    @property
    def box(self) -> Locator:
        return self.page.get_by_role("textbox", name=re.compile("Reply to the customer|Internal note"))

    def thread(self) -> Locator:
        return self.page.get_by_role("log", name="Conversation")

    def messages(self) -> Locator:
        return self.thread().locator("li.msg")


async def agent(server: LiveServer, email: str, name: str, **kw: Any) -> tuple[str, int]:
    await server.add_agent(email, name, **kw)
    return await server.token(email)


async def handoff(server: LiveServer, name: str, text: str = "I want to talk to a human please") -> WS:
    """A chat customer (a raw widget socket) who asks for a person at once (no FAQ: the bot hands off)."""
    w, _ = await server.widget(name=name)
    await w.send({"type": "message", "text": text, "client_id": f"c-{name[:20]}-{time.monotonic_ns()}"})
    assert await w.wait_for(lambda f: f.get("type") == "ack"), w.frames
    return w


async def test_login_session_survives_reload_and_logout(server: LiveServer, tabs: Any) -> None:
    async with asyncio.timeout(TEST_BUDGET_S):
        await agent(server, "ana@example.com", "Ana Lopez")
        console = Console(server, await tabs())
        page = console.page
        await console.open()
        await expect(page.get_by_role("heading", name="Sign in to the agent console")).to_be_visible()
        assert await page.locator("input[type=email]").get_attribute("autocomplete") == "username"
        assert await page.title() == "Switchboard"

        # a wrong password is answered inline, and the form stays
        await page.get_by_label("Email").fill("ana@example.com")
        await page.get_by_label("Password").fill("not-the-password")
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
        await page.screenshot(path=SCREENSHOT_LOGIN)

        await console.login("ana@example.com")
        await expect(page.get_by_role("banner")).to_contain_text("Ana Lopez")
        for landmark in ("banner", "navigation", "main", "complementary"):
            await expect(page.get_by_role(landmark).first).to_be_attached()
        await expect(console.mine()).to_contain_text("Nothing assigned to you")
        await expect(page.get_by_role("heading", name="general")).to_be_visible()

        # the session survives a reload: no second login
        await page.reload()
        await expect(page.get_by_role("button", name="Log out")).to_be_visible()
        await expect(page.locator("input[type=password]")).to_have_count(0)
        await expect(page.get_by_role("banner")).to_contain_text("Ana Lopez")

        # the help dialog lists the shortcuts; Escape closes it
        await page.locator("body").press("?")
        help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
        await expect(help_dialog).to_be_visible()
        await expect(help_dialog).to_contain_text("Resolve the open ticket")
        await page.keyboard.press("Escape")
        await expect(help_dialog).to_be_hidden()

        # logout revokes the token and shows the form again, also after a reload
        token = await page.evaluate("() => localStorage.getItem('switchboard.console.token')")
        await page.get_by_role("button", name="Log out").click()
        await expect(page.locator("input[type=password]")).to_be_visible()
        await page.reload()
        await expect(page.locator("input[type=password]")).to_be_visible()
        async with server.client(token) as api:
            assert (await api.get("/api/me")).status_code == 401
        console.tab.assert_clean()


async def test_two_step_sign_in_asks_for_the_code(server: LiveServer, tabs: Any) -> None:
    async with asyncio.timeout(TEST_BUDGET_S):
        _token, agent_id = await agent(server, "kai@example.com", "Kai Two-Step")
        secret = (await totp.begin(server.ctx, agent_id))["secret"]
        code = pyotp.TOTP(secret)
        step = code.timecode(time.time())
        await totp.confirm(server.ctx, agent_id, code.generate_otp(step - 1))
        console = Console(server, await tabs())
        page = console.page
        await console.open()
        await page.get_by_label("Email").fill("kai@example.com")
        await page.get_by_label("Password").fill("pw-secret-123")
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("alert")).to_contain_text("enter the code from your authenticator app")
        await page.get_by_label("Password").fill("pw-secret-123")
        await page.get_by_label("Code from your authenticator app").fill(code.generate_otp(step))
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("banner")).to_contain_text("Kai Two-Step")


async def test_widget_handoff_reply_note_and_resolve(server: LiveServer, tabs: Any) -> None:
    async with asyncio.timeout(TEST_BUDGET_S):
        token, ana_id = await agent(server, "ana@example.com", "Ana Lopez", capacity=3)
        console = Console(server, await tabs())
        page = console.page
        await console.open()
        await console.login("ana@example.com")
        await console.go_available(token)
        await page.evaluate("() => { window.__noReload = 1; }")

        # the customer, in another browser context, on the demo page with the widget
        visitor = await tabs()
        vpage = visitor.page
        await vpage.goto(server.base + "/demo")
        await vpage.locator(LAUNCHER).click()
        await expect(vpage.locator(STATUS)).to_have_text("connected")
        await vpage.locator(INPUT).fill("I want to talk to a human about invoice 7731")
        await vpage.locator(SEND).click()
        await expect(vpage.locator(f'{MSG}[data-from="customer"]').last).to_have_attribute(
            "data-state", "sent"
        )
        sent = time.monotonic()

        item = console.item("invoice 7731")
        await expect(item).to_be_visible(timeout=3000)
        arrived = time.monotonic() - sent
        assert arrived < 1.0, f"the ticket took {arrived:.2f} s to reach the console"
        await expect(console.mine()).to_contain_text("invoice 7731")
        await expect(page).to_have_title("(1) Switchboard")
        await expect(item.locator(".badge.new")).to_have_text("New")

        await item.click()
        await expect(page).to_have_title("Switchboard")
        await expect(page.get_by_role("heading", level=1)).to_contain_text("invoice 7731")
        await expect(console.messages().first).to_contain_text("I want to talk to a human about invoice 7731")
        await expect(console.messages().first.locator(".chan-chat")).to_have_count(1)

        # a reply (Ctrl+Enter) reaches the widget
        await console.box.fill("Hello! Ana here, let me check invoice 7731.")
        await console.box.press("Control+Enter")
        await expect(console.box).to_have_value("")
        await expect(vpage.locator(f'{MSG}[data-from="agent"]')).to_have_text(
            ["Hello! Ana here, let me check invoice 7731."]
        )
        await expect(console.messages().last).to_contain_text("Ana Lopez (you)")

        # an internal note is shown as one, and never reaches the widget
        await page.get_by_text("Internal note", exact=True).click()
        await expect(page.get_by_role("button", name="Add note")).to_be_visible()
        await console.box.fill("Customer seems to be on the legacy plan.")
        await page.get_by_role("button", name="Add note").click()
        note = console.messages().filter(has_text="legacy plan")
        await expect(note).to_have_class(re.compile(r"\bnote\b"))
        await expect(note.locator(".note-label")).to_have_text("Internal note")
        await page.screenshot(path=SCREENSHOT_NOTE)

        # the customer's next message arrives live in the open ticket
        await vpage.locator(INPUT).fill("Thanks, I will wait")
        await vpage.locator(SEND).click()
        await expect(console.messages().last).to_contain_text("Thanks, I will wait")
        widget_texts = await vpage.locator(MSG).all_text_contents()
        assert not any("legacy plan" in t for t in widget_texts), widget_texts

        # the customer panel: name, the chat identity, this ticket and the history
        aside = page.get_by_role("complementary")
        await expect(aside.get_by_role("heading", level=2)).to_have_text(re.compile(r"^(Visitor|Customer)"))
        await expect(aside).to_contain_text("Chat visitor")
        await expect(aside.locator(".past-t")).to_have_count(1)
        await expect(aside.locator(".timeline")).to_contain_text("legacy plan")
        await page.screenshot(path=SCREENSHOT)

        # resolve through the status select: the ticket leaves "My tickets"
        tid = int(await item.get_attribute("data-ticket-id") or 0)
        await page.get_by_label("Status").select_option("resolved")
        await expect(console.mine()).to_contain_text("Nothing assigned to you")
        async with server.client(token) as api:
            ticket = (await api.get(f"/api/tickets/{tid}")).json()
        assert ticket["status"] == "resolved" and ticket["assignee_id"] == ana_id
        assert [m["body"] for m in ticket["messages"] if m["internal"]] == [
            "Customer seems to be on the legacy plan."
        ]
        assert await page.evaluate("() => window.__noReload") == 1
        console.tab.assert_clean()
        visitor.assert_clean()


async def test_canned_responses_fill_placeholders(server: LiveServer, tabs: Any) -> None:
    async with asyncio.timeout(TEST_BUDGET_S):
        token, ana_id = await agent(server, "ana@example.com", "Ana Lopez")
        await canned.create(
            server.ctx,
            {
                "title": "Greeting",
                "shortcut": "hi",
                "body": "Hi {{customer.first_name}}, this is {{agent.first_name}} (ticket {{ticket.id}}).",
            },
            ana_id,
        )
        await canned.create(
            server.ctx,
            {"title": "Sign-off", "shortcut": "bye", "body": "Kind regards, {{agent.name}}"},
            ana_id,
        )
        console = Console(server, await tabs())
        page = console.page
        await console.open()
        await console.login("ana@example.com")
        await console.go_available(token)
        w = await handoff(server, "Quentin Blake")
        await console.item("Quentin Blake").click()
        await expect(console.messages().first).to_contain_text("talk to a human")
        tid = int(re.sub(r"\D", "", await page.locator(".ticket-id").inner_text()))

        # typing "/hi" offers the response; Enter inserts it with the placeholders filled
        await console.box.click()
        await console.box.press_sequentially("/hi")
        suggest = page.get_by_role("listbox", name="Canned responses")
        await expect(suggest.get_by_role("option")).to_have_count(1)
        await expect(suggest).to_contain_text("Hi Quentin, this is Ana")
        await console.box.press("Enter")
        await expect(suggest).to_be_hidden()
        await expect(console.box).to_have_value(f"Hi Quentin, this is Ana (ticket {tid}).")

        # the picker button inserts at the caret
        await console.box.press("End")
        await console.box.press_sequentially(" ")
        await page.get_by_role("button", name="Canned responses").click()
        await page.get_by_role("searchbox", name="Filter canned responses").fill("sign")
        await page.get_by_role("button", name=re.compile("^Sign-off")).click()
        expected = f"Hi Quentin, this is Ana (ticket {tid}). Kind regards, Ana Lopez"
        await expect(console.box).to_have_value(expected)
        await page.get_by_role("button", name="Send").click()
        reply = await w.wait_for(lambda f: f.get("type") == "message" and f.get("from") == "agent")
        assert reply and reply["text"] == expected, w.frames
        await w.close()
        console.tab.assert_clean()


async def test_collision_warning_and_typing_indicator(server: LiveServer, tabs: Any) -> None:
    async with asyncio.timeout(TEST_BUDGET_S):
        ana_token, _ = await agent(server, "ana@example.com", "Ana Lopez")
        await agent(server, "ben@example.com", "Ben Ng")
        ana = Console(server, await tabs())
        ben = Console(server, await tabs())
        await ana.open()
        await ana.login("ana@example.com")
        await ana.go_available(ana_token)
        w = await handoff(server, "Cleo Park")
        await ana.item("Cleo Park").click()
        await expect(ana.messages().first).to_contain_text("talk to a human")
        tid = int(re.sub(r"\D", "", await ana.page.locator(".ticket-id").inner_text()))

        # Ben (away, same queue) opens the same ticket by its address
        await ben.open()
        await ben.login("ben@example.com")
        await ben.page.goto(f"{server.base}/console#/tickets/{tid}")
        await expect(ben.messages().first).to_contain_text("talk to a human")
        ana_banner = ana.page.locator(".collision")
        await expect(ana_banner).to_have_text("Ben Ng is also viewing this ticket.")
        await expect(ben.page.locator(".collision")).to_have_text("Ana Lopez is also viewing this ticket.")

        # Ben starts typing a reply: Ana is warned
        await ben.box.press_sequentially("Let me take this one")
        await expect(ana_banner).to_have_text("Ben Ng is replying to this ticket.")
        await expect(ana_banner).to_have_class(re.compile("replying"))

        # the customer types: both consoles show it, and it goes away on its own
        await w.send({"type": "typing"})
        typing = ana.page.get_by_text("Customer is typing…")
        await expect(typing).to_be_visible()
        await expect(ben.page.get_by_text("Customer is typing…")).to_be_visible()
        await ana.page.screenshot(path=SCREENSHOT_COLLISION)
        await expect(typing).to_be_hidden(timeout=6000)

        # Ben leaves (closes the console): the warning goes away
        await ben.page.goto("about:blank")
        await expect(ana_banner).to_be_hidden()
        await w.close()
        ana.tab.assert_clean()
        ben.tab.assert_clean()


async def test_keyboard_shortcuts(server: LiveServer, tabs: Any) -> None:
    async with asyncio.timeout(TEST_BUDGET_S):
        token, _ = await agent(server, "ana@example.com", "Ana Lopez", capacity=5)
        console = Console(server, await tabs())
        page = console.page
        await console.open()
        await console.login("ana@example.com")
        await console.go_available(token)
        widgets = [await handoff(server, name) for name in ("First Customer", "Second Customer")]
        await expect(console.mine().locator(".tk")).to_have_count(2)
        order = [
            int(x)
            for x in await console.mine()
            .locator(".tk")
            .evaluate_all("(els) => els.map((e) => e.dataset.ticketId)")
        ]

        await page.locator("body").press("j")
        await expect(page.locator(".ticket-id")).to_have_text(f"#{order[0]}")
        await page.locator("body").press("j")
        await expect(page.locator(".ticket-id")).to_have_text(f"#{order[1]}")
        await page.locator("body").press("k")
        await expect(page.locator(".ticket-id")).to_have_text(f"#{order[0]}")

        # r focuses the reply box; letters typed there are text, not shortcuts; Esc leaves the box
        await page.locator("body").press("r")
        await expect(console.box).to_be_focused()
        await page.keyboard.type("jk e")
        await expect(console.box).to_have_value("jk e")
        await expect(page.locator(".ticket-id")).to_have_text(f"#{order[0]}")
        await page.keyboard.press("Escape")
        await expect(console.box).not_to_be_focused()

        # n switches to an internal note
        await page.keyboard.press("n")
        await expect(page.get_by_role("radio", name="Internal note")).to_be_checked()
        await expect(console.box).to_be_focused()
        await page.keyboard.press("Escape")

        # e resolves the open ticket
        await page.keyboard.press("e")
        await expect(page.get_by_label("Status")).to_have_value("resolved")
        await expect(console.mine().locator(".tk")).to_have_count(1)
        async with server.client(token) as api:
            assert (await api.get(f"/api/tickets/{order[0]}")).json()["status"] == "resolved"
        for w in widgets:
            await w.close()
        console.tab.assert_clean()


async def test_customer_markup_stays_text(server: LiveServer, tabs: Any) -> None:
    async with asyncio.timeout(TEST_BUDGET_S):
        token, _ = await agent(server, "ana@example.com", "Ana Lopez")
        console = Console(server, await tabs())
        page = console.page
        await console.open()
        await console.login("ana@example.com")
        await console.go_available(token)
        w = await handoff(server, XSS, XSS + " I need a human")
        item = console.mine().locator(".tk")
        await expect(item.locator(".tk-name")).to_have_text(XSS)
        await expect(item.locator(".tk-subject")).to_contain_text(XSS)
        await item.click()
        await expect(console.messages().first.locator(".body")).to_have_text(XSS + " I need a human")
        await expect(console.messages().first.locator(".author")).to_have_text(XSS)
        aside = page.get_by_role("complementary")
        await expect(aside.get_by_role("heading", level=2)).to_have_text(XSS)
        await expect(aside.locator(".timeline")).to_contain_text(XSS)
        await expect(page.locator(".ticket-meta")).to_contain_text(XSS)
        # a reply quoting the payload is text as well
        await console.box.fill("You wrote: " + XSS)
        await console.box.press("Control+Enter")
        await expect(console.messages().last.locator(".body")).to_have_text("You wrote: " + XSS)
        await page.screenshot(path=SCREENSHOT_XSS)

        made = await page.evaluate(
            """() => ({
                img: document.querySelectorAll('img').length,
                script: document.querySelectorAll('body script').length,
                inBodies: document.querySelectorAll('.body *, .tk-name *, .tk-subject *, .tl-text *').length,
            })"""
        )
        assert made == {"img": 0, "script": 0, "inBodies": 0}, made
        # the page runs under a strict CSP, and nothing ran anyway
        response = await page.request.get(server.base + "/console")
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert await page.evaluate("() => typeof window.__xss") == "undefined"
        await w.close()
        console.tab.assert_clean()


async def test_tags_priority_and_transfer(server: LiveServer, tabs: Any) -> None:
    async with asyncio.timeout(TEST_BUDGET_S):
        ana_token, _ = await agent(server, "ana@example.com", "Ana Lopez")
        ben_token, ben_id = await agent(server, "ben@example.com", "Ben Ng")
        ana = Console(server, await tabs())
        ben = Console(server, await tabs())
        await ben.open()
        await ben.login("ben@example.com")
        await ana.open()
        await ana.login("ana@example.com")
        await ana.go_available(ana_token)
        w = await handoff(server, "Dora Diaz")
        item = ana.item("Dora Diaz")
        await item.click()
        page = ana.page
        await expect(ana.messages().first).to_contain_text("talk to a human")
        tid = int(await item.get_attribute("data-ticket-id") or 0)

        # tags: Enter adds, the chip's button removes
        tag_input = page.get_by_role("textbox", name="Tags", exact=True)
        for tag in ("vip", "refund"):
            await tag_input.fill(tag)
            await tag_input.press("Enter")
            await expect(page.locator(".tag", has_text=tag)).to_be_visible()
        await page.get_by_role("button", name="Remove tag vip").click()
        await expect(page.locator(".tag > span")).to_have_text(["refund"])

        # priority: the list marks urgent tickets
        await page.get_by_label("Priority").select_option("urgent")
        await expect(item.locator(".badge.prio-urgent")).to_have_text("Urgent")
        async with server.client(ana_token) as api:
            t = (await api.get(f"/api/tickets/{tid}")).json()
        assert t["tags"] == ["refund"] and t["priority"] == "urgent"

        # transfer to Ben: it leaves Ana's list and arrives in Ben's, live, with the title badge
        await expect(page.get_by_label("Queue")).to_have_value("general")
        await page.get_by_label("Assignee").select_option(str(ben_id))
        await expect(ana.mine()).to_contain_text("Nothing assigned to you")
        await expect(ben.item("Dora Diaz")).to_be_visible()
        await expect(ben.page).to_have_title("(1) Switchboard")
        await expect(
            ben.page.get_by_role("status").filter(has_text="New ticket assigned to you")
        ).to_have_count(1)
        async with server.client(ben_token) as api:
            assert (await api.get(f"/api/tickets/{tid}")).json()["assignee_id"] == ben_id
        await w.close()
        ana.tab.assert_clean()
        ben.tab.assert_clean()
