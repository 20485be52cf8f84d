"""The supervisor board (`/console/supervisor`) in a real browser (headless Chromium driven by Playwright)
against a live server: only supervisors and admins get in, the numbers change live as customers hand off
(no reload), a waiting ticket can be reassigned and an agent's queues changed, and the charts render under
the page's strict Content-Security-Policy without a single violation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.support import WS, LiveServer

pytestmark = [
    pytest.mark.e2e,
    # a browser test exercises the page, not the database: SQLite is enough
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

TEST_BUDGET_S = 60
UI_TIMEOUT_MS = 10_000
LIVE_MS = 5_000  # a push reaches the board well within this
PASSWORD = "pw-secret-123"

# every violation is recorded by the page itself too, not only logged (init scripts run outside the CSP)
RECORD_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
    (e) => window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sample || '')));
"""


class Board:
    """One browser context on the supervisor board; records page errors, failed requests and every console
    message that mentions the Content-Security-Policy."""

    def __init__(self, page: Page, server: LiveServer) -> None:
        self.page = page
        self.server = server
        self.errors: list[str] = []
        self.csp: list[str] = []
        self.failed: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("console", self._on_console)
        page.on("requestfailed", self._on_failed)

    def _on_failed(self, request: Any) -> None:
        if "ERR_ABORTED" not in (request.failure or ""):  # a reload or sign-out cancels what is in flight
            self.failed.append(f"{request.url} {request.failure}")

    def _on_console(self, msg: Any) -> None:
        if "Content Security Policy" in msg.text or "Content-Security-Policy" in msg.text:
            self.csp.append(msg.text)

    async def open(self) -> None:
        response = await self.page.goto(self.server.base + "/console/supervisor")
        assert response is not None and response.status == 200
        assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")

    async def login(self, email: str, password: str = PASSWORD) -> None:
        """The way a person (and the acceptance check) does it: the email field, the password field, Enter."""
        await self.page.locator("input[type=email]").fill(email)
        await self.page.locator("input[type=password]").fill(password)
        await self.page.locator("input[type=password]").press("Enter")

    async def signed_in(self) -> None:
        await expect(self.page.locator("#board")).to_be_visible()
        await expect(self.page.locator("#conn")).to_have_attribute("data-state", "open")
        await expect(self.page.locator("input[type=password]")).to_have_count(0)

    def queue(self, name: str, field: str) -> Any:
        return self.page.locator(f'li.queue[data-queue="{name}"] [data-field="{field}"]')

    def agent_row(self, agent_id: int) -> Any:
        return self.page.locator(f'#agent-rows tr[data-agent-id="{agent_id}"]')

    def ticket_row(self, ticket_id: int) -> Any:
        return self.page.locator(f'#waiting-rows tr[data-ticket-id="{ticket_id}"]')

    async def assert_clean(self) -> None:
        recorded = await self.page.evaluate("() => window.__csp")
        assert self.errors == [], self.errors
        assert self.csp == [] and recorded == [], (self.csp, recorded)
        assert self.failed == [], self.failed


@pytest.fixture
async def board(browser: Browser, server: LiveServer) -> AsyncIterator[Board]:
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(UI_TIMEOUT_MS)
    expect.set_options(timeout=UI_TIMEOUT_MS)
    await context.add_init_script(RECORD_CSP)
    try:
        yield Board(await context.new_page(), server)
    finally:
        await context.close()


async def _ask_for_person(server: LiveServer, names: list[str]) -> list[WS]:
    widgets = []
    for name in names:
        w, _ = await server.widget(name=name)
        await w.send({"type": "message", "text": "I need to speak to an agent please", "client_id": name})
        assert await w.wait_for(lambda f: f.get("type") == "ack"), w.frames
        widgets.append(w)
    return widgets


async def _api(server: LiveServer, email: str, method: str, path: str, **kw: Any) -> Any:
    token, _ = await server.token(email)
    async with server.client(token) as api:
        r = await api.request(method, path, **kw)
        assert r.status_code < 300, r.text
        return r.json()


