"""The widget on a shop's own page (another origin than the server's), for a signed-in user of the shop:
`data-user-id` and `data-user-hash` on the script tag make them one customer on every device, and when
someone else signs in on the same browser the previous user's conversation is gone from it."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from app.actions.widget_identity import sign
from tests.support import LiveServer, make_settings, running

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

SECRET = "shop-widget-secret-42"
UI_TIMEOUT_MS = 10_000
MSG = '[data-sb="msg"]'


def shop_page(server: LiveServer, user_id: str) -> str:
    """The shop's account page as its server renders it, signing the signed-in user's id."""
    who = f'data-user-id="{user_id}" data-user-hash="{sign(SECRET, user_id)}"' if user_id else ""
    return f"""<!doctype html><html><head><title>Shop</title></head><body><h1>My account</h1>
<script src="{server.base}/widget.js" defer data-title="Shop help" {who}></script></body></html>"""


@pytest.fixture
async def shop(database_url: str) -> AsyncIterator[LiveServer]:
    async with running(make_settings(database_url, widget_secret=SECRET)) as server:
        yield server


@pytest.fixture
def shop_site(shop: LiveServer) -> Iterator[tuple[str, dict[str, str]]]:
    """The shop's own web server on loopback (another origin than Switchboard's), and who is signed in."""
    user = {"id": ""}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = shop_page(shop, user["id"]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", user
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


async def _device(browser: Browser, url: str) -> tuple[BrowserContext, Page]:
    context = await browser.new_context()
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = await context.new_page()
    await page.goto(url + "/account")
    return context, page


async def _open(page: Page) -> None:
    await page.locator('[data-sb="launcher"]').click()
    await expect(page.locator('[data-sb="status"]')).to_have_text("connected")


async def test_a_signed_in_shop_user_has_one_conversation_across_devices(
    shop_site: tuple[str, dict[str, str]], browser: Browser
) -> None:
    expect.set_options(timeout=UI_TIMEOUT_MS)
    url, user = shop_site
    user["id"] = "cust-77"
    laptop_ctx, laptop = await _device(browser, url)
    phone_ctx, phone = await _device(browser, url)  # the shop is open on the phone before the chat began
    try:
        await _open(laptop)
        await laptop.locator('[data-sb="input"]').fill("where is order 5531? I need a person")
        await laptop.locator('[data-sb="send"]').click()
        mine = laptop.locator(f'{MSG}[data-from="customer"]').first
        await expect(mine).to_have_attribute("data-state", "sent")
        first_token = await laptop.evaluate("() => window.Switchboard.state().visitorToken")
        await phone.reload()  # later, on the phone: the conversation is there
        await _open(phone)
        await expect(phone.locator(f'{MSG}[data-from="customer"]').first).to_have_text(
            "where is order 5531? I need a person"
        )
        # someone else signs in on the laptop's browser: the previous user's conversation is gone from it
        user["id"] = "cust-88"
        await laptop.reload()
        await _open(laptop)
        assert await laptop.locator(MSG).count() == 0
        assert await laptop.evaluate("() => window.Switchboard.state().visitorToken") != first_token
    finally:
        await laptop_ctx.close()
        await phone_ctx.close()
