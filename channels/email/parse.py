"""parse_email: raw RFC 5322 bytes in, InboundMessage out. Pure, no I/O, repairs what it can.

It raises only ``Unparseable``, and only for input with no usable sender and no usable body (empty
bytes, binary junk). Everything it had to repair or guess is listed in ``warnings``.
"""

from __future__ import annotations

import email
import email.policy
import functools
import hashlib
import re
from email.message import Message
from email.parser import BytesParser
from email.policy import EmailPolicy
from typing import Any

from channels.base import InboundMessage, Unparseable
from channels.email import headers as hdr
from channels.email.charsets import codec_for, decode_bytes, normalise_charset
from channels.email.html import QUOTE_MARK
from channels.email.loops import automated_reasons, bounced_message_id
from channels.email.mime import (
    State,
    assemble_plain,
    collect,
    content_type,
    normalise,
    param,
    part_text,
    walk,
)
from channels.email.quotes import split_quote

MAX_PARSED_HEADER = 8_000
_KNOWN_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "received",
        "return-path",
        "mime-version",
        "content-type",
        "sender",
        "reply-to",
        "in-reply-to",
        "references",
        "delivered-to",
        "x-mailer",
        "user-agent",
        "content-transfer-encoding",
        "x-original-to",
        "envelope-to",
        "list-id",
        "auto-submitted",
        "precedence",
    }
)
_HEADER_LINE = re.compile(rb"^[!-9;-~]{1,76}:")


# --- parsing the bytes -------------------------------------------------------------------------------


def _repair_prefix(raw: bytes, state: State) -> bytes:
    """Drop lines before the header section ("---- Original email message ----", a BOM, blank lines)."""
    data = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    stripped = data.lstrip(b"\r\n")
    if stripped.startswith(b"From ") or _HEADER_LINE.match(stripped):
        if len(stripped) != len(data):
            state.warn("blank lines before the headers removed")
        return stripped
    lines = stripped.split(b"\n", 6)
    for skip in range(1, min(6, len(lines))):
        if _HEADER_LINE.match(lines[skip]):
            rest = b"\n".join(lines[skip:])
            state.warn(f"{skip} line(s) before the headers skipped")
            return rest
    return data


_CONTINUATION_LIMIT = 2000


def _repair_header_lines(raw: bytes, state: State) -> bytes:
    """Unindented continuation lines inside the header section ("Received: from x\\nby y\\nid z\\nTo: ...")
    are indented, so the parser doesn't end the headers there. Only when a header line follows them."""
    lines = raw.split(b"\n", _CONTINUATION_LIMIT)
    end = 0
    while end < min(len(lines), _CONTINUATION_LIMIT) and lines[end].strip(b"\r"):
        end += 1
    last_header = -1
    for i in range(end):
        if _HEADER_LINE.match(lines[i]) or (i == 0 and lines[i].startswith(b"From ")):
            last_header = i
    fixed = 0
    for i in range(1, last_header):
        line = lines[i]
        if not line[:1].isspace() and not _HEADER_LINE.match(line):
            lines[i] = b" " + line
            fixed += 1
    if not fixed:
        return raw
    state.warn(f"{fixed} unindented header continuation line(s) repaired")
    return b"\n".join(lines)


class _Policy(EmailPolicy):
    """email.policy.default, except that a header is cut to MAX_PARSED_HEADER characters before the
    policy parses it (its structured-header parser is quadratic on hostile 100 KB Content-Types), and
    a header parsed once is not parsed again: the standard library parses Content-Type afresh on every
    get_content_type() and get_param(), 13 times for a one-part mail (three quarters of its parse)."""

    def header_fetch_parse(self, name: str, value: str) -> Any:
        if len(value) > MAX_PARSED_HEADER:
            value = value[:MAX_PARSED_HEADER]
        if hasattr(value, "name"):  # already a header object
            return super().header_fetch_parse(name, value)
        return _parsed_header(self, name, value)


@functools.lru_cache(maxsize=512)
def _parsed_header(policy: _Policy, name: str, value: str) -> Any:
    """A parsed header (an immutable str subclass), shared by every fetch of the same name and value."""
    return EmailPolicy.header_fetch_parse(policy, name, value)


_POLICY = _Policy()


