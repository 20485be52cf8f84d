"""parse_email, feature by feature, and against hostile input."""
# ruff: noqa: RUF001 - the test data is full of real-world full-width colons and typographic dashes

from __future__ import annotations

import hashlib
import random
import time
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

import pytest

from channels.base import InboundMessage, Unparseable
from channels.email import parse_email


def mail(body: str = "Hello there.", **headers: str) -> EmailMessage:
    m = EmailMessage()
    m["From"] = headers.pop("From", "Dora Fischer <Dora@Customer.Example>")
    m["To"] = headers.pop("To", "support@example.com")
    m["Subject"] = headers.pop("Subject", "Printer on fire")
    for key, value in headers.items():
        m[key.replace("_", "-")] = value
    m.set_content(body)
    return m


def parse(m: EmailMessage | bytes) -> InboundMessage:
    return parse_email(m if isinstance(m, bytes) else m.as_bytes())


# --- headers -----------------------------------------------------------------------------------------


def test_basic_fields() -> None:
    sent = datetime(2024, 5, 3, 10, 30).astimezone()
    m = mail(
        "My printer is on fire.\nHelp!",
        Cc="Eve <EVE@Example.com>, bob@example.com",
        Message_ID="<abc.123@customer.example>",
        Date=format_datetime(sent),
    )
    msg = parse(m)
    assert msg.channel == "email"
    assert msg.sender == "dora@customer.example"
    assert msg.sender_name == "Dora Fischer"
    assert msg.recipients == ("support@example.com", "eve@example.com", "bob@example.com")
    assert msg.subject == "Printer on fire"
    assert msg.external_id == "abc.123@customer.example"
    assert msg.body == "My printer is on fire.\nHelp!"
    assert msg.sent_at == sent and msg.sent_at is not None and msg.sent_at.tzinfo is not None
    assert not msg.automated and msg.automated_reason == ""
    assert msg.quoted == "" and msg.attachments == ()


def test_message_id_whitespace_and_missing_id_hash() -> None:
    raw = b"From: a@example.com\r\nMessage-ID: <  abc  @\r\n example.com >\r\n\r\nhi\r\n"
    assert parse(raw).external_id == "abc@example.com"
    no_id = b"From: a@example.com\r\nSubject: x\r\n\r\nhi\r\n"
    first = parse(no_id)
    assert first.external_id == "sha256:" + hashlib.sha256(no_id).hexdigest()
    assert parse(no_id).external_id == first.external_id
    assert parse(no_id + b"!").external_id != first.external_id
    assert any("Message-ID" in w for w in first.warnings)


def test_references_in_reply_to_first_then_newest_first_deduplicated() -> None:
    raw = (
        b"From: a@example.com\nMessage-ID: <self@x>\nIn-Reply-To: <c@x> (comment)\n"
        b"References: <a@x> junk, <b@x>\n\t<c@x> <self@x>\n\nhi\n"
    )
    assert parse(raw).references == ("c@x", "b@x", "a@x")


def test_sender_fallbacks() -> None:
    assert parse(b"Sender: S@x.org\nReply-To: r@x.org\n\nhi").sender == "s@x.org"
    assert parse(b"From: nobody\nReply-To: R@x.org\n\nhi").sender == "r@x.org"
    msg = parse(b"From: Mailer <>\nReturn-Path: <Bounce@x.org>\n\nhi")
    assert msg.sender == "bounce@x.org" and msg.sender_name == "Mailer"
    assert any("Return-Path" in w for w in msg.warnings)