async def test_only_supervisors_get_in_and_reload_keeps_the_session(server: LiveServer, board: Board) -> None:
    async with asyncio.timeout(TEST_BUDGET_S):
        await server.add_agent("sue@example.com", "Sue Supervisor", role="supervisor")
        await server.add_agent("ana@example.com", "Ana Agent")
        page = board.page
        await board.open()
        login = page.locator("#login-form")
        await expect(login).to_be_visible()
        # labelled fields, the autocomplete hints a password manager needs
        await expect(page.get_by_label("Email")).to_have_attribute("autocomplete", "username")
        await expect(page.get_by_label("Password")).to_have_attribute("autocomplete", "current-password")

        await board.login("sue@example.com", "wrong-password")
        await expect(page.locator("#login-error")).to_have_text("Wrong email or password.")

        # an agent is refused with a clear message, and their fresh token is revoked again
        await board.login("ana@example.com")
        await expect(page.locator("#login-error")).to_contain_text("Supervisors only")
        await expect(page.locator("#board")).to_be_hidden()
        assert await page.evaluate("() => localStorage.getItem('switchboard.console.token')") is None

        # an agent already signed in (say, in the console) who opens the board sees why they cannot use it
        token, _ = await server.token("ana@example.com")
        await page.evaluate(
            """(token) => {
                localStorage.setItem('switchboard.console.token', token);
                localStorage.setItem('switchboard.console.agent',
                    JSON.stringify({id: 2, name: 'Ana Agent', email: 'ana@example.com', role: 'agent'}));
            }""",
            token,
        )
        await page.reload()
        await expect(page.locator("#refused-view")).to_be_visible()
        await expect(page.locator("#refused-view")).to_contain_text("supervisors and admins only")
        console_link = page.get_by_role("link", name="Open the agent console")
        await expect(console_link).to_have_attribute("href", "/console")
        await page.get_by_role("button", name="Sign in as someone else").click()

        await board.login("sue@example.com")
        await board.signed_in()
        await expect(page.locator("#who")).to_contain_text("Sue Supervisor")
        await expect(board.queue("general", "waiting")).to_have_text("0")

        # a reload keeps the session
        await page.reload()
        await board.signed_in()
        await expect(board.queue("general", "waiting")).to_have_text("0")

        await page.get_by_role("button", name="Sign out").click()
        await expect(page.locator("#login-form")).to_be_visible()
        await expect(page.locator("#board")).to_be_hidden()
        assert await page.evaluate("() => localStorage.getItem('switchboard.console.token')") is None
        await board.assert_clean()


async def test_numbers_change_live_and_the_charts_render(server: LiveServer, board: Board) -> None:
    async with asyncio.timeout(TEST_BUDGET_S):
        await server.add_agent("sue@example.com", "Sue Supervisor", role="supervisor")
        ana_id = await server.add_agent("ana@example.com", "Ana Agent", capacity=1)
        token, _ = await server.token("ana@example.com")
        ana = await server.agent_socket(token)
        widgets: list[WS] = []
        try:
            page = board.page
            await board.open()
            await board.login("sue@example.com")
            await board.signed_in()
            await expect(board.queue("general", "waiting")).to_have_text("0")
            await expect(board.queue("general", "oldest")).to_have_text("Nobody waiting")
            ana_row = board.agent_row(ana_id)
            await expect(ana_row.locator('[data-field="state"]')).to_have_text("available")
            await expect(ana_row).to_contain_text("0 / 1")
            await expect(page.locator("#waiting-empty")).to_be_visible()
            await expect(page.locator('[data-kpi="waiting"]')).to_contain_text("0")
            await page.evaluate("() => { window.__noReload = true; }")

            # three customers ask for a person: Ana (capacity 1) takes the first, two wait
            widgets = await _ask_for_person(server, ["Alice Live", "Bob Live", "Cleo Live"])
            assigned = await ana.wait_for(lambda f: f.get("type") == "ticket.assigned", timeout=5)
            assert assigned, ana.frames
            await expect(board.queue("general", "waiting")).to_have_text("2", timeout=LIVE_MS)
            await expect(board.queue("general", "oldest")).to_have_text("Oldest #2", timeout=LIVE_MS)
            await expect(ana_row.locator('[data-field="state"]')).to_have_text("busy", timeout=LIVE_MS)
            await expect(ana_row).to_contain_text("1 / 1")
            await expect(page.locator('[data-kpi="waiting"]')).to_contain_text("2")
            rows = page.locator("#waiting-rows tr")
            await expect(rows).to_have_count(2, timeout=LIVE_MS)
            await expect(board.ticket_row(2)).to_contain_text("Bob Live")
            await expect(board.ticket_row(3)).to_contain_text("Cleo Live")
            # the longest wait ticks between pushes
            longest = board.queue("general", "longest-wait")
            first = await longest.text_content()
            await expect(longest).not_to_have_text(first or "", timeout=3_000)

            # Ana goes away: the board says so, still without a reload
            await ana.send({"type": "status", "status": "away"})
            await expect(ana_row.locator('[data-field="state"]')).to_have_text("away", timeout=LIVE_MS)
            assert await page.evaluate("() => window.__noReload") is True

            # the charts: three canvases with a size, their data as text for screen readers
            for chart in ("chart-waiting", "chart-frt", "chart-channels"):
                canvas = page.locator(f"#{chart}")
                box = await canvas.bounding_box()
                assert box and box["width"] > 100 and box["height"] > 100, (chart, box)
                await expect(canvas).to_have_attribute("role", "img")
                drawn = await page.evaluate(
                    """(id) => { const c = document.getElementById(id);
                        return c.width > 0 && c.height > 0 && window.Chart.getChart(c) !== undefined; }""",
                    chart,
                )
                assert drawn, chart
            # the volume chart follows the pushes (at most every 10 s): three chats today
            channels = page.locator("#table-channels")
            await expect(channels.locator("tr", has_text="Chat")).to_contain_text("3", timeout=15_000)
            await expect(page.locator("#chart-channels-summary")).to_contain_text("3 conversations today")
            await expect(page.locator("#table-frt tbody tr")).to_have_count(5)
            assert await page.locator("#table-waiting tbody tr").count() == 49  # 8 h in 10-minute steps
            await expect(page.locator("#chart-waiting-summary")).to_contain_text("waiting")

            # landmarks, and a name for every control
            await expect(page.get_by_role("banner")).to_have_count(1)
            await expect(page.get_by_role("main")).to_have_count(1)
            unnamed = await page.evaluate(
                """() => Array.from(document.querySelectorAll('button, select, input, a[href]'))
                    .filter((e) => e.offsetParent !== null)
                    .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                                   && !e.textContent.trim())
                    .map((e) => e.outerHTML)"""
            )
            assert unnamed == [], unnamed
            await board.assert_clean()

            # the detector works: an inline style attribute is a violation it reports
            await page.evaluate("() => document.body.setAttribute('style', 'outline: 1px solid red')")
            await page.wait_for_function("() => window.__csp.length > 0")
            for _ in range(50):
                if board.csp:
                    break
                await asyncio.sleep(0.05)
            assert board.csp, "the console shows no CSP violation: the check above would miss them"
        finally:
            for w in [*widgets, ana]:
                await w.close()