def _parse_bytes(raw: bytes, state: State) -> Message:
    try:
        msg = email.message_from_bytes(raw, policy=_POLICY)
    except RecursionError:
        state.warn("MIME structure nested too deeply to parse: the body is kept as raw text")
        return BytesParser(policy=_POLICY).parsebytes(raw, headersonly=True)
    except Exception as exc:
        state.warn(f"parsed with the compat32 policy ({type(exc).__name__})")
        return email.message_from_bytes(raw, policy=email.policy.compat32)
    return _recover_boundary(raw, msg, state)


def _recover_boundary(raw: bytes, msg: Message, state: State) -> Message:
    """A multipart whose Content-Type lost its boundary parameter: find the boundary in the body."""
    if not content_type(msg).startswith("multipart/") or msg.is_multipart():
        return msg
    body = msg.get_payload()
    if not isinstance(body, str):
        return msg
    candidates = re.findall(
        r"^--([\x21-\x7e][\x20-\x7e]{0,68}[\x21-\x7e])[ \t]*$", body[:200_000], re.MULTILINE
    )
    boundary = next((c for c in candidates if candidates.count(c) >= 2 or c.endswith("--")), None)
    if not boundary:
        return msg
    boundary = boundary[:-2] if boundary.endswith("--") and candidates.count(boundary) < 2 else boundary
    head, sep, rest = (
        raw.partition(b"\n\n") if b"\r\n\r\n" not in raw[:100_000] else raw.partition(b"\r\n\r\n")
    )
    fixed = re.sub(
        rb"(?im)^content-type:[^\n]*(?:\n[ \t][^\n]*)*",
        lambda m: b"Content-Type: " + content_type(msg).encode() + b'; boundary="' + boundary.encode() + b'"',
        head,
        count=1,
    )
    try:
        repaired = email.message_from_bytes(fixed + sep + rest, policy=_POLICY)
    except Exception:
        return msg
    if repaired.is_multipart():
        state.warn("multipart boundary missing from Content-Type; recovered from the body")
        return repaired
    return msg


# --- the message -------------------------------------------------------------------------------------


def _charset_hints(parts: list[Message]) -> tuple[str, ...]:
    hints: list[str] = []
    for part in parts:
        codec = codec_for(normalise_charset(param(part, "charset")))
        if codec and codec not in hints and codec not in ("ascii", "utf-8"):
            hints.append(codec)
    return tuple(hints[:5])


def _sender(msg: Message, state: State, unixfrom: str | None) -> tuple[str, str]:
    """(address, display name): From, else Sender, Reply-To, Return-Path, the mbox "From " line."""
    name_fallback = ""
    for header in ("From", "Sender", "Reply-To", "Return-Path"):
        values = hdr.raw_all(msg, header)
        pairs = hdr.parse_addresses(list(values), state.hints)
        if pairs:
            name, addr = pairs[0]
            if header != "From":
                state.warn(f"no usable From address; sender taken from {header}")
                name = name or name_fallback
            return addr, name
        if header == "From" and values:
            name_fallback = hdr.display_name_only(values[0], state.hints)
    if unixfrom:
        parts = unixfrom.split()
        if len(parts) >= 2:
            pairs = hdr.parse_addresses([parts[1]])
            if pairs:
                state.warn("no usable sender header; sender taken from the mbox From line")
                return pairs[0][1], name_fallback
    return "", name_fallback


def _references(msg: Message, own_id: str) -> tuple[str, ...]:
    ids: list[str] = []
    for value in hdr.raw_all(msg, "In-Reply-To"):
        ids.extend(hdr.message_ids(value))
    refs: list[str] = []
    for value in hdr.raw_all(msg, "References"):
        refs.extend(hdr.message_ids(value))
    ids.extend(reversed(refs))
    seen: set[str] = set()
    out: list[str] = []
    for i in ids:
        if i not in seen and i != own_id:
            seen.add(i)
            out.append(i)
    return tuple(out[:100])


def _looks_like_mail(msg: Message) -> bool:
    return any(str(k).lower() in _KNOWN_HEADERS for k, _ in msg.raw_items())