@pytest.mark.parametrize(
    ("raw_subject", "expected"),
    [
        (b"=?iso-8859-1?Q?CI_Daten_f=FCr_PublicView_?=", "CI Daten für PublicView"),
        (b"=?UTF-8?B?w6TDtsO8?= =?UTF-8?B?w58=?=", "äöüß"),
        (b"Re: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\n\t=?utf-8?q?_aus_Bonn?=", "Re: Grüße aus Bonn"),
        (b"=?utf-8?B?ww==?= =?utf-8?B?pMO2?=", "äö"),  # a character split across two words
        (b"=?utf-8?B?w6TDtsO8", "=?utf-8?B?w6TDtsO8"),  # unterminated: left as it is
        (b"=?x-unknown?Q?caf=E9?=", "café"),  # unknown charset: guessed
        (b"=?utf-8?B?@@@?=", "=?utf-8?B?@@@?="),  # broken base64: kept as it is
        (b"=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=", "テスト"),
        (b"=?koi8-r?B?8NLJ18XU?=", "Привет"),
        (b"=?windows-1258?Q?R=E9clamation_n=B0_1?=", "Réclamation n° 1"),
        (b"\xe8\xbd\xac\xe5\x8f\x91\xef\xbc\x9a test", "转发： test"),  # raw 8-bit UTF-8
        (b"\xd7\xaa\xb7\xa2\xa3\xba\xd5\xfb\xcc\xe5", "转发：整体"),  # raw 8-bit GBK
        (b"Gr\xfc\xdfe aus K\xf6ln", "Grüße aus Köln"),  # raw 8-bit Latin-1
        (b"folded\r\n   over    lines", "folded over lines"),
    ],
)
def test_subject_decoding(raw_subject: bytes, expected: str) -> None:
    assert parse(b"From: a@example.com\nSubject: " + raw_subject + b"\n\nbody\n").subject == expected


def test_encoded_display_names_and_odd_addresses() -> None:
    raw = (
        b'From: "=?utf-8?B?TcO8bGxlciwgQmVybmQ=?=" <Bernd.Mueller@Example.COM>\n'
        b"To: Max Kohl | [example.com] <kohl@example.com>, 'Quoted' <q@example.com>\n"
        b"Cc: broken <<>>, <mailto:Cc@Example.com>, trailing@dot.example.\n\nhi\n"
    )
    msg = parse(raw)
    assert msg.sender == "bernd.mueller@example.com"
    assert msg.sender_name == "Müller, Bernd"
    assert "kohl@example.com" in msg.recipients and "q@example.com" in msg.recipients
    assert "trailing@dot.example" in msg.recipients


def test_unparseable_date_is_none_with_a_warning_and_minus_zero_is_aware() -> None:
    msg = parse(b"From: a@example.com\nDate: yesterday-ish\n\nhi")
    assert msg.sent_at is None and any("Date" in w for w in msg.warnings)
    aware = parse(b"From: a@example.com\nDate: Thu, 3 May 2012 11:36:43 -0000\n\nhi").sent_at
    assert aware is not None and aware.tzinfo is not None


# --- bodies and charsets ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("charset", "text"),
    [
        ("iso-8859-1", "Grüße aus Köln"),
        ("iso-8859-2", "Zażółć gęślą jaźń"),
        ("iso-8859-15", "Preis: 5 €"),
        ("windows-1252", "“quoted” – dash €"),
        ("windows-1251", "Привет, мир"),
        ("windows-1250", "Čtvrtek, přesvědčen"),
        ("koi8-r", "Привет, мир"),
        ("iso-2022-jp", "こんにちは世界"),
        ("shift_jis", "こんにちは世界"),
        ("euc-jp", "こんにちは世界"),
        ("gb2312", "你好世界"),
        ("big5", "你好世界"),
        ("euc-kr", "안녕하세요"),
        ("utf-8", "héllo wörld ✓"),
    ],
)
def test_legacy_charsets(charset: str, text: str) -> None:
    raw = (
        (
            f"From: a@example.com\nMIME-Version: 1.0\nContent-Type: text/plain; charset={charset}\n"
            f"Content-Transfer-Encoding: 8bit\n\n"
        ).encode()
        + text.encode(charset)
        + b"\n"
    )
    assert parse(raw).body == text


