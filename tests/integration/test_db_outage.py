"""PostgreSQL taken away under load, as a restart does (every connection reset, new ones refused for a
while), through a TCP proxy on loopback: meanwhile SMS webhooks answer 503 (Twilio tries again), SMTP
answers 451 (the sending server tries again), chat messages get no ack (the widget sends them again), and
nothing is acknowledged that is not stored; once the database is back the service recovers by itself and
every retry is stored exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from email.message import EmailMessage

import aiosmtplib
import httpx
import pytest
from twilio.request_validator import RequestValidator

from tests.conftest import fresh_pg_database
from tests.support import WS, customer_texts, free_port, make_settings, running
from tests.tcp_proxy import TcpProxy

TOKEN = "outage-twilio-token"


@pytest.fixture
def pg_url(db_templates: dict[str, str]) -> Iterator[str]:
    with fresh_pg_database("sboutage_", template=db_templates["postgresql"]) as url:
        yield url


def _signed(base: str, sid: str) -> tuple[str, dict[str, str], dict[str, str]]:
    params = {"MessageSid": sid, "AccountSid": "AC" + "0" * 32, "From": "+14155550199",
              "To": "+15005550006", "Body": f"sms {sid}", "NumMedia": "0"}  # fmt: skip
    url = base + "/twilio/sms"
    return url, params, {"X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(url, params)}


def _mail(n: int) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Olga <olga@example.org>"
    msg["To"] = "support@example.com"
    msg["Subject"] = f"outage {n}"
    msg["Message-ID"] = f"<outage-{n}@example.org>"
    msg.set_content(f"body {n}")
    return msg


async def test_postgresql_restart_under_load(pg_url: str) -> None:
    proxy = TcpProxy("127.0.0.1", int(pg_url.split("@127.0.0.1:")[1].split("/")[0]))
    await proxy.start()
    url = pg_url.replace("@127.0.0.1:5432/", f"@127.0.0.1:{proxy.port}/")
    port, smtp_port = free_port(), free_port()
    settings = replace(
        make_settings(url, twilio_auth_token=TOKEN, public_url=f"http://127.0.0.1:{port}"),
        port=port,
        smtp_port=smtp_port,
    )
    try:
        async with running(settings) as server, httpx.AsyncClient(timeout=10) as http:
            w, _ = await server.widget(name="Olga")
            await w.send({"type": "message", "text": "hello before", "client_id": "before"})
            assert await w.wait_for(lambda f: f.get("type") == "ack", timeout=10)
            sms_url, params, headers = _signed(server.base, "SM" + "1" * 32)
            assert (await http.post(sms_url, data=params, headers=headers)).status_code == 200
            await aiosmtplib.send(_mail(1), hostname="127.0.0.1", port=smtp_port, timeout=10)

            proxy.cut()  # the database restarts
            sms_url, params, headers = _signed(server.base, "SM" + "2" * 32)
            during = await http.post(sms_url, data=params, headers=headers)
            assert during.status_code == 503, during.text
            assert during.headers.get("Retry-After")
            with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
                await aiosmtplib.send(_mail(2), hostname="127.0.0.1", port=smtp_port, timeout=10)
            assert 400 <= refused.value.code < 500, refused.value
            await w.send({"type": "message", "text": "hello during", "client_id": "during"})
            ack = await w.wait_for(lambda f: f.get("type") == "ack" and f["client_id"] == "during", timeout=2)
            assert ack is None, "acknowledged while the database was away"

            proxy.restore()  # back: the senders try again, each until it is accepted
            for _ in range(100):
                if (await http.post(sms_url, data=params, headers=headers)).status_code == 200:
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the SMS webhook did not recover")
            for n in (1, 2):  # the first mail a second time too: stored once
                await aiosmtplib.send(_mail(n), hostname="127.0.0.1", port=smtp_port, timeout=10)
            again = await WS.open(server.ws_base + "/ws/chat") if w.closed.is_set() else w
            if again is not w:
                visitor = next(f for f in w.frames if f.get("type") == "welcome")["visitor_token"]
                await again.send({"type": "hello", "visitor_token": visitor})
                assert await again.wait_for(lambda f: f.get("type") == "welcome")
            for cid in ("before", "during"):
                await again.send({"type": "message", "text": f"hello {cid}", "client_id": cid})
                assert await again.wait_for(
                    lambda f, c=cid: f.get("type") == "ack" and f["client_id"] == c,  # type: ignore[misc]
                    timeout=10,
                )
            await again.close()
    finally:
        await proxy.stop()

    texts = await customer_texts(pg_url)
    assert texts == sorted(
        [
            ("chat", "hello before"),
            ("chat", "hello during"),
            ("sms", "sms SM" + "1" * 32),
            ("sms", "sms SM" + "2" * 32),
            ("email", "outage 1"),
            ("email", "outage 2"),
        ]
    ), texts
