"""The email parser against a corpus of real-world mail (tests/data/mail, sources in its README.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from channels.base import InboundMessage, Unparseable
from channels.email import parse_email

MAIL_DIR = Path(__file__).resolve().parents[1] / "data" / "mail"
EXPECTED: dict[str, dict[str, Any]] = json.loads((MAIL_DIR / "expected.json").read_text(encoding="utf-8"))
ALL_FILES = sorted(p.name for p in MAIL_DIR.iterdir() if p.suffix in (".eml", ".box"))


def test_corpus_is_big_enough_and_fully_described() -> None:
    assert len(ALL_FILES) >= 40
    assert set(EXPECTED) == set(ALL_FILES), "every corpus file has expectations, and every expectation a file"


@pytest.mark.parametrize("name", ALL_FILES)
def test_every_file_parses(name: str) -> None:
    raw = (MAIL_DIR / name).read_bytes()
    try:
        msg = parse_email(raw)
    except Unparseable:
        pytest.fail(f"{name}: real mail must not be Unparseable")
    assert isinstance(msg, InboundMessage)
    assert msg.channel == "email"
    assert msg.external_id and msg.external_id == parse_email(raw).external_id
    assert msg.body == msg.body.strip("\n")
    assert all(line == line.rstrip() for line in msg.body.split("\n"))
    assert "\r" not in msg.body and "\x00" not in msg.body
    for att in msg.attachments:
        assert att.filename and "/" not in att.filename and "\\" not in att.filename
        assert len(att.filename) <= 200
        assert not any(ord(ch) < 32 for ch in att.filename)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_expectations(name: str) -> None:
    exp = EXPECTED[name]
    msg = parse_email((MAIL_DIR / name).read_bytes())
    if "sender" in exp:
        assert msg.sender == exp["sender"]
    if "sender_name" in exp:
        assert msg.sender_name == exp["sender_name"]
    if "subject" in exp:
        assert msg.subject == exp["subject"]
    for part in exp.get("subject_contains", []):
        assert part in msg.subject
    for part in exp.get("body_contains", []):
        assert part in msg.body, f"{part!r} not in body {msg.body[:500]!r}"
    for part in exp.get("body_not_contains", []):
        assert part not in msg.body, f"{part!r} should have been split off: {msg.body[:500]!r}"
    for part in exp.get("quoted_contains", []):
        assert part in msg.quoted
    if "automated" in exp:
        assert msg.automated is exp["automated"], msg.automated_reason
        assert bool(msg.automated_reason) is exp["automated"]
    if "bounce_of" in exp:
        assert msg.bounce_of == exp["bounce_of"]
    if "attachments" in exp:
        assert len(msg.attachments) == exp["attachments"], [a.filename for a in msg.attachments]
    if "attachment_names" in exp:
        assert [a.filename for a in msg.attachments] == exp["attachment_names"]
    for fname in exp.get("attachment_names_include", []):
        assert fname in [a.filename for a in msg.attachments]
    if "attachment_types" in exp:
        assert [a.content_type for a in msg.attachments] == exp["attachment_types"]
    if "content_ids" in exp:
        assert [a.content_id for a in msg.attachments] == exp["content_ids"]
    for fname, needle in exp.get("attachment_contains", {}).items():
        data = next(a.data for a in msg.attachments if a.filename == fname)
        assert needle.encode() in data
    if "recipients" in exp:
        assert list(msg.recipients) == exp["recipients"]
    if "references" in exp:
        assert list(msg.references) == exp["references"]
    if "external_id" in exp:
        assert msg.external_id == exp["external_id"]
    if "external_id_prefix" in exp:
        assert msg.external_id.startswith(exp["external_id_prefix"])
    if exp.get("html"):
        assert msg.html