def test_mislabelled_and_unknown_charsets() -> None:
    gbk = "內應力產生".encode("gbk")  # GBK bytes that GB2312 cannot decode
    msg = parse(b"From: a@example.com\nContent-Type: text/plain; charset=GB2312\n\n" + gbk)
    assert msg.body == "內應力產生"
    utf8_as_latin1 = parse(
        b"From: a@example.com\nContent-Type: text/plain; charset=iso-8859-1\n\n" + "Grüße".encode()
    )
    assert utf8_as_latin1.body == "Grüße"
    unknown = parse(b"From: a@example.com\nContent-Type: text/plain; charset=x-nonsense\n\nK\xf6ln")
    assert unknown.body == "Köln" and any("x-nonsense" in w for w in unknown.warnings)
    no_label = parse(b"From: a@example.com\n\nK\xc3\xb6ln")
    assert no_label.body == "Köln"


def test_transfer_encodings_and_newlines() -> None:
    b64 = parse(b"From: a@example.com\nContent-Transfer-Encoding: base64\n\nSGVsbG8NCldvcmxkICAg\n")
    assert b64.body == "Hello\nWorld"
    qp = parse(
        b"From: a@example.com\nContent-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: quoted-printable\n\nsoft=\n break =C3=A4=20\r\nline2\r\n"
    )
    assert qp.body == "soft break ä\nline2"
    cr = parse(b"From: a@example.com\r\rone\rtwo   \r")
    assert cr.body == "one\ntwo"
    broken = parse(b"From: a@example.com\nContent-Transfer-Encoding: base64\n\n@@@not base64!!!\n")
    assert broken.sender == "a@example.com"


def test_html_only_mail_is_sanitised_and_turned_into_text() -> None:
    m = EmailMessage()
    m["From"] = "a@example.com"
    m.set_content(
        "<html><head><style>p {color: red}</style><title>T</title></head><body>"
        "<p>First paragraph</p><div>Line one<br>Line two</div><ul><li>apple</li><li>pear</li></ul>"
        "<script>alert(1)</script><a href='javascript:alert(2)' onclick='x()'>link</a>"
        "<table><tr><td>cell1</td><td>cell2</td></tr></table></body></html>",
        subtype="html",
    )
    msg = parse(m)
    assert "First paragraph\n" in msg.body and "Line one\nLine two" in msg.body
    assert "- apple" in msg.body and "cell1 cell2" in msg.body
    assert "color: red" not in msg.body and "alert" not in msg.body
    assert msg.html is not None
    assert "<script" not in msg.html and "onclick" not in msg.html and "javascript:" not in msg.html
    assert "First paragraph" in msg.html


def test_alternative_prefers_plain_and_keeps_html() -> None:
    m = mail("plain version")
    m.add_alternative("<p>html <b>version</b></p>", subtype="html")
    msg = parse(m)
    assert msg.body == "plain version"
    assert msg.html is not None and "<b>version</b>" in msg.html


def test_alternative_with_empty_plain_uses_html() -> None:
    m = mail("   \n")
    m.add_alternative("<p>only the html says it</p>", subtype="html")
    assert parse(m).body == "only the html says it"


def test_inline_image_and_attachments_with_rfc2231_names() -> None:
    m = mail("see the picture")
    m.add_alternative("<p>see <img src='cid:logo@x'></p>", subtype="html")
    html_part = m.get_payload()[1]  # type: ignore[index]
    html_part.add_related(b"\x89PNG\r\n", maintype="image", subtype="png", cid="<logo@x>")
    m.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="Bestellbestätigung €.pdf")
    msg = parse(m)
    assert msg.body == "see the picture"
    image = next(a for a in msg.attachments if a.content_type == "image/png")
    assert image.content_id == "logo@x" and image.inline and image.data == b"\x89PNG\r\n"
    pdf = next(a for a in msg.attachments if a.content_type == "application/pdf")
    assert pdf.filename == "Bestellbestätigung €.pdf" and not pdf.inline and pdf.size == 8


