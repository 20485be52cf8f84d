"""Building outbound mail: the relay URL, threading headers, automated marks, HTML that never runs."""

from __future__ import annotations

import pytest

from channels.base import OutboundMessage
from channels.email.outbound import Relay, build, to_html


def test_relay_urls() -> None:
    r = Relay.parse("smtp://user%40x:p%3Ass@relay.example:2525")
    assert (r.host, r.port, r.username, r.password, r.implicit_tls) == (
        "relay.example",
        2525,
        "user@x",
        "p:ss",
        False,
    )
    r = Relay.parse("smtps://relay.example")
    assert (r.port, r.implicit_tls, r.username) == (465, True, None)
    assert Relay.parse("smtp://127.0.0.1").port == 25
    for bad in ("http://relay.example", "relay.example:25", "smtp://"):
        with pytest.raises(ValueError, match="SWITCHBOARD_SMTP_RELAY"):
            Relay.parse(bad)


def message(**kw: object) -> OutboundMessage:
    base: dict[str, object] = {
        "channel": "email",
        "to": "dora@customer.example",
        "body": "Hello Dora,\n\nplease unplug it.\nThanks",
        "ticket_id": 7,
        "message_id": 3,
        "subject": "Re: Printer [#7]",
        "email_message_id": "abc@example.com",
        "in_reply_to": "c1@customer.example",
        "references": ("c0@customer.example", "c1@customer.example"),
    }
    base.update(kw)
    return OutboundMessage(**base)  # type: ignore[arg-type]


def test_threading_headers_and_parts() -> None:
    mail = build(message(), "support@example.com")
    assert mail["Message-ID"] == "<abc@example.com>"
    assert mail["In-Reply-To"] == "<c1@customer.example>"
    assert mail["References"] == "<c0@customer.example> <c1@customer.example>"
    assert mail["From"] == "support@example.com" and mail["To"] == "dora@customer.example"
    assert mail["Subject"] == "Re: Printer [#7]" and "Auto-Submitted" not in mail
    plain, rich = mail.get_body(("plain",)), mail.get_body(("html",))
    assert plain is not None and rich is not None
    assert plain.get_content().startswith("Hello Dora,")
    assert "<p>Hello Dora,</p>" in rich.get_content() and "please unplug it.<br>Thanks" in rich.get_content()


def test_automated_mail_says_so() -> None:
    mail = build(message(automated=True), "support@example.com")
    assert mail["Auto-Submitted"] == "auto-replied" and mail["X-Auto-Response-Suppress"] == "All"


def test_html_part_escapes_everything() -> None:
    out = to_html('<script>alert(1)</script> & <img src=x onerror="y">')
    assert "<script>" not in out and "<img" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;img src=x onerror=&quot;y&quot;&gt;" in out
