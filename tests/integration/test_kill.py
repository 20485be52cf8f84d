"""The server killed with SIGKILL in the middle of a stream of chat messages, SMS webhooks and SMTP
deliveries, then started again on the same database: every message that was acknowledged (a chat ack, a
webhook's 200, SMTP's 250 after DATA) is stored exactly once, and when the senders retry everything they
sent, acknowledged or not (as a widget, Twilio and a mail server do), each is still stored exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import httpx
from twilio.request_validator import RequestValidator

from tests.nodes import Node
from tests.support import WS, customer_texts, free_port

TOKEN = "kill-test-twilio-token"
WIDGETS = 4


class Senders:
    """What each sender tried and what the server acknowledged."""

    def __init__(self, node: Node, smtp_port: int) -> None:
        self.node, self.smtp_port = node, smtp_port
        self.chats: dict[str, str] = {}  # client_id -> visitor token
        self.chat_acks: dict[str, int] = {}  # client_id -> seq
        self.sms: list[str] = []
        self.sms_acks: set[str] = set()
        self.mails: list[str] = []
        self.mail_acks: set[str] = set()

    async def chat(self, i: int, stop: asyncio.Event) -> None:
        w = await WS.open(self.node.ws + "/ws/chat")
        await w.send({"type": "hello", "name": f"Streamer {i}"})
        welcome = await w.wait_for(lambda f: f.get("type") == "welcome")
        assert welcome is not None
        k = 0
        while not stop.is_set():
            cid = f"w{i}-{k}"
            self.chats[cid] = welcome["visitor_token"]
            try:
                await w.send({"type": "message", "text": f"chat {cid}", "client_id": cid})
            except Exception:
                return
            ack = await w.wait_for(lambda f, c=cid: f.get("type") == "ack" and f["client_id"] == c)  # type: ignore[misc]
            if ack is None:
                return
            self.chat_acks[cid] = ack["seq"]
            k += 1

    async def post_sms(self, http: httpx.AsyncClient, base: str, sid: str) -> bool:
        params = {"MessageSid": sid, "AccountSid": "AC" + "0" * 32, "From": f"+1415555{sid[-4:]}",
                  "To": "+15005550006", "Body": f"sms {sid}", "NumMedia": "0"}  # fmt: skip
        url = base + "/twilio/sms"
        signature = RequestValidator(TOKEN).compute_signature(url, params)
        try:
            r = await http.post(url, data=params, headers={"X-Twilio-Signature": signature})
        except httpx.HTTPError:
            return False
        return r.status_code == 200

    async def sms_stream(self, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(timeout=5) as http:
            n = 0
            while not stop.is_set():
                sid = f"SM{n:032d}"
                self.sms.append(sid)
                if not await self.post_sms(http, self.node.base, sid):
                    return
                self.sms_acks.add(sid)
                n += 1

    async def send_mail(self, n: int) -> bool:
        msg = EmailMessage()
        msg["From"] = f"Sender {n} <sender{n}@example.org>"
        msg["To"] = "support@example.com"
        msg["Subject"] = f"mail {n}"
        msg["Message-ID"] = f"<kill-{n}@example.org>"
        msg.set_content(f"mail body {n}")
        try:
            await aiosmtplib.send(msg, hostname="127.0.0.1", port=self.smtp_port, timeout=5)
        except (aiosmtplib.SMTPException, OSError):
            return False
        return True

    async def mail_stream(self, stop: asyncio.Event) -> None:
        n = 0
        while not stop.is_set():
            self.mails.append(f"mail {n}")
            if not await self.send_mail(n):
                return
            self.mail_acks.add(f"mail {n}")
            n += 1


async def _until(check: Callable[[], bool], timeout: float) -> None:  # noqa: ASYNC109
    for _ in range(int(timeout * 20)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the streams did not get going")


async def _stored(database_url: str) -> dict[str, list[str]]:
    """The texts (mail: subjects) of the customers' messages, per channel."""
    out: dict[str, list[str]] = {}
    for channel, text in await customer_texts(database_url):
        out.setdefault(channel, []).append(text)
    return out