def test_rfc2231_continuations_and_encoded_word_filenames() -> None:
    raw = (
        b'From: a@example.com\nContent-Type: multipart/mixed; boundary="b"\n\n--b\n'
        b"Content-Type: text/plain\n\nbody\n--b\nContent-Type: application/octet-stream\n"
        b"Content-Disposition: attachment;\n filename*0*=iso-8859-1''Best%E4tigung;\n"
        b' filename*1="_123.jpg"\n\nxx\n--b\nContent-Type: image/jpeg;\n'
        b' name=" =?ISO-8859-1?B?QmVzdGVsbGJlc3TkdGlndW5nX0JLMTgwNTI3OTU=?=.jpg"\n'
        b"Content-Disposition: attachment\n\nyy\n--b--\n"
    )
    names = [a.filename for a in parse(raw).attachments]
    assert names == ["Bestätigung_123.jpg", "Bestellbestätigung_BK18052795.jpg"]


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        ('attachment; filename="../../etc/passwd"', "passwd"),
        ('attachment; filename="C:\\\\Users\\\\x\\\\evil.exe"', "evil.exe"),
        ('attachment; filename="a\x01b\x1fc.txt"', "abc.txt"),
        ('attachment; filename=".."', None),
        ("attachment", None),
    ],
)
def test_filenames_are_sanitised(disposition: str, expected: str | None) -> None:
    raw = (
        b'From: a@example.com\nContent-Type: multipart/mixed; boundary="b"\n\n--b\n\nbody\n--b\n'
        b"Content-Type: application/pdf\nContent-Disposition: " + disposition.encode() + b"\n\nxx\n--b--\n"
    )
    (att,) = parse(raw).attachments
    if expected is None:
        assert att.filename.startswith("attachment-") and att.filename.endswith(".pdf")
    else:
        assert att.filename == expected


def test_long_filenames_are_cut_keeping_the_extension() -> None:
    m = mail("x")
    m.add_attachment(b"data", maintype="application", subtype="zip", filename="n" * 300 + ".zip")
    (att,) = parse(m).attachments
    assert len(att.filename) <= 200 and att.filename.endswith(".zip")


def test_forwarded_message_text_stays_in_the_body() -> None:
    inner = mail("The original complaint text.", From="Customer <c@example.org>", Subject="Broken")
    outer = mail("FYI, see below.", Subject="Fwd: Broken")
    outer.add_attachment(inner)
    msg = parse(outer)
    assert "FYI, see below." in msg.body
    assert "The original complaint text." in msg.body and "Subject: Broken" in msg.body
    assert msg.quoted == ""


def test_inline_uuencoded_attachment() -> None:
    raw = b"From: a@example.com\n\nsee file\n\nbegin 644 hello.txt\n%:&5L;&\\`\n`\nend\n"
    msg = parse(raw)
    assert msg.body == "see file"
    assert [(a.filename, a.data) for a in msg.attachments] == [("hello.txt", b"hello")]


# --- quoted replies ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "quote",
    [
        "On Tue, Apr 3, 2012 at 4:19 PM, Bob <bob@example.com> wrote:\n> Old text\n> more old",
        "On Tue, Apr 3, 2012 at 4:19 PM, Bob Someone\n<bob@example.com> wrote:\n\n> Old text",
        "Am 07.05.2012 08:10, schrieb Martin Edenhofer via Znuny Team:\n> Old text",
        "Le 3 avr. 2012 à 16:55, Bob <bob@example.com> a écrit :\n> Old text",
        "-----Original Message-----\nFrom: Bob\nSent: Monday\nTo: Ann\nSubject: x\n\nOld text",
        "-----Ursprüngliche Nachricht-----\nVon: Bob\nGesendet: Montag\nAn: Ann\n\nOld text",
        "________________________________\nFrom: Bob <bob@example.com>\nSent: Monday, April 2\n"
        "To: Ann\nSubject: Re: x\n\nOld text",
        "On Monday, Bob wrote:\nOld text that is not marked at all",
    ],
)
def test_quotes_are_split_off(quote: str) -> None:
    msg = parse(mail("New answer here.\n\nThanks,\nAnn\n\n" + quote))
    assert msg.body == "New answer here.\n\nThanks,\nAnn"
    assert "Old text" in msg.quoted and "Old text" not in msg.body


