"""IMAP polling against a real Dovecot on loopback: new mail becomes tickets, each message is marked on the
server (flagged \\Seen, or moved) only after it is stored, the UID cursor fetches each message once, a
failed store leaves its message unmarked and behind the cursor until a later round takes it, and a
recreated mailbox (new UIDVALIDITY) is fetched again without duplicates."""

from __future__ import annotations

import asyncio
import imaplib
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest

from app.actions.email import ingest_raw
from app.db.migrate import upgrade
from channels.email.imap import ImapError, ImapPoller, ImapSource, StoreFailed, mailbox_arg
from tests.imap_server import ImapServer, start_dovecot, stop_dovecot
from tests.support import LiveServer, make_settings

SUPPORT = "support@example.com"
# Dovecot's list without MOVE and UIDPLUS: the poller must fall back to COPY, \Deleted and EXPUNGE
NO_MOVE = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ NAMESPACE CHILDREN UNSELECT"


# --- the IMAP server, seen through the standard library's client --------------------------------------


class Mailboxes:
    """Test-side access to the Dovecot account (imaplib, in a thread)."""

    def __init__(self, server: ImapServer) -> None:
        self.server = server

    def _session(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4(self.server.host, self.server.port, timeout=10)
        conn.login(self.server.user, self.server.password)
        return conn

    def _append(self, mailbox: str, raws: list[bytes]) -> None:
        conn = self._session()
        try:
            for raw in raws:
                typ, data = conn.append(mailbox_arg(mailbox), None, None, raw)
                assert typ == "OK", data
        finally:
            conn.logout()

    async def append(self, mailbox: str, *msgs: EmailMessage) -> None:
        await asyncio.to_thread(self._append, mailbox, [m.as_bytes() for m in msgs])

    def _flags(self, mailbox: str) -> dict[int, set[str]]:
        conn = self._session()
        try:
            typ, _ = conn.select(mailbox_arg(mailbox), readonly=True)
            assert typ == "OK", mailbox
            typ, data = conn.uid("FETCH", "1:*", "(UID FLAGS)")
            assert typ == "OK", data
            out: dict[int, set[str]] = {}
            for item in data:
                if not isinstance(item, bytes):
                    continue
                m = re.search(rb"UID (\d+) FLAGS \(([^)]*)\)", item) or re.search(
                    rb"FLAGS \(([^)]*)\) UID (\d+)", item
                )
                if m is None:
                    continue
                uid, flags = (m.group(1), m.group(2)) if m.group(1).isdigit() else (m.group(2), m.group(1))
                out[int(uid)] = set(flags.decode().split()) - {"\\Recent"}
            return out
        finally:
            conn.logout()

    async def flags(self, mailbox: str = "INBOX") -> dict[int, set[str]]:
        """UID -> flags of every message in the mailbox."""
        return await asyncio.to_thread(self._flags, mailbox)

    def _admin(self, command: str, mailbox: str) -> None:
        conn = self._session()
        try:
            typ, data = getattr(conn, command)(mailbox_arg(mailbox))
            assert typ == "OK", (command, mailbox, data)
        finally:
            conn.logout()

    async def create(self, mailbox: str) -> None:
        await asyncio.to_thread(self._admin, "create", mailbox)

    async def delete(self, mailbox: str) -> None:
        await asyncio.to_thread(self._admin, "delete", mailbox)


# --- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture
def dovecot() -> Iterator[ImapServer]:
    server = start_dovecot()
    try:
        yield server
    finally:
        stop_dovecot(server)


@dataclass
class Desk:
    live: LiveServer
    token: str

    async def tickets_of(self, address: str) -> list[dict[str, Any]]:
        async with self.live.client(self.token) as api:
            found = (await api.get("/api/customers", params={"q": address})).json()["items"]
            out: list[dict[str, Any]] = []
            for c in found:
                out += (await api.get("/api/tickets", params={"customer": c["id"]})).json()["items"]
            return out

    async def bodies_of(self, address: str) -> list[str]:
        """The customer's message bodies on every ticket of this sender, as the API shows them."""
        out: list[str] = []
        async with self.live.client(self.token) as api:
            for t in await self.tickets_of(address):
                messages = (await api.get(f"/api/tickets/{t['id']}")).json()["messages"]
                out += [m["body"] for m in messages if m["author"] == "customer"]
        return out


@pytest.fixture
async def desk(database_url: str) -> AsyncIterator[Desk]:
    settings = make_settings(database_url, support_address=SUPPORT)
    await upgrade(settings.database_url)
    live = LiveServer(settings)
    await live.start()
    try:
        await live.add_agent("eve@example.com", "Eve", capacity=50)
        token, _ = await live.token("eve@example.com")
        yield Desk(live, token)
    finally:
        await live.stop()


@dataclass
class Harness:
    """An ImapPoller whose store is `ingest_raw` on the live server and whose cursor lives in a dict."""

    desk: Desk
    source: ImapSource
    cursor: dict[str, str] = field(default_factory=dict)
    stored: list[str] = field(default_factory=list)  # Message-IDs, in the order they were stored
    fail_on: set[str] = field(default_factory=set)  # Message-IDs whose store raises
    poller: ImapPoller = field(init=False)

    def __post_init__(self) -> None:
        self.poller = ImapPoller(self.source, self.store, self.load, self.save, interval_s=0.2, timeout_s=10)

    async def store(self, raw: bytes) -> object:
        mid = _message_id(raw)
        if mid in self.fail_on:
            raise RuntimeError("database down (simulated)")
        result = await ingest_raw(self.desk.live.ctx, raw)
        self.stored.append(mid)
        return result

    async def load(self) -> str | None:
        return self.cursor.get("imap")

    async def save(self, value: str) -> None:
        self.cursor["imap"] = value


def _message_id(raw: bytes) -> str:
    m = re.search(rb"^Message-ID: *(<[^>]+>)", raw, re.MULTILINE | re.IGNORECASE)
    assert m, raw[:200]
    return m.group(1).decode()


def compose(frm: str, subject: str, body: str) -> EmailMessage:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = frm, SUPPORT, subject
    m["Message-ID"] = make_msgid(domain="customer.example")
    m.set_content(body)
    return m


def _validity(cursor: dict[str, str]) -> str:
    return cursor["imap"].split(":")[0]


# --- tests -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["seen", "move", "copy"])
async def test_new_mail_is_stored_once_and_marked_after_the_commit(desk: Desk, mode: str) -> None:
    server = start_dovecot(capability=NO_MOVE if mode == "copy" else None)
    try:
        boxes = Mailboxes(server)
        source = ImapSource.parse(server.url(query="move=Processed" if mode != "seen" else ""))
        h = Harness(desk, source)
        senders = ["ada@customer.example", "bob@customer.example", "cy@customer.example"]
        mails = [compose(f"{s.split('@')[0].title()} <{s}>", f"Help {s}", f"Hello from {s}") for s in senders]
        await boxes.append("INBOX", *mails)

        assert await h.poller.poll_once() == 3
        assert h.stored == [m["Message-ID"] for m in mails]
        assert h.cursor["imap"].endswith(":3")
        for s in senders:
            tickets = await desk.tickets_of(s)
            assert (
                len(tickets) == 1
                and tickets[0]["channel"] == "email"
                and tickets[0]["subject"] == f"Help {s}"
            )
            assert await desk.bodies_of(s) == [f"Hello from {s}"]
        if mode == "seen":
            assert await boxes.flags() == {1: {"\\Seen"}, 2: {"\\Seen"}, 3: {"\\Seen"}}
        else:
            assert await boxes.flags() == {}
            moved = await boxes.flags("Processed")
            assert len(moved) == 3 and all("\\Deleted" not in f for f in moved.values())

        # a fourth mail later: only it is fetched
        late = compose("dee@customer.example", "Late", "One more thing")
        await boxes.append("INBOX", late)
        assert await h.poller.poll_once() == 1
        assert h.stored[3:] == [late["Message-ID"]]
        assert h.cursor["imap"].endswith(":4")
        assert await desk.bodies_of("dee@customer.example") == ["One more thing"]
        if mode == "seen":
            assert (await boxes.flags())[4] == {"\\Seen"}
        else:
            assert await boxes.flags() == {} and len(await boxes.flags("Processed")) == 4

        # and again: nothing new
        assert await h.poller.poll_once() == 0
        assert len(h.stored) == 4
    finally:
        stop_dovecot(server)


async def test_a_failed_store_leaves_the_message_unmarked_and_behind_the_cursor(
    desk: Desk, dovecot: ImapServer
) -> None:
    boxes = Mailboxes(dovecot)
    h = Harness(desk, ImapSource.parse(dovecot.url()))
    first, second, third = (
        compose("fay@customer.example", "One", "First"),
        compose("gus@customer.example", "Two", "Second"),
        compose("hal@customer.example", "Three", "Third"),
    )
    await boxes.append("INBOX", first, second, third)
    h.fail_on = {second["Message-ID"]}

    with pytest.raises(StoreFailed) as failed:
        await h.poller.poll_once()
    assert failed.value.uid == 2 and isinstance(failed.value.__cause__, RuntimeError)
    assert h.stored == [first["Message-ID"]]
    assert h.cursor["imap"] == f"{_validity(h.cursor)}:1"
    assert await boxes.flags() == {1: {"\\Seen"}, 2: set(), 3: set()}
    assert await desk.tickets_of("gus@customer.example") == []

    # still failing: the round stops at the same message again, nothing moves
    with pytest.raises(StoreFailed):
        await h.poller.poll_once()
    assert h.cursor["imap"].endswith(":1") and await boxes.flags() == {1: {"\\Seen"}, 2: set(), 3: set()}

    h.fail_on.clear()  # the database is back
    assert await h.poller.poll_once() == 2
    assert h.stored == [first["Message-ID"], second["Message-ID"], third["Message-ID"]]
    assert h.cursor["imap"].endswith(":3")
    assert await boxes.flags() == {1: {"\\Seen"}, 2: {"\\Seen"}, 3: {"\\Seen"}}
    for address, body in (
        ("fay@customer.example", "First"),
        ("gus@customer.example", "Second"),
        ("hal@customer.example", "Third"),
    ):
        assert await desk.bodies_of(address) == [body]


async def test_a_recreated_mailbox_is_fetched_again_without_duplicates(
    desk: Desk, dovecot: ImapServer
) -> None:
    boxes = Mailboxes(dovecot)
    await boxes.create("Support Desk")
    h = Harness(desk, ImapSource.parse(dovecot.url("Support Desk")))
    a = compose("ivy@customer.example", "Refund", "Where is my refund?")
    b = compose("jon@customer.example", "Login", "I cannot log in")
    await boxes.append("Support Desk", a, b)
    assert await h.poller.poll_once() == 2
    before = _validity(h.cursor)

    # the mailbox is deleted and created again (a migration, a restore): a new UIDVALIDITY, UIDs from 1
    await boxes.delete("Support Desk")
    await boxes.create("Support Desk")
    c = compose("kai@customer.example", "Invoice", "Please send the invoice")
    await boxes.append("Support Desk", a, b, c)
    assert await h.poller.poll_once() == 3  # everything again: the store keeps one copy per Message-ID
    assert _validity(h.cursor) != before and h.cursor["imap"].endswith(":3")
    assert await boxes.flags("Support Desk") == {1: {"\\Seen"}, 2: {"\\Seen"}, 3: {"\\Seen"}}
    for address, body in (
        ("ivy@customer.example", "Where is my refund?"),
        ("jon@customer.example", "I cannot log in"),
        ("kai@customer.example", "Please send the invoice"),
    ):
        assert len(await desk.tickets_of(address)) == 1
        assert await desk.bodies_of(address) == [body]
    assert await h.poller.poll_once() == 0


async def test_a_round_is_bounded_and_an_oversized_message_is_left_alone(dovecot: ImapServer) -> None:
    boxes = Mailboxes(dovecot)
    small = [compose(f"n{i}@customer.example", f"Note {i}", f"Short note {i}") for i in range(3)]
    big = compose("big@customer.example", "Scan", "x" * 5000)
    await boxes.append("INBOX", small[0], big, small[1], small[2])
    cursor: dict[str, str] = {}
    stored: list[str] = []

    async def store(raw: bytes) -> object:
        stored.append(_message_id(raw))
        return None

    async def load() -> str | None:
        return cursor.get("imap")

    async def save(value: str) -> None:
        cursor["imap"] = value

    poller = ImapPoller(ImapSource.parse(dovecot.url()), store, load, save, batch=2, max_bytes=2000)
    assert await poller.poll_once() == 1  # UIDs 1 and 2; 2 is too big: skipped, unmarked, passed
    assert cursor["imap"].endswith(":2") and stored == [small[0]["Message-ID"]]
    assert await poller.poll_once() == 2
    assert await poller.poll_once() == 0
    assert stored == [m["Message-ID"] for m in small]
    assert await boxes.flags() == {1: {"\\Seen"}, 2: set(), 3: {"\\Seen"}, 4: {"\\Seen"}}


async def test_run_polls_until_cancelled_and_survives_a_server_outage(
    desk: Desk, dovecot: ImapServer
) -> None:
    boxes = Mailboxes(dovecot)
    h = Harness(desk, ImapSource.parse(dovecot.url()))
    task = asyncio.create_task(h.poller.run())
    try:
        await boxes.append("INBOX", compose("lea@customer.example", "Hi", "Anyone there?"))
        assert await _eventually(lambda: desk.tickets_of("lea@customer.example"))
        dovecot.stop()  # the server goes away: rounds fail, are logged, and retried
        await asyncio.sleep(0.6)
        assert not task.done()
        dovecot.start()
        await boxes.append("INBOX", compose("max@customer.example", "Back?", "Are you back?"))
        assert await _eventually(lambda: desk.tickets_of("max@customer.example"), timeout=15)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert len(h.stored) == 2


async def test_a_wrong_password_or_a_missing_mailbox_is_an_imap_error(dovecot: ImapServer) -> None:
    async def nothing(raw: bytes) -> object:
        raise AssertionError("nothing to store")

    async def load() -> str | None:
        return None

    async def save(value: str) -> None:
        raise AssertionError("no cursor to save")

    missing = ImapSource.parse(dovecot.url("Nowhere"))
    with pytest.raises(ImapError, match="SELECT Nowhere"):
        await ImapPoller(missing, nothing, load, save, timeout_s=10).poll_once()
    bad = ImapSource.parse(dovecot.url().replace(dovecot.password, "wrong"))
    with pytest.raises(ImapError, match="LOGIN"):
        await ImapPoller(bad, nothing, load, save, timeout_s=10).poll_once()
    closed = ImapSource.parse(f"imap://u:p@127.0.0.1:{dovecot.port}/INBOX")
    dovecot.stop()
    with pytest.raises(ImapError):
        await ImapPoller(closed, nothing, load, save, timeout_s=5).poll_once()


def test_the_source_url() -> None:
    s = ImapSource.parse("imaps://help%40acme.example:p%3Ass%2Fw@mail.acme.example/Support%2FIn?move=Done")
    assert (s.host, s.port, s.user, s.password, s.mailbox, s.tls, s.move_to) == (
        "mail.acme.example",
        993,
        "help@acme.example",
        "p:ss/w",
        "Support/In",
        True,
        "Done",
    )
    assert "p:ss/w" not in repr(s) and "p:ss/w" not in str(s)
    plain = ImapSource.parse("imap://u:p@localhost")
    assert (plain.port, plain.mailbox, plain.tls, plain.move_to) == (143, "INBOX", False, None)
    for bad in (
        "http://u:p@h/",
        "imap://h/INBOX",
        "imap://u:p@h/?moev=x",
        "imap://u:p@h/?move=",
        "imap://u@h/",
    ):
        with pytest.raises(ValueError):
            ImapSource.parse(bad)
    assert mailbox_arg("Entwürfe & Co") == '"Entw&APw-rfe &- Co"'


async def _eventually(pred: Any, timeout: float = 8.0) -> Any:  # noqa: ASYNC109 - a bounded poll
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        value = await pred()
        if value:
            return value
        await asyncio.sleep(0.1)
    return None