async def test_sigkill_mid_stream_loses_nothing_acknowledged_and_retries_store_once(
    database_url: str, tmp_path: Path
) -> None:
    port, smtp_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SWITCHBOARD_", "TWILIO_"))}
    env.update(
        {
            "SWITCHBOARD_DATABASE_URL": database_url,
            "SWITCHBOARD_SMTP_PORT": str(smtp_port),
            "SWITCHBOARD_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "TWILIO_AUTH_TOKEN": TOKEN,
            "SWITCHBOARD_LOG_LEVEL": "warning",
        }
    )
    node = Node(env, tmp_path / "first.log", port=port)
    try:
        await node.ready()
        senders = Senders(node, smtp_port)
        stop = asyncio.Event()
        streams = [
            *(asyncio.create_task(senders.chat(i, stop)) for i in range(WIDGETS)),
            asyncio.create_task(senders.sms_stream(stop)),
            asyncio.create_task(senders.mail_stream(stop)),
        ]
        await _until(
            lambda: (
                len(senders.chat_acks) >= 40 and len(senders.sms_acks) >= 10 and len(senders.mail_acks) >= 5
            ),
            timeout=30,
        )
        node.kill()  # SIGKILL, mid-stream: nothing is flushed, closed or said goodbye to
        stop.set()
        await asyncio.wait_for(asyncio.gather(*streams, return_exceptions=True), 30)
    finally:
        node.stop()
    acked_chat, acked_sms, acked_mail = dict(senders.chat_acks), set(senders.sms_acks), set(senders.mail_acks)
    assert (
        len(senders.chats) > len(acked_chat)
        or len(senders.sms) > len(acked_sms)
        or len(senders.mails) > len(acked_mail)
    )

    stored = await _stored(database_url)  # before any retry: everything acknowledged is there, once
    for cid in acked_chat:
        assert stored.get("chat", []).count(f"chat {cid}") == 1, cid
    for sid in acked_sms:
        assert stored.get("sms", []).count(f"sms {sid}") == 1, sid
    for subject in acked_mail:
        assert stored.get("email", []).count(subject) == 1, subject

    again = Node(env, tmp_path / "second.log", port=port)
    try:
        await again.ready()
        senders.node = again
        # every sender retries everything it sent, acknowledged or not
        by_token: dict[str, list[str]] = {}
        for cid, token in senders.chats.items():
            by_token.setdefault(token, []).append(cid)
        for token, cids in by_token.items():
            w = await WS.open(again.ws + "/ws/chat")
            await w.send({"type": "hello", "visitor_token": token})
            assert await w.wait_for(lambda f: f.get("type") == "welcome")
            for cid in cids:
                await w.send({"type": "message", "text": f"chat {cid}", "client_id": cid})
                ack = await w.wait_for(lambda f, c=cid: f.get("type") == "ack" and f["client_id"] == c)  # type: ignore[misc]
                assert ack is not None, cid
                if cid in acked_chat:
                    assert ack["seq"] == acked_chat[cid], cid  # the same message, not a second one
            await w.close()
        async with httpx.AsyncClient(timeout=10) as http:
            for sid in senders.sms:
                assert await senders.post_sms(http, again.base, sid), sid
        for subject in senders.mails:
            assert await senders.send_mail(int(subject.split()[1])), subject
    finally:
        again.stop()

    stored = await _stored(database_url)
    assert sorted(stored.get("chat", [])) == sorted(f"chat {cid}" for cid in senders.chats)
    assert sorted(stored.get("sms", [])) == sorted(f"sms {sid}" for sid in senders.sms)
    assert sorted(stored.get("email", [])) == sorted(senders.mails)
    with contextlib.suppress(Exception):
        (tmp_path / "first.log").unlink()
