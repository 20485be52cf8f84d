"""Turning bytes of unknown or mislabelled encoding into text, never raising.

Mail declares charsets that are wrong (GBK bytes labelled GB2312, Windows-1252 labelled ISO-8859-1),
unknown to Python (``x-unknown``, ``unicode-1-1-utf-7``) or absent (raw 8-bit headers). We try the
declared one, then its usual superset, then UTF-8, then a guess from the byte pattern, and only then
a lossy Windows-1252 decode (which maps every byte, so it cannot fail).
"""

from __future__ import annotations

import codecs
import re

# a declared charset -> what senders actually mean by it (a superset that decodes what the label can't)
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "euc-cn": "gb18030",
    "cn-gb": "gb18030",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "ansi_x3.4-1968": "cp1252",
    "iso-8859-9": "cp1254",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "big5": "big5hkscs",
    "tis-620": "cp874",
    "windows-874": "cp874",
    "utf8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
}

_NOT_CHARSETS = frozenset(
    {
        "unicode-escape",
        "raw-unicode-escape",
        "punycode",
        "idna",
        "undefined",
        "unicode-internal",
        "mbcs",
        "oem",
    }
)
_CJK_HINTS = ("gb18030", "cp949", "cp932", "big5hkscs", "euc_jp")


def normalise_charset(name: str | None) -> str:
    """The lower-cased label without quotes, comments or junk (``"UTF-8"`` -> ``utf-8``)."""
    if not name:
        return ""
    cleaned = re.sub(r"[\s\"'<>()]", "", str(name)).lower()
    # labels like "charset=utf-8" or "utf-8;format=flowed" that leaked in from broken headers
    cleaned = cleaned.split(";")[0].split("=")[-1]
    return cleaned[:40]


def codec_for(name: str | None) -> str | None:
    """A Python codec name for a MIME charset label, or None when Python doesn't know it."""
    label = normalise_charset(name)
    if not label:
        return None
    label = _SUPERSETS.get(label, label)
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError):  # ValueError: a label with a NUL in it
        info = None
    if info is not None:
        # only real text encodings: no "base64"/"zlib" transforms, no "unicode_escape", "punycode"...
        if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
            return None
        return info.name
    # "windows1252", "cp-1252", "win-1251"
    m = re.fullmatch(r"(?:windows|win|cp|ms)[-_]?(\d{3,4})", label)
    if m:
        try:
            return codecs.lookup("cp" + m.group(1)).name
        except (LookupError, ValueError):
            return None
    return None


def _gb_pair_ratio(data: bytes) -> float:
    """How much of the 8-bit content forms EUC-style double-byte pairs (both bytes 0xA1..0xFE)."""
    high = 0
    pairs = 0
    i = 0
    n = len(data)
    while i < n:
        b = data[i]
        if b >= 0x80:
            high += 1
            if 0xA1 <= b <= 0xFE and i + 1 < n and 0xA1 <= data[i + 1] <= 0xFE:
                pairs += 2
                high += 1
                i += 2
                continue
        i += 1
    return pairs / high if high else 0.0


def guess_decode(data: bytes, hints: tuple[str, ...] = ()) -> tuple[str, str]:
    """Decode bytes with no trustworthy label: (text, codec used). Never raises."""
    if not data:
        return "", "ascii"
    try:
        return data.decode("ascii"), "ascii"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    # double-byte East Asian text: high bytes come in pairs within 0xA1..0xFE
    if _gb_pair_ratio(data) > 0.9:
        cjk = [h for h in hints if h in _CJK_HINTS] + ["gb18030"]
        for codec in cjk:
            text = strict_decode(data, codec)
            if text is not None:
                return text, codec
    for hint in hints:
        if hint in ("utf-8", "ascii"):
            continue
        text = strict_decode(data, hint)
        if text is not None:
            return text, hint
    return data.decode("cp1252", errors="replace"), "cp1252"


_NO_LABEL = frozenset(
    {
        "",
        "us-ascii",
        "ascii",
        "ansi_x3.4-1968",
        "unknown-8bit",
        "x-unknown",
        "unknown",
        "8bit",
        "default",
        "none",
        "x-user-defined",
        "binary",
    }
)
_SINGLE_BYTE_PREFIXES = ("cp12", "iso8859", "koi8", "mac", "latin", "cp8", "cp4", "cp7", "tis")


def decode_bytes(data: bytes, declared: str | None, hints: tuple[str, ...] = ()) -> tuple[str, str | None]:
    """Decode a part's bytes: (text, a warning or None). Never raises."""
    label = normalise_charset(declared)
    if label.startswith(("iso-2022", "iso2022", "utf-7", "hz", "csiso2022")):
        # 7-bit encodings with escape sequences: plain ASCII bytes that still need their codec
        codec7 = codec_for(label)
        decoded = strict_decode(data, codec7) if codec7 else None
        if decoded is not None:
            return decoded, None
    try:
        return data.decode("ascii"), None
    except UnicodeDecodeError:
        pass
    codec = None if label in _NO_LABEL else codec_for(label)
    if codec is None:
        text, used = guess_decode(data, hints)
        if label in _NO_LABEL:
            return text, (f"8-bit text labelled {label!r}; decoded as {used}" if label else None)
        return text, f"unknown charset {label!r}; decoded as {used}"
    if codec.startswith(_SINGLE_BYTE_PREFIXES):
        as_utf8 = strict_decode(data, "utf-8")
        if as_utf8 is not None:
            return as_utf8, f"text labelled {label!r} is UTF-8; decoded as utf-8"
    text_or_none = strict_decode(data, codec)
    if text_or_none is not None:
        return text_or_none, None
    text, used = guess_decode(data, (codec, *hints))
    return text, f"text does not decode as its charset {label!r}; decoded as {used}"


def strict_decode(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeError, LookupError, ValueError, TypeError):
        return None