def test_inline_interleaved_reply_keeps_new_text_between_quotes() -> None:
    msg = parse(mail("On Monday, Bob wrote:\n> question one?\nanswer one\n> question two?\nanswer two"))
    assert msg.body == "answer one\nanswer two"
    assert "question one?" in msg.quoted and "question two?" in msg.quoted


def test_signature_stays_in_the_body() -> None:
    msg = parse(mail("Hello\n\n-- \nAnn Example\nACME Corp"))
    assert msg.body == "Hello\n\n--\nAnn Example\nACME Corp"


def test_a_mail_that_is_only_a_quote_keeps_the_quote_as_body() -> None:
    msg = parse(mail("> just the old text\n> nothing new"))
    assert msg.body == "> just the old text\n> nothing new" and msg.quoted == ""


def html_mail(html: str) -> EmailMessage:
    m = EmailMessage()
    m["From"] = "a@example.com"
    m["Subject"] = "Re: x"
    m.set_content(html, subtype="html")
    return m


def test_gmail_html_quote() -> None:
    msg = parse(
        html_mail(
            '<div dir="ltr">Thanks, that fixed it!</div><br><div class="gmail_quote"><div dir="ltr" '
            'class="gmail_attr">On Mon, Apr 1, 2024 at 9:00 AM Support &lt;support@example.com&gt; '
            "wrote:<br></div>"
            '<blockquote class="gmail_quote">Please restart the printer.</blockquote></div>'
        )
    )
    assert msg.body == "Thanks, that fixed it!"
    assert "Please restart the printer." in msg.quoted and "wrote:" in msg.quoted


def test_apple_mail_blockquote_cite() -> None:
    msg = parse(
        html_mail(
            "<html><body>Works now.<div><br><div>On 1 Apr 2024, at 09:00, Support &lt;s@example.com&gt; "
            "wrote:"
            '</div><br><blockquote type="cite"><div>Please restart.</div></blockquote></div></body></html>'
        )
    )
    assert msg.body == "Works now."
    assert "Please restart." in msg.quoted and "wrote:" in msg.quoted


def test_outlook_html_reply_header() -> None:
    msg = parse(
        html_mail(
            "<div><p>See attached.</p></div><div id='divRplyFwdMsg'><b>From:</b> Support<br>"
            "<b>Sent:</b> Monday"
            "<br><b>Subject:</b> x</div><div>Old conversation</div>"
        )
    )
    assert msg.body == "See attached."
    assert "Old conversation" in msg.quoted


# --- automated mail and bounces ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "automated"),
    [
        ("Auto-Submitted: auto-replied", True),
        ("Auto-Submitted: auto-generated (failure)", True),
        ("Auto-Submitted: no", False),
        ("Precedence: bulk", True),
        ("Precedence: junk", True),
        ("Precedence: list", True),
        ("Precedence: first-class", False),
        ("X-Autoreply: yes", True),
        ("X-Autorespond: on vacation", True),
        ("X-Auto-Response-Suppress: All", True),
        ("Return-Path: <>", True),
        ("Return-Path: <a@example.com>", False),
        ("List-Id: Users <users.lists.example.org>", True),
        ("List-Unsubscribe: <mailto:leave@example.org>", True),
    ],
)
def test_automated_headers(header: str, automated: bool) -> None:
    raw = b"From: a@example.com\nSubject: Out of office\n" + header.encode() + b"\n\nI am away.\n"
    msg = parse(raw)
    assert msg.automated is automated
    assert bool(msg.automated_reason) is automated


def test_bounce_with_rfc822_headers_part() -> None:
    raw = (
        b"From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.com>\nTo: support@example.com\n"
        b"Subject: Undelivered Mail\nMIME-Version: 1.0\nContent-Type: multipart/report; "
        b'report-type=delivery-status; boundary="r"\n\n--r\nContent-Type: text/plain\n\n'
        b"Your message could not be delivered.\n\n--r\nContent-Type: message/delivery-status\n\n"
        b"Reporting-MTA: dns; mx.example.com\n\nFinal-Recipient: rfc822; gone@example.org\n"
        b"Action: failed\nStatus: 5.1.1\n\n--r\nContent-Type: text/rfc822-headers\n\n"
        b"From: support@example.com\nMessage-ID: <ours.42@example.com>\nSubject: Re: x\n\n--r--\n"
    )
    msg = parse(raw)
    assert msg.automated and "bounce" in msg.automated_reason
    assert msg.bounce_of == "ours.42@example.com"
    assert msg.body == "Your message could not be delivered."


