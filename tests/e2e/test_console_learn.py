"""Agents teach the FAQ bot from the console, in a real browser (headless Chromium driven by Playwright)
against a live server: a chat customer asks something the bot cannot answer, it hands off, the agent
replies, the console offers "Save to FAQ", and once saved the bot answers that question itself. Also: the
question added as a phrasing of the entry the bot suggests, and an offer dismissed for good."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.e2e.test_console import Console, Tab, agent
from tests.support import WS, LiveServer

pytestmark = [
    pytest.mark.e2e,
    # a browser test exercises the pages, not the database: SQLite is enough
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

TEST_BUDGET_S = 45
UI_TIMEOUT_MS = 8_000
RESET = "Open Settings > Security and choose Reset password."
SCREENSHOT = "/tmp/switchboard-console-learn.png"
SCREENSHOT_OFFER = "/tmp/switchboard-console-learn-offer.png"
SCREENSHOT_PHRASING = "/tmp/switchboard-console-learn-phrasing.png"


@pytest.fixture
async def ana(browser: Browser, server: LiveServer) -> AsyncIterator[Console]:
    """Ana, signed in to the console and available, with the test FAQ in the knowledge base."""
    await server.import_faq()
    token, _ = await agent(server, "ana@example.com", "Ana Lopez", capacity=3)
    expect.set_options(timeout=UI_TIMEOUT_MS)
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(UI_TIMEOUT_MS)
    try:
        console = Console(server, Tab(context, await context.new_page()))
        await console.open()
        await console.login("ana@example.com")
        await console.go_available(token)
        yield console
    finally:
        await context.close()


async def handed_off(server: LiveServer, name: str, *questions: str) -> WS:
    """A chat customer (a raw widget socket) asks, and puts it another way each time the bot asks them to,
    until the bot hands the conversation to a person."""
    w, _ = await server.widget(name=name)
    for n, text in enumerate(questions):
        mark = len(w.frames)
        await w.send({"type": "message", "text": text, "client_id": f"{name}-{n}"})
        got = await w.wait_for(lambda f: f.get("from") in ("bot", "system"), timeout=10, start=mark)
        assert got, w.frames
        if got["from"] == "system":
            return w
    raise AssertionError(f"the bot never handed {name} off: {w.frames}")


def offer(page: Page) -> Locator:
    return page.get_by_role("region", name="Save to FAQ")


def dialog(page: Page) -> Locator:
    return page.get_by_role("dialog", name="Save to FAQ")


async def reply(console: Console, text: str) -> None:
    await console.box.fill(text)
    await console.box.press("Control+Enter")
    await expect(console.box).to_have_value("")
    await expect(console.messages().last).to_contain_text(text)


async def ask(server: LiveServer, token: str, text: str) -> dict[str, Any]:
    async with server.client(token) as api:
        r = await api.post("/api/bot/ask", json={"text": text})
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


async def test_an_answer_saved_from_the_console_is_the_bots_next_answer(
    server: LiveServer, ana: Console, browser: Browser
) -> None:
    async with asyncio.timeout(TEST_BUDGET_S):
        page = ana.page
        token, _ = await server.token("ana@example.com")
        question = "Can you deliver parcels to Norway?"
        answer = "Yes: we ship to every EU and EEA country, Norway included, in 3 to 5 days."
        assert (await ask(server, token, question))["handoff"]
        w = await handed_off(server, "Nora Lund", "Do you ship to Norway?", question)

        await ana.item("Nora Lund").click()
        await expect(ana.messages().filter(has_text=question)).to_have_count(1)
        await expect(page.locator(".timeline")).to_contain_text("Handed to a person")
        await expect(offer(page)).to_have_count(0)  # nothing to save before the agent has answered

        await reply(ana, answer)
        await expect(offer(page)).to_be_visible()
        await expect(offer(page)).to_contain_text("Save your answer")
        await page.screenshot(path=SCREENSHOT_OFFER)
        await offer(page).get_by_role("button", name="Save to FAQ").click()

        # prefilled: the customer's last question before the handoff and the reply; no entry is close
        box = dialog(page)
        await expect(box).to_be_visible()
        await expect(box.get_by_label("Customer's question")).to_have_value(question)
        await expect(box.get_by_label("Answer", exact=True)).to_have_value(answer)
        await expect(box.get_by_role("status")).to_contain_text("No FAQ entry is close")
        await expect(box.get_by_role("radio", name=re.compile("A new phrasing"))).to_be_hidden()
        await expect(box.get_by_role("radio", name="A new entry with your answer")).to_be_checked()
        await page.screenshot(path=SCREENSHOT)

        # an empty question is refused in the dialog, which stays open
        await box.get_by_label("Customer's question").fill("  ")
        await box.get_by_role("button", name="Save to FAQ").click()
        await expect(box.get_by_role("alert")).to_have_text("Write the customer's question.")
        await box.get_by_label("Customer's question").fill(question)
        await box.get_by_role("button", name="Save to FAQ").click()

        await expect(box).to_be_hidden()
        toast = page.locator(".toast", has_text="Saved to the FAQ as entry #")
        await expect(toast).to_be_visible()
        entry_id = int(re.sub(r"\D", "", await toast.inner_text()))
        await expect(offer(page)).to_have_count(0)
        await expect(page.locator(".timeline .tl-faq_learned")).to_contain_text(f"new entry {entry_id}")

        # the bot now answers the question itself, to the next customer who asks it
        learned = await ask(server, token, question)
        assert (learned["entry_id"], learned["answer"], learned["handoff"]) == (entry_id, answer, False)
        w2, _ = await server.widget(name="Olaf Berg")
        await w2.send({"type": "message", "text": question, "client_id": "olaf-1"})
        bot = await w2.wait_for(lambda f: f.get("from") in ("bot", "system"), timeout=10)
        assert bot and (bot["from"], bot["text"]) == ("bot", answer), w2.frames

        # saved is saved for everyone: a console without this one's memory does not offer it again
        other = await browser.new_context(viewport={"width": 1400, "height": 900})
        try:
            fresh = Console(server, Tab(other, await other.new_page()))
            await fresh.open()
            await fresh.login("ana@example.com")
            await fresh.item("Nora Lund").click()
            await expect(fresh.page.locator(".timeline .tl-faq_learned")).to_have_count(1)
            await expect(fresh.messages().filter(has_text=answer)).to_have_count(1)
            await expect(offer(fresh.page)).to_have_count(0)
            fresh.tab.assert_clean()
        finally:
            await other.close()
        for s in (w, w2):
            await s.close()
        ana.tab.assert_clean()


async def test_a_phrasing_of_the_suggested_entry_and_a_dismissed_offer(
    server: LiveServer, ana: Console
) -> None:
    async with asyncio.timeout(TEST_BUDGET_S):
        page = ana.page
        token, _ = await server.token("ana@example.com")
        question = "My sign-in code never arrives"
        w = await handed_off(server, "Sam Okafor", "The sign-in code does not come", question)
        await ana.item("Sam Okafor").click()
        await expect(ana.messages().filter(has_text=question)).to_have_count(1)
        await reply(ana, "Sorry about that! " + RESET)

        # the bot's best match is offered, with its answer; choosing it leaves the entry's answer as it is
        await offer(page).get_by_role("button", name="Save to FAQ").click()
        box = dialog(page)
        phrasing = box.get_by_role("radio", name=re.compile(r"A new phrasing of FAQ entry #\d+"))
        await expect(phrasing).to_be_visible()
        await expect(box.locator(".learn-excerpt")).to_have_text(RESET)
        await phrasing.check()
        await expect(box.get_by_label("Answer", exact=True)).to_be_hidden()
        await page.screenshot(path=SCREENSHOT_PHRASING)
        await box.get_by_label("Customer's question").press("Control+Enter")
        await expect(box).to_be_hidden()
        await expect(page.locator(".toast", has_text="a new phrasing of entry #")).to_be_visible()
        async with server.client(token) as api:
            entries = (await api.get("/api/faq")).json()["items"]
        reset = next(e for e in entries if e["answer"] == RESET)
        assert reset["phrasings"][-1] == question and len(entries) == 3, entries
        learned = await ask(server, token, question)
        assert (learned["entry_id"], learned["answer"], learned["handoff"]) == (reset["id"], RESET, False)

        # another handed-off ticket: the offer is dismissed, and stays dismissed after a reload
        w2 = await handed_off(server, "Tove Dahl", "I want to talk to a person about my parcel")
        await ana.item("Tove Dahl").click()
        await reply(ana, "Hi Tove, let me look into your parcel.")
        await expect(offer(page)).to_have_count(0)  # the request for a person is no question to save
        w3 = await handed_off(
            server, "Ulla Berg", "Is there a discount for students?", "Do you offer student pricing?"
        )
        await ana.item("Ulla Berg").click()
        await reply(ana, "We do not offer student pricing at the moment.")
        await offer(page).get_by_role("button", name=re.compile("^Dismiss")).click()
        await expect(offer(page)).to_have_count(0)
        await expect(ana.box).to_be_focused()
        await page.reload()
        await ana.item("Ulla Berg").click()
        await expect(page.locator(".timeline")).to_contain_text("Handed to a person")
        await expect(ana.messages().filter(has_text="student pricing at the moment")).to_have_count(1)
        await expect(offer(page)).to_have_count(0)
        for s in (w, w2, w3):
            await s.close()
        ana.tab.assert_clean()
