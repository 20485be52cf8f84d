"""The README's screenshots, taken from the real pages: the demo data (`config.demo.seed`, as
`switchboard serve --demo` seeds it) plus a little traffic through the real chat socket, then the agent
console with a ticket open and the supervisor board, in headless Chromium at 1400x900.

The pictures always go to the test's temporary directory; with SWITCHBOARD_UPDATE_SCREENSHOTS=1 they also
replace `agent_ui/screenshots/console.png` and `supervisor.png`. Either way the test checks that the pages
rendered: signed in (no password field left), the key parts present, no script errors."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from app.db.migrate import upgrade
from config.demo import PASSWORD, seed
from tests.support import WS, LiveServer, make_settings

pytestmark = [pytest.mark.e2e]

VIEWPORT: ViewportSize = {"width": 1400, "height": 900}
TEST_BUDGET_S = 90
UI_TIMEOUT_MS = 15_000
COMMITTED = Path(__file__).resolve().parents[2] / "agent_ui" / "screenshots"
UPDATE = os.environ.get("SWITCHBOARD_UPDATE_SCREENSHOTS") == "1"

# (customer name, what they write): the bot answers the first; the others ask for a person
BOT_ANSWERED = ("Olivia Bennett", "How do I reset my password?")
HANDOFFS = [
    ("Marcus Chen", "I was charged twice for my last payment, I want to talk to a person please"),
    ("Priya Raman", "I need to speak to an agent about a transfer that never arrived"),
    ("Tom Becker", "My new card was declined at the shop, I want to talk to a human"),
    ("Sofia Alvarez", "I need to speak to an agent about a mortgage offer"),
    ("Jonas Weber", "I want to talk to a person about my business account"),
    ("Lena Fischer", "Agent please, I need to speak to a human about a payment"),
]
MARCUS_FOLLOW_UP = "Thanks! It was on Monday, two charges of 42.50 EUR at the same shop."


@pytest.fixture
async def demo_server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    """A live server on a fresh SQLite database seeded the way `serve --demo` does it."""
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/demo.db")
    await upgrade(settings.database_url)
    await seed(settings)
    live = LiveServer(settings)
    await live.start()
    try:
        yield live
    finally:
        await live.stop()


async def _say(server: LiveServer, name: str, text: str) -> WS:
    w, _ = await server.widget(name=name)
    await w.send({"type": "message", "text": text, "client_id": f"{name}-1"})
    assert await w.wait_for(lambda f: f.get("type") == "ack"), w.frames
    return w


async def _traffic(server: LiveServer) -> tuple[list[WS], int]:
    """Ana and Ben on shift; one question the bot answers; six hand-offs: three to Ana, one to Ben (who then
    steps away), two left waiting (one moved to billing). Ana answers two, Ben answers and resolves his;
    Marcus writes back. Returns the sockets to close and Marcus's ticket id."""
    ana_token, ana_id = await server.token("ana@example.com", PASSWORD)
    ben_token, ben_id = await server.token("ben@example.com", PASSWORD)
    super_token, _ = await server.token("super@example.com", PASSWORD)
    ana = await server.agent_socket(ana_token)
    sockets: list[WS] = [ana]

    bot = await _say(server, *BOT_ANSWERED)
    assert await bot.wait_for(lambda f: f.get("type") == "message" and f.get("from") == "bot")
    sockets.append(bot)

    tickets: dict[str, int] = {}
    for name, text in HANDOFFS[:3]:
        mark = len(ana.frames)
        sockets.append(await _say(server, name, text))
        got = await ana.wait_for(
            lambda f: f.get("type") == "ticket.assigned" and f["data"].get("assignee_id") == ana_id,
            timeout=10,
            start=mark,
        )
        assert got, ana.frames
        tickets[name] = int(got["data"]["ticket_id"])

    ben = await server.agent_socket(ben_token)
    sockets.append(ben)
    name, text = HANDOFFS[3]
    sockets.append(await _say(server, name, text))
    got = await ben.wait_for(
        lambda f: f.get("type") == "ticket.assigned" and f["data"].get("assignee_id") == ben_id, timeout=10
    )
    assert got, ben.frames
    sofia = int(got["data"]["ticket_id"])
    await ben.send({"type": "status", "status": "away"})
    assert await ben.wait_for(lambda f: f.get("type") == "status" and f.get("status") == "away")
    for name, text in HANDOFFS[4:]:
        sockets.append(await _say(server, name, text))

    await asyncio.sleep(3)  # agents take a moment to answer: first responses of a few seconds, not zero
    async with server.client(ana_token) as api:
        marcus, priya = tickets["Marcus Chen"], tickets["Priya Raman"]
        for tid, body, internal in [
            (marcus, "Hi Marcus, Ana here. I can see both charges; let me check with the card team.", False),
            (priya, "Hi Priya, transfers can take a day. I have asked the bank for a trace.", False),
            (marcus, "Card team: duplicate authorisation, refund within 3 days. Tell him after lunch.", True),
        ]:
            r = await api.post(f"/api/tickets/{tid}/messages", json={"body": body, "internal": internal})
            assert r.status_code in (201, 202), r.text
    # Ben (away now, so nothing new comes to him) answers and resolves his
    async with server.client(ben_token) as api:
        r = await api.post(
            f"/api/tickets/{sofia}/messages",
            json={"body": "Hi Sofia, I have booked you a call with our advisor."},
        )
        assert r.status_code in (201, 202), r.text
        r = await api.patch(f"/api/tickets/{sofia}", json={"status": "resolved"})
        assert r.status_code == 200, r.text
    marcus_ws = sockets[2]
    await marcus_ws.send({"type": "message", "text": MARCUS_FOLLOW_UP, "client_id": "Marcus Chen-2"})
    acked = await marcus_ws.wait_for(
        lambda f: f.get("type") == "ack" and f.get("client_id") == "Marcus Chen-2"
    )
    assert acked, marcus_ws.frames

    # the last two wait (Ana is full, Ben away); one of them belongs in billing
    async with server.client(super_token) as api:
        deadline = time.monotonic() + 10
        while True:
            waiting = (await api.get("/api/tickets", params={"waiting": "true"})).json()["items"]
            if len(waiting) == 2 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        assert len(waiting) == 2, waiting
        moved = max(t["id"] for t in waiting)
        r = await api.patch(f"/api/tickets/{moved}", json={"queue": "billing"})
        assert r.status_code == 200, r.text
    return sockets, marcus