def test_bounce_with_returned_message_and_plain_mailer_daemon() -> None:
    original = mail("our reply", From="support@example.com", Message_ID="<reply.7@example.com>")
    report = EmailMessage()
    report["From"] = "postmaster@example.org"
    report["Subject"] = "failure notice"
    report.set_content("Sorry, I couldn't deliver it.")
    report.add_attachment(original)
    msg = parse(report)
    assert msg.automated and msg.bounce_of == "reply.7@example.com"


# --- hostile input -------------------------------------------------------------------------------------


def assert_fast(seconds: float, start: float) -> None:
    assert time.perf_counter() - start < seconds


@pytest.mark.parametrize("raw", [b"", b"   \r\n\r\n  ", b"\x00" * 64])
def test_empty_input_is_unparseable(raw: bytes) -> None:
    with pytest.raises(Unparseable):
        parse_email(raw)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_binary_junk_is_unparseable(seed: int) -> None:
    junk = random.Random(seed).randbytes(20_000)
    with pytest.raises(Unparseable):
        parse_email(junk)


def test_png_file_is_unparseable() -> None:
    with pytest.raises(Unparseable):
        parse_email(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 10)


def test_not_bytes_is_unparseable() -> None:
    with pytest.raises(Unparseable):
        parse_email("From: a@example.com\n\nhi")  # type: ignore[arg-type]


def test_two_megabyte_bodies_in_bounded_time() -> None:
    start = time.perf_counter()
    plain = parse(b"From: a@example.com\n\n" + b"a line of text, nothing special\n" * 65_000)
    assert len(plain.body) > 2_000_000
    html = parse(b"From: a@example.com\nContent-Type: text/html\n\n" + b"<p>word <b>x</b></p>\n" * 100_000)
    assert html.body.startswith("word x")
    quoted = parse(b"From: a@example.com\n\n" + b"> quoted line\n" * 150_000)
    assert quoted.body.startswith("> quoted line")
    assert_fast(30, start)


@pytest.mark.parametrize(
    "header",
    [
        b"Subject: " + b"x" * 100_000,
        b"To: " + b"a@example.com, " * 7_000,
        b"Content-Type: text/plain; " + b"a=b; " * 20_000,
        b"Subject: " + b"=?utf-8?B?w6TDtsO8?= " * 5_000,
        b"References: " + b"<a@example.com> " * 7_000,
        b"Message-ID: <" + b"z" * 100_000 + b">",
        b"X-Folded: " + b"y\r\n " * 30_000,
        b"Received: " + b"from a by b; " * 8_000,
    ],
)
def test_a_100_kb_header_in_bounded_time(header: bytes) -> None:
    start = time.perf_counter()
    msg = parse(b"From: a@example.com\n" + header + b"\n\nhello\n")
    assert msg.sender == "a@example.com" and msg.body == "hello"
    assert_fast(10, start)


def test_nul_bytes_are_dropped() -> None:
    msg = parse(b"From: a@example.com\nSubject: a\x00b\n\nhel\x00lo\x00\n")
    assert msg.body == "hello" and msg.subject == "ab"


def nested_multipart(depth: int) -> bytes:
    inner = b"Content-Type: text/plain\n\ndeep text\n"
    for i in range(depth):
        inner = (
            f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n'.encode()
            + inner
            + f"\n--b{i}--\n".encode()
        )
    return b"From: a@example.com\nMIME-Version: 1.0\n" + inner


@pytest.mark.parametrize("depth", [100, 1_000])
def test_deeply_nested_multiparts(depth: int) -> None:
    start = time.perf_counter()
    msg = parse(nested_multipart(depth))
    assert msg.sender == "a@example.com"
    assert any("nest" in w for w in msg.warnings)
    assert_fast(20, start)