def parse_email(raw: bytes) -> InboundMessage:
    """Parse one raw message. Raises Unparseable only when there is neither a sender nor a body."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise Unparseable("expected bytes")
    raw = bytes(raw)
    if not raw.strip():
        raise Unparseable("empty message")
    try:
        return _parse(raw)
    except Unparseable:
        raise
    except Exception as exc:
        return _parse_minimal(raw, exc)


def _parse_minimal(raw: bytes, exc: Exception) -> InboundMessage:
    """Last resort after an unexpected failure: headers with compat32, the rest of the bytes as text."""
    state = State()
    state.warn(f"full parse failed ({type(exc).__name__}); headers and raw text kept")
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        sender, name = _sender(msg, state, msg.get_unixfrom())
        subject = hdr.decode_header(hdr.raw_first(msg, "Subject"))
        ids = [i for v in hdr.raw_all(msg, "Message-ID") for i in hdr.message_ids(v)]
    except Exception as inner:
        raise Unparseable(f"cannot parse: {type(exc).__name__}, then {type(inner).__name__}") from inner
    _, _, body_bytes = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    body = normalise(decode_bytes(body_bytes, None)[0])
    if not sender and not body.strip():
        raise Unparseable(f"cannot parse: {type(exc).__name__}")
    return InboundMessage(
        channel="email",
        sender=sender,
        body=body,
        external_id=ids[0] if ids else "sha256:" + hashlib.sha256(raw).hexdigest(),
        sender_name=name,
        subject=subject,
        warnings=tuple(state.warnings),
    )


def _parse(raw: bytes) -> InboundMessage:
    state = State()
    msg = _parse_bytes(_repair_header_lines(_repair_prefix(raw, state), state), state)
    parts = walk(msg)
    state.hints = _charset_hints(parts)
    if any(p.defects for p in parts):
        kinds = sorted({type(d).__name__ for p in parts for d in p.defects})
        state.warn("MIME defects repaired: " + ", ".join(kinds[:8]))

    sender, sender_name = _sender(msg, state, msg.get_unixfrom())
    recipients: list[str] = []
    for header in ("To", "Cc"):
        for _, addr in hdr.parse_addresses(hdr.raw_all(msg, header), state.hints):
            if addr not in recipients:
                recipients.append(addr)

    ids = [i for v in hdr.raw_all(msg, "Message-ID") for i in hdr.message_ids(v)]
    if ids:
        external_id = ids[0]
    else:
        external_id = "sha256:" + hashlib.sha256(raw).hexdigest()
        state.warn("no Message-ID: id derived from the content hash")

    subject = hdr.decode_header(hdr.raw_first(msg, "Subject"), state.hints)
    date_value = hdr.raw_first(msg, "Date")
    sent_at = hdr.parse_date(date_value) if date_value else None
    if date_value and sent_at is None:
        state.warn("unparseable Date header")

    collect(msg, state, 0)
    reasons, is_bounce = automated_reasons(msg, sender, lambda: parts, content_type)
    if is_bounce:  # a delivery report is not a reply: its quoted headers are the report itself
        new_text, quoted = assemble_plain(state).replace(QUOTE_MARK, ""), ""
    else:
        new_text, quoted = _split(assemble_plain(state))
    if not new_text.strip() and quoted.strip():
        new_text, quoted = quoted, ""
    forwarded = [normalise(f) for f in state.forwarded]
    new_text = "\n\n".join(p for p in (new_text, *forwarded) if p.strip())

    if not sender and not new_text.strip() and not state.attachments:
        raise Unparseable("no sender and no body")
    if not sender and not _looks_like_mail(msg):
        raise Unparseable("not a mail message: no sender and no recognisable header")

    bounce_of = None
    if is_bounce:
        bounce_of = bounced_message_id(lambda: parts, content_type, lambda p: part_text(p, State()))
    return InboundMessage(
        channel="email",
        sender=sender,
        body=new_text,
        external_id=external_id,
        sender_name=sender_name,
        subject=subject,
        recipients=tuple(recipients),
        references=_references(msg, external_id),
        automated=bool(reasons),
        automated_reason="; ".join(reasons),
        bounce_of=bounce_of,
        quoted=quoted,
        html=state.html,
        attachments=tuple(state.attachments),
        sent_at=sent_at,
        warnings=tuple(state.warnings),
    )


def _split(text: str) -> tuple[str, str]:
    """Split at the HTML quote mark (if any), then split the plain-text quoting in what remains."""
    before, mark, after = text.partition(QUOTE_MARK)
    new_text, quoted = split_quote(before)
    if mark:
        quoted = "\n\n".join(q for q in (quoted, after.strip("\n")) if q.strip())
    new_text = new_text.replace(QUOTE_MARK, "")
    quoted = "\n".join(line.rstrip() for line in quoted.replace(QUOTE_MARK, "").split("\n")).strip("\n")
    return new_text.strip("\n"), quoted