async def _login(page: Page, url: str, email: str) -> None:
    await page.goto(url)
    await page.locator("input[type=email]").fill(email)
    await page.locator("input[type=password]").fill(PASSWORD)
    await page.locator("input[type=password]").press("Enter")
    await expect(page.locator("input[type=password]")).to_have_count(0)


def _save(page_png: Path, name: str) -> None:
    if UPDATE:
        COMMITTED.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(page_png, COMMITTED / name)


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


async def test_screenshots_of_the_console_and_the_board(
    demo_server: LiveServer, browser: Browser, tmp_path: Path
) -> None:
    async with asyncio.timeout(TEST_BUDGET_S):
        sockets, marcus = await _traffic(demo_server)
        errors: list[str] = []
        try:
            # the agent console: Ana, with Marcus's ticket open
            console_ctx = await browser.new_context(viewport=VIEWPORT)
            console_ctx.set_default_timeout(UI_TIMEOUT_MS)
            console = await console_ctx.new_page()
            console.on("pageerror", lambda e: errors.append(f"console: {e}"))
            await _login(console, demo_server.base + "/console", "ana@example.com")
            entry = console.locator(f'#lists [data-ticket-id="{marcus}"]').first
            await expect(entry).to_be_visible(timeout=UI_TIMEOUT_MS)
            await entry.click()
            pane = console.locator("#ticket-pane")
            await expect(pane).to_contain_text(MARCUS_FOLLOW_UP, timeout=UI_TIMEOUT_MS)
            await expect(pane).to_contain_text("let me check with the card team")
            await expect(console.locator("#customer-pane")).to_contain_text("Marcus Chen")
            await _settle(console)
            shot = tmp_path / "console.png"
            await console.screenshot(path=str(shot))
            assert _png_size(shot) == (1400, 900)
            _save(shot, "console.png")

            # the supervisor board, the whole page
            board_ctx = await browser.new_context(viewport=VIEWPORT)
            board_ctx.set_default_timeout(UI_TIMEOUT_MS)
            board = await board_ctx.new_page()
            board.on("pageerror", lambda e: errors.append(f"board: {e}"))
            await _login(board, demo_server.base + "/console/supervisor", "super@example.com")
            await expect(board.locator("#board")).to_be_visible()
            await expect(board.locator("#conn")).to_have_attribute("data-state", "open")
            for queue in ("general", "billing"):
                waiting = board.locator(f'li.queue[data-queue="{queue}"] [data-field="waiting"]')
                await expect(waiting).to_have_text("1")
            await expect(board.locator("#waiting-rows tr")).to_have_count(2)
            await expect(board.locator("#agent-rows tr[data-agent-id]")).to_have_count(4)
            await expect(board.locator('[data-kpi="handled"]')).to_contain_text("1")
            await expect(board.locator("#chart-channels-summary")).to_contain_text("7 conversations today")
            frt = board.locator("#chart-frt-summary")
            await expect(frt).to_contain_text("3 tickets got a first response")
            for row in await board.locator("#waiting-rows tr .t-customer").all():
                await expect(row).to_have_text(re.compile(r"\w+ \w+"))  # customer names resolved
            await _settle(board)
            shot = tmp_path / "supervisor.png"
            await board.screenshot(path=str(shot), full_page=True)
            width, height = _png_size(shot)
            assert width == 1400 and height >= 900
            _save(shot, "supervisor.png")
            assert errors == [], errors
            await console_ctx.close()
            await board_ctx.close()
        finally:
            for s in sockets:
                await s.close()


async def _settle(page: Page) -> None:
    """Let pending fetches and the once-a-second tickers land, so the picture is of a finished page."""
    await page.wait_for_load_state("networkidle")
    await page.evaluate("() => document.fonts.ready.then(() => window.scrollTo(0, 0))")
    await page.wait_for_timeout(1200)