def test_deeply_nested_forwarded_messages() -> None:
    start = time.perf_counter()
    msg = parse(b"From: a@example.com\nContent-Type: message/rfc822\n\n" * 300 + b"\nbody")
    assert msg.sender == "a@example.com"
    assert_fast(20, start)


def test_thousands_of_parts() -> None:
    start = time.perf_counter()
    raw = (
        b'From: a@example.com\nContent-Type: multipart/mixed; boundary="x"\n\n--x\n\nthe text\n'
        + b"--x\nContent-Type: application/octet-stream\n\nAAAA\n" * 5_000
        + b"--x--\n"
    )
    msg = parse(raw)
    assert msg.body == "the text" and 0 < len(msg.attachments) <= 500
    assert_fast(20, start)


@pytest.mark.parametrize(
    "raw",
    [
        b"From: a@example.com\nContent-Type: multipart/mixed\n\n--nowhere\nstuff\n",
        b'From: a@example.com\nContent-Type: multipart/mixed; boundary="q"\n\n--q\n',
        b'From: a@example.com\nContent-Type: ;;;==="\n\nbody',
        b'From: a@example.com\nContent-Type: text/plain; charset="\xff\xfe"\n\n\xff\xfe\xfd',
        b"From: a@example.com\nContent-Type: multipart/mixed; boundary=q\n\n--q\n"
        b"Content-Disposition: attachment; filename*=x-bogus''%E4bc.txt; filename*0=\"a\"\n"
        b"Content-Transfer-Encoding: x-uuencode\n\nbegin\n--q--\n",
        b"From: a@example.com\nContent-Transfer-Encoding: quoted-printable\n\n=ZZ=\n=E4=\n",
        b"From: a@example.com\nDate: Mon, 99 Foo 99999 99:99:99 +9999\n\nx",
        b"---- Original email message ----\nFrom: a@example.com\nReceived: from x\nby y\nSubject: s\n\nbody",
        b"\xef\xbb\xbfFrom: a@example.com\n\nbom",
    ],
)
def test_broken_structures_never_raise(raw: bytes) -> None:
    msg = parse(raw)
    assert msg.sender == "a@example.com"


def test_missing_boundary_is_recovered() -> None:
    raw = (
        b"From: a@example.com\nContent-Type: multipart/mixed\n\n--XYZ\nContent-Type: text/plain\n\n"
        b"the text\n--XYZ\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=a.pdf\n\n"
        b"pdf\n--XYZ--\n"
    )
    msg = parse(raw)
    assert msg.body == "the text" and [a.filename for a in msg.attachments] == ["a.pdf"]


def test_unindented_header_continuations_are_repaired() -> None:
    raw = (
        b"---- Original email message ----\nReturn-Path: x@example.com\nReceived: from a\nby b\n"
        b"id 123\nTo: t@example.com\nSubject: Contact\nFrom: f@example.com\n\nthe body\n"
    )
    msg = parse(raw)
    assert msg.sender == "f@example.com" and msg.subject == "Contact" and msg.body == "the body"
    assert msg.recipients == ("t@example.com",)


def test_a_header_is_parsed_once_however_often_it_is_read() -> None:
    """The standard library parses Content-Type again on every get_content_type() and get_param(): 13
    times for a one-part mail, three quarters of its parse. Parsed headers are kept (by name and value)."""
    from channels.email.parse import _parsed_header

    m = EmailMessage()
    m["From"] = "Ann <ann@example.com>"
    m["To"] = "support@example.com"
    m["Subject"] = "Hello"
    m["Message-ID"] = "<once@example.com>"
    m.set_content("Where is my order?\n", charset="iso-8859-15")  # a Content-Type no other test uses
    _parsed_header.cache_clear()
    parsed = parse_email(m.as_bytes())
    assert parsed.body.strip() == "Where is my order?"
    info = _parsed_header.cache_info()
    assert info.misses <= 3 and info.hits >= 10, info
