"""Header values as real mail has them: RFC 2047 words (broken ones too), raw 8-bit bytes, junk addresses.

Everything here works on the raw header string the parser stored (8-bit bytes survive in it as
surrogate escapes) and never raises.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import quopri
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import Message

from channels.email.charsets import codec_for, guess_decode, strict_decode

MAX_HEADER_CHARS = 16_384  # a header longer than this is cut before it is parsed further
_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,60})\?([QqBb])\?(.*?)\?=", re.DOTALL)
_WS = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def raw_all(msg: Message, name: str) -> list[str]:
    """Every raw value of a header as the parser stored it (no policy parsing, which can raise)."""
    wanted = name.lower()
    try:
        items = msg.raw_items()
    except Exception:
        return []
    return [str(v) for k, v in items if str(k).lower() == wanted]


def raw_first(msg: Message, name: str) -> str:
    values = raw_all(msg, name)
    return values[0] if values else ""


def raw_to_text(value: object, hints: tuple[str, ...] = ()) -> str:
    """A stored header value (maybe with surrogate-escaped 8-bit bytes) as text, 8-bit bytes guessed."""
    text = str(value) if value is not None else ""
    if len(text) > MAX_HEADER_CHARS:
        text = text[:MAX_HEADER_CHARS]
    if not any("\udc80" <= ch <= "\udcff" or ch > "\x7f" for ch in text):
        return text
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8", "replace")
    decoded, _ = guess_decode(data, hints)
    return decoded


def _word_bytes(encoding: str, payload: str) -> bytes | None:
    """The bytes an encoded word carries, or None when it carries nothing decodable."""
    if encoding in "Bb":
        cleaned = re.sub(r"[^A-Za-z0-9+/]", "", payload)
        if not cleaned and payload.strip("="):
            return None
        cleaned = cleaned[: len(cleaned) - len(cleaned) % 4] if len(cleaned) % 4 == 1 else cleaned
        cleaned += "=" * (-len(cleaned) % 4)
        try:
            return base64.b64decode(cleaned)
        except (binascii.Error, ValueError):
            return None
    return quopri.decodestring(payload.replace("_", " ").encode("ascii", "replace"), header=False)


def _decode_word_group(charset: str, data: bytes, hints: tuple[str, ...]) -> str:
    codec = codec_for(charset.split("*")[0])  # RFC 2231 language suffix: "utf-8*en"
    if codec:
        text = strict_decode(data, codec)
        if text is not None:
            return text
    return guess_decode(data, ((codec,) if codec else ()) + hints)[0]


def decode_words(text: str, hints: tuple[str, ...] = ()) -> str:
    """Decode RFC 2047 encoded words wherever they are (inside quotes, glued to text, split mid-character)."""
    if "=?" not in text:
        return text
    out: list[str] = []
    pos = 0
    group_charset: str | None = None
    group_bytes = b""

    def flush() -> None:
        nonlocal group_charset, group_bytes
        if group_charset is not None:
            out.append(_decode_word_group(group_charset, group_bytes, hints))
        group_charset, group_bytes = None, b""

    for m in _ENCODED_WORD.finditer(text):
        between = text[pos : m.start()]
        charset = m.group(1).lower()
        data = _word_bytes(m.group(2), m.group(3))
        if data is None:  # undecodable: kept as the text it is
            flush()
            out.append(between + m.group(0))
            pos = m.end()
            continue
        if between and not (between.isspace() and group_charset is not None):
            flush()
            out.append(between)
        # adjacent words of one charset are joined before decoding: senders split multi-byte characters
        if group_charset is not None and charset != group_charset:
            flush()
        if group_charset is None:
            group_charset = charset
        group_bytes += data
        pos = m.end()
    flush()
    out.append(text[pos:])
    return "".join(out)


def clean_text(value: str) -> str:
    """Fold whitespace, drop control characters."""
    return _WS.sub(" ", _CONTROL.sub("", value)).strip()


def decode_header(value: object, hints: tuple[str, ...] = ()) -> str:
    """A free-text header (Subject, a display name) decoded and folded onto one line."""
    return clean_text(decode_words(raw_to_text(value, hints), hints))


# --- addresses ---------------------------------------------------------------------------------------

_ADDR_RE = re.compile(r"[^\s<>\"'(),;:\[\]\\]+@[^\s<>\"'(),;:\[\]\\]+")


def _valid_address(addr: str) -> str:
    addr = addr.strip().strip(".").strip()
    if addr.lower().startswith("mailto:"):
        addr = addr[7:]
    if not addr or addr.count("@") != 1 or any(ch.isspace() for ch in addr):
        return ""
    local, domain = addr.split("@")
    if not local or not domain or len(addr) > 320:
        return ""
    return addr.lower()


def parse_addresses(values: Sequence[object], hints: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(display name, lower-cased address) pairs from address headers, junk tolerated, invalid dropped."""
    result: list[tuple[str, str]] = []
    for value in values:
        text = clean_text(raw_to_text(value, hints))
        if not text:
            continue
        try:
            pairs = email.utils.getaddresses([text])
        except Exception:
            pairs = []
        found = False
        for name, addr in pairs:
            valid = _valid_address(addr)
            if valid:
                found = True
                result.append((clean_text(decode_words(name, hints)).strip("\"' "), valid))
        if not found:
            # "power quadrant system@example.com", "Name [mailto:a@b]": keep whatever forms an address
            for m in _ADDR_RE.finditer(text):
                valid = _valid_address(m.group(0))
                if valid:
                    name = text[: m.start()]
                    name = name[: name.rindex("<")] if "<" in name else name
                    name = name.strip().strip("\"' ").strip()
                    result.append((clean_text(decode_words(name, hints)).strip("\"' "), valid))
                    break
    return result


def display_name_only(value: object, hints: tuple[str, ...] = ()) -> str:
    """The display name of a From with no usable address (``MAILER DAEMON <>``)."""
    text = decode_header(value, hints)
    return clean_text(re.sub(r"<[^>]*>", "", text)).strip("\"' ")


# --- message ids -------------------------------------------------------------------------------------

_ID_RE = re.compile(r"<([^<>]*)>")


def message_ids(value: object) -> list[str]:
    """The ids in a Message-ID / In-Reply-To / References value, without <>, whitespace removed."""
    text = raw_to_text(value)
    ids = ["".join(m.group(1).split()) for m in _ID_RE.finditer(text)]
    ids = [i for i in ids if i and len(i) <= 998]
    if not ids:
        # no angle brackets at all: "20180802145828.58E7387959@mail.example.cz"
        ids = [tok.strip("<>,;\"'") for tok in text.split() if "@" in tok]
        ids = [i for i in ids if i and len(i) <= 998]
    return ids


# --- dates -------------------------------------------------------------------------------------------


def parse_date(value: object) -> datetime | None:
    text = clean_text(raw_to_text(value))
    if not text:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed
