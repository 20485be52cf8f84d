"""SWITCHBOARD_IMAP_URL as a user sets it: the server polls a real IMAP server (Dovecot on loopback), mail
becomes tickets, and the cursor is kept in the database so a restart does not fetch the mailbox again."""

from __future__ import annotations

import asyncio
import imaplib
from dataclasses import replace
from email.message import EmailMessage
from email.utils import make_msgid

from app.actions import kv
from app.db.migrate import upgrade
from tests.imap_server import start_dovecot, stop_dovecot
from tests.support import LiveServer, make_settings


def mail(n: int) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = (
        f"Imap Person {n} <imap{n}@customer.example>",
        "support@example.com",
        f"IMAP {n}",
    )
    m["Message-ID"] = make_msgid(domain="customer.example")
    m.set_content(f"Hello by IMAP number {n}")
    return m.as_bytes()


async def test_the_server_polls_the_mailbox_and_keeps_its_cursor(database_url: str) -> None:
    dovecot = await asyncio.to_thread(start_dovecot)
    try:
        conn = imaplib.IMAP4(dovecot.host, dovecot.port, timeout=10)
        conn.login(dovecot.user, dovecot.password)
        for n in (1, 2):
            assert conn.append("INBOX", None, None, mail(n))[0] == "OK"
        conn.logout()
        settings = replace(make_settings(database_url), imap_url=dovecot.url(), imap_interval_s=0.3)
        await upgrade(settings.database_url)
        for round_ in (1, 2):  # a restart picks up where the cursor stands: nothing twice
            live = LiveServer(settings)
            await live.start()
            try:
                await live.add_agent(f"ia{round_}@example.com", "Ia")
                token, _ = await live.token(f"ia{round_}@example.com")
                async with live.client(token) as api:
                    for _ in range(100):
                        items = (await api.get("/api/tickets", params={"limit": 50})).json()["items"]
                        if len(items) >= 2:
                            break
                        await asyncio.sleep(0.1)
                    assert sorted(t["subject"] for t in items) == ["IMAP 1", "IMAP 2"]
                    key = f"imap_cursor:{_source(dovecot.url())}"
                    for _ in range(100):  # the cursor moves just after the mail is stored
                        cursor = await kv.get(live.ctx, key)
                        if cursor is not None and cursor.endswith(":2"):
                            break
                        await asyncio.sleep(0.05)
                    assert cursor is not None and cursor.endswith(":2")
                    await asyncio.sleep(0.6)  # two more polls: still two tickets
                    assert len((await api.get("/api/tickets")).json()["items"]) == 2
            finally:
                await live.stop()
    finally:
        await asyncio.to_thread(stop_dovecot, dovecot)


def _source(url: str) -> str:
    from channels.email.imap import ImapSource

    return str(ImapSource.parse(url))
