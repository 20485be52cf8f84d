"""Walking a parsed message: which parts are the body text, which are attachments.

The body is text/plain where there is one (text/html turned into text otherwise); forwarded
message/rfc822 parts keep their text in the body; every other part becomes an Attachment.
"""

from __future__ import annotations

import binascii
import email.policy
import email.utils
import mimetypes
import re
from dataclasses import dataclass, field
from email.message import Message

from channels.base import Attachment
from channels.email import headers as hdr
from channels.email.charsets import decode_bytes
from channels.email.html import html_to_text, sanitise

MAX_DEPTH = 40  # MIME nesting below this is not descended into (its parts are ignored, with a warning)
MAX_PARTS = 500
MAX_FILENAME = 200
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


@dataclass
class State:
    warnings: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    plain: list[str] = field(default_factory=list)  # body pieces, in order
    forwarded: list[str] = field(default_factory=list)  # forwarded messages' text: body, never "quoted"
    html: str | None = None
    parts_seen: int = 0
    hints: tuple[str, ...] = ()

    def warn(self, text: str) -> None:
        if text not in self.warnings and len(self.warnings) < 50:
            self.warnings.append(text)


def content_type(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:
        return "text/plain"


def param(part: Message, name: str, header: str = "content-type") -> str:
    try:
        value = part.get_param(name, None, header=header)
    except Exception:
        return ""
    if isinstance(value, tuple):
        try:
            value = email.utils.collapse_rfc2231_value(value)
        except Exception:
            value = value[2]
    return str(value) if value else ""


def get_disposition(part: Message) -> str:
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:
        return ""


def payload_bytes(part: Message, state: State) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except (binascii.Error, ValueError, TypeError, LookupError, AssertionError) as exc:
        state.warn(f"undecodable transfer encoding ({type(exc).__name__}); raw content kept")
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    return b""


def part_text(part: Message, state: State) -> str:
    data = payload_bytes(part, state)
    charset = param(part, "charset")
    text, warning = decode_bytes(data, charset, state.hints)
    if warning:
        state.warn(warning)
    return text


def walk(msg: Message) -> list[Message]:
    """All parts, depth-first, bounded in depth and count (no recursion)."""
    out: list[Message] = []
    stack: list[tuple[Message, int]] = [(msg, 0)]
    while stack and len(out) < MAX_PARTS:
        part, depth = stack.pop()
        out.append(part)
        if depth < MAX_DEPTH and part.is_multipart():
            payload = part.get_payload()
            if isinstance(payload, list):
                stack.extend((p, depth + 1) for p in reversed(payload) if isinstance(p, Message))
    return out


# --- the body and the attachments --------------------------------------------------------------------


def _filename(part: Message, state: State) -> str:
    name = ""
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    if not name:
        name = param(part, "name")
    name = hdr.decode_header(name, state.hints)
    name = re.split(r"[/\\]", name)[-1]
    name = _CONTROL.sub("", name).strip().lstrip(".").strip()
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        ext = ext if dot and 0 < len(ext) <= 10 else ""
        name = (stem if dot and ext else name)[: MAX_FILENAME - len(ext) - 1].rstrip() + (
            "." + ext if ext else ""
        )
        name = name[:MAX_FILENAME]
    return name


_DSN_TYPES = frozenset(
    {"message/delivery-status", "message/global-delivery-status", "message/disposition-notification"}
)


def _safe_bytes(msg: Message) -> bytes:
    """A part serialised again; broken parts (8-bit junk in headers) degrade instead of raising."""
    try:
        return msg.as_bytes()
    except Exception:  # the generator raises on what the lenient parser accepted
        pass
    try:
        return msg.as_bytes(policy=email.policy.compat32)
    except Exception:
        pass
    try:
        return msg.as_string(policy=email.policy.compat32).encode("utf-8", "replace")
    except Exception:
        return b""


def _default_name(part: Message, ctype: str, index: int, state: State) -> str:
    if ctype in ("message/rfc822", "message/global"):
        inner = part.get_payload()
        subject = ""
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            subject = hdr.decode_header(hdr.raw_first(inner[0], "Subject"), state.hints)
        subject = re.sub(r"[/\\:*?\"<>|\x00-\x1f]", "_", subject)[:100].strip()
        return (subject or "forwarded message") + ".eml"
    ext = {
        "text/plain": ".txt",
        "text/html": ".html",
        "text/rfc822-headers": ".txt",
        "message/delivery-status": ".txt",
        "message/global-delivery-status": ".txt",
        "message/disposition-notification": ".txt",
        "image/jpeg": ".jpg",
    }.get(ctype) or mimetypes.guess_extension(ctype)
    return f"attachment-{index}{ext or '.bin'}"


def _add_attachment(part: Message, ctype: str, state: State, data: bytes | None = None) -> None:
    if data is None:
        data = payload_bytes(part, state)
    name = _filename(part, state) or _default_name(part, ctype, len(state.attachments) + 1, state)
    raw_cid = hdr.raw_to_text(hdr.raw_first(part, "Content-ID")).strip()
    cid = "".join(raw_cid.strip("<> \t").split()) or None
    disposition = get_disposition(part)
    inline = disposition == "inline" or (disposition != "attachment" and cid is not None)
    state.attachments.append(Attachment(name, ctype, data, cid, inline))


def _text_from_html(html_text: str, state: State) -> str:
    if state.html is None:
        state.html = sanitise(html_text)
    return html_to_text(html_text)


def _forward_header(msg: Message, state: State) -> str:
    lines = ["---------- Forwarded message ----------"]
    for name in ("From", "Date", "Subject", "To"):
        value = hdr.raw_first(msg, name)
        if value:
            lines.append(f"{name}: {hdr.decode_header(value, state.hints)}")
    return "\n".join(lines)


def collect(part: Message, state: State, depth: int, in_report: bool = False) -> None:
    """Walk one part: its text goes to the body, everything else to the attachments."""
    state.parts_seen += 1
    if state.parts_seen > MAX_PARTS:
        state.warn(f"more than {MAX_PARTS} MIME parts: the rest ignored")
        return
    if depth > MAX_DEPTH:
        state.warn(f"MIME nesting deeper than {MAX_DEPTH}: inner parts ignored")
        return
    ctype = content_type(part)
    if ctype in _DSN_TYPES:
        blocks = part.get_payload()
        data = (
            b"".join(_safe_bytes(b) for b in blocks if isinstance(b, Message))
            if isinstance(blocks, list)
            else payload_bytes(part, state)
        )
        _add_attachment(part, ctype, state, data)
        return
    if part.is_multipart() and ctype not in ("message/rfc822", "message/global"):
        children = [p for p in (part.get_payload() or []) if isinstance(p, Message)]
        if ctype == "multipart/alternative":
            _collect_alternative(children, state, depth)
        elif ctype == "multipart/report":
            for i, child in enumerate(children):
                if i == 0 and content_type(child).startswith(("text/", "multipart/")):
                    collect(child, state, depth + 1)
                else:
                    collect(child, state, depth + 1, in_report=True)
        else:  # mixed, related, signed, digest, and unknown multiparts
            for child in children:
                collect(child, state, depth + 1)
        return
    if ctype.startswith("multipart/"):
        # a multipart without parts (missing boundary): its text, if any, is the body
        payload = part.get_payload()
        if isinstance(payload, str) and payload.strip():
            state.plain.append(part_text(part, state))
        return
    if ctype in ("message/rfc822", "message/global"):
        payload = part.get_payload()
        inner = (
            payload[0] if isinstance(payload, list) and payload and isinstance(payload[0], Message) else None
        )
        if in_report or inner is None:
            _add_attachment(part, ctype, state, _safe_bytes(inner) if inner is not None else None)
            return
        if get_disposition(part) == "attachment":
            _add_attachment(part, ctype, state, _safe_bytes(inner))
        sub = State(hints=state.hints)
        collect(inner, sub, depth + 1)
        text = "\n\n".join(p for p in (assemble_plain(sub), *sub.forwarded) if p.strip())
        state.forwarded.append(_forward_header(inner, state) + ("\n\n" + text if text else ""))
        state.attachments.extend(sub.attachments)
        state.warnings.extend(w for w in sub.warnings if w not in state.warnings)
        return
    disposition = get_disposition(part)
    has_name = bool(_filename(part, state))
    if in_report or ctype not in ("text/plain", "text/html") or disposition == "attachment":
        _add_attachment(part, ctype, state)
        return
    if has_name and (state.plain or disposition != "inline"):
        _add_attachment(part, ctype, state)
        return
    text = part_text(part, state)
    if ctype == "text/html":
        state.plain.append(_text_from_html(text, state))
    else:
        state.plain.append(extract_uuencoded(text, state))


def _collect_alternative(children: list[Message], state: State, depth: int) -> None:
    """Prefer text/plain; keep the HTML alternative for display; attach what the alternatives carry."""
    plain = [c for c in children if content_type(c) == "text/plain" and get_disposition(c) != "attachment"]
    chosen: Message | None = None
    for candidate in plain:
        if part_text(candidate, State(hints=state.hints)).strip():
            chosen = candidate
            break
    for child in children:
        ctype = content_type(child)
        if child is chosen:
            collect(child, state, depth + 1)
        elif ctype == "text/html" and chosen is not None:
            if state.html is None:
                state.html = sanitise(part_text(child, state))
        elif ctype == "text/plain" and chosen is None:
            continue  # an empty plain alternative
        elif child.is_multipart() and chosen is not None:
            # e.g. multipart/related(html + images) next to the plain text: keep its HTML and images only
            sub = State(hints=state.hints)
            collect(child, sub, depth + 1)
            if state.html is None:
                state.html = sub.html
            state.attachments.extend(sub.attachments)
        elif chosen is None and (ctype == "text/html" or child.is_multipart()):
            before = len(state.plain)
            collect(child, state, depth + 1)
            if len(state.plain) > before:
                chosen = child
        elif chosen is None or not ctype.startswith("text/"):
            collect(child, state, depth + 1)


def assemble_plain(state: State) -> str:
    pieces = [p for p in (normalise(p) for p in state.plain) if p.strip()]
    return "\n\n".join(pieces)


def normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    lines = [line.rstrip() for line in text.split("\n")]
    return "\n".join(lines).strip("\n")


def extract_uuencoded(text: str, state: State) -> str:
    """Inline "begin 644 name ... end" blocks in a text body become attachments."""
    if "begin " not in text or "\nend" not in text:
        return text
    text = text.replace("\r\n", "\n")
    pattern = re.compile(r"^begin [0-7]{3,4} ([^\n]+)\n(.*?)\n`?[ \t]*\nend[ \t]*$", re.MULTILINE | re.DOTALL)

    def repl(m: re.Match[str]) -> str:
        data = bytearray()
        for line in m.group(2).split("\n"):
            if not line:
                continue
            try:
                data += binascii.a2b_uu(line)
            except ValueError:  # binascii.Error, or non-ASCII text
                return m.group(0)
        name = re.split(r"[/\\]", m.group(1).strip())[-1][:MAX_FILENAME] or "attachment.bin"
        ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        state.attachments.append(Attachment(name, ctype, bytes(data), None, False))
        return ""

    return pattern.sub(repl, text)