async def test_reassign_a_ticket_and_change_an_agents_queues(server: LiveServer, board: Board) -> None:
    async with asyncio.timeout(TEST_BUDGET_S):
        await server.add_agent("sue@example.com", "Sue Supervisor", role="supervisor")
        ben_id = await server.add_agent("ben@example.com", "Ben Agent", capacity=3)
        await server.add_agent("bea@example.com", "Bea Billing", queues=["billing"])
        widgets = await _ask_for_person(server, ["Dora Wait", "Egon Wait"])
        try:
            page = board.page
            await board.open()
            await board.login("sue@example.com")
            await board.signed_in()
            # nobody is available: both wait
            await expect(page.locator("#waiting-rows tr")).to_have_count(2)
            row = board.ticket_row(1)
            await expect(row).to_contain_text("Dora Wait")

            # assigning without choosing is answered inline
            await row.get_by_role("button", name="Assign").click()
            await expect(row.locator(".row-msg")).to_have_text("Choose an agent first.")

            select = row.get_by_label("Assign ticket #1 to")
            await select.select_option(value=str(ben_id))
            await row.get_by_role("button", name="Assign").click()
            # the ticket leaves the waiting list and the queue; Ben's load goes up
            await expect(board.ticket_row(1)).to_have_count(0, timeout=LIVE_MS)
            await expect(page.locator("#waiting-rows tr")).to_have_count(1)
            await expect(board.queue("general", "waiting")).to_have_text("1", timeout=LIVE_MS)
            await expect(board.agent_row(ben_id)).to_contain_text("1 / 3", timeout=LIVE_MS)
            await expect(page.locator("#announce")).to_have_text("Ticket #1 assigned to Ben Agent.")
            ticket = await _api(server, "sue@example.com", "GET", "/api/tickets/1")
            assert ticket["assignee_id"] == ben_id

            # Ben moves from general to billing
            ben_row = board.agent_row(ben_id)
            await expect(ben_row.locator('[data-field="queues"]')).to_have_text("general")
            edit = ben_row.get_by_role("button", name="Edit the queues of Ben Agent")
            await edit.click()
            await expect(edit).to_have_attribute("aria-expanded", "true")
            form = page.locator(f'form.queue-form[data-agent-id="{ben_id}"]')
            await expect(form.get_by_role("checkbox")).to_have_count(2)  # billing, general
            await expect(form.get_by_label("general")).to_be_checked()
            await expect(form.get_by_label("billing")).not_to_be_checked()
            # keyboard: the first box has the focus, space toggles, tab moves on
            await expect(form.get_by_label("billing")).to_be_focused()
            await page.keyboard.press("Space")
            await page.keyboard.press("Tab")
            await page.keyboard.press("Space")
            await expect(form.get_by_label("billing")).to_be_checked()
            await expect(form.get_by_label("general")).not_to_be_checked()
            await form.get_by_role("button", name="Save queues").click()
            await expect(form).to_have_count(0)
            await expect(ben_row.locator('[data-field="queues"]')).to_have_text("billing")
            await expect(edit).to_be_focused()
            agents = (await _api(server, "sue@example.com", "GET", "/api/agents"))["items"]
            assert next(a for a in agents if a["id"] == ben_id)["queues"] == ["billing"]

            # Escape closes the editor without saving
            await edit.click()
            await page.keyboard.press("Escape")
            await expect(form).to_have_count(0)
            await expect(edit).to_have_attribute("aria-expanded", "false")
            await board.assert_clean()
        finally:
            for w in widgets:
                await w.close()
