"""What the browser tests of the console's newer pages share: a tab that accepts confirm() dialogs and keeps
page errors, a customer's mail through the relay endpoint, signing in to the console, and waiting for the
API to show a change."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from email.message import EmailMessage
from email.utils import make_msgid

import httpx
from playwright.async_api import Browser, Dialog, Page, expect

from tests.support import LiveServer

UI_TIMEOUT_MS = 8_000
PASSWORD = "pw-secret-123"


class Tab:
    """One browser context and page; accepts confirm() dialogs (recording them) and keeps page errors."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", self._on_dialog)

    async def _on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        if dialog.type == "confirm":
            await dialog.accept()
        else:
            await dialog.dismiss()


@asynccontextmanager
async def open_tab(browser: Browser, height: int) -> AsyncIterator[Tab]:
    """A tab 1400 pixels wide and `height` high, closed at the end."""
    expect.set_options(timeout=UI_TIMEOUT_MS)
    context = await browser.new_context(viewport={"width": 1400, "height": height})
    context.set_default_timeout(UI_TIMEOUT_MS)
    try:
        yield Tab(await context.new_page())
    finally:
        await context.close()


def mail(sender: str, subject: str, body: str) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, "support@example.com", subject
    m["Message-ID"] = make_msgid(domain="customer.example")
    m.set_content(body)
    return m.as_bytes()


async def inbound(api: httpx.AsyncClient, sender: str, subject: str, body: str) -> int:
    """A customer's mail through the relay endpoint; its ticket's id."""
    r = await api.post(
        "/api/email/inbound", content=mail(sender, subject, body), headers={"Content-Type": "message/rfc822"}
    )
    assert r.status_code == 201, r.text
    return int(r.json()["ticket_id"])


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 5.0) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


async def sign_in(server: LiveServer, page: Page, email: str, path: str = "/console") -> None:
    """Sign in to the console (or another page with its form) until its socket is open."""
    response = await page.goto(server.base + path)
    assert response is not None and response.status == 200
    await page.locator("input[type=email]").fill(email)
    await page.locator("input[type=password]").fill(PASSWORD)
    await page.locator("input[type=password]").press("Enter")
    await expect(page.get_by_role("button", name="Log out")).to_be_visible()
    await expect(page.locator("#conn")).to_have_attribute("data-state", "open")
