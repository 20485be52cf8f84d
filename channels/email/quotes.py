"""Splitting the new text of a reply from the quoted history.

Two shapes exist. Inline quoting marks old text with ">" (maybe after an "On ... wrote:" line) and new
text can sit above, below or between. Top-posting (Outlook, Gmail's plain part, mobile clients) puts a
header block such as "-----Original Message-----", "From: ... Sent: ..." or "On ... wrote:" before the
unmarked old text: everything from that header on is history.
"""

from __future__ import annotations

import re

_ORIGINAL_MESSAGE = re.compile(
    r"^\s*[-_=]{2,}\s*(?:original message|ursprüngliche nachricht|original-nachricht|originalnachricht|"
    r"message d'origine|message original|mensaje original|messaggio originale|oorspronkelijk bericht|"
    r"originalmeddelande|oprindelig meddelelse|opprinnelig melding|original mail message|"
    r"original email message)\s*[-_=]{0,}\s*$",
    re.IGNORECASE,
)
_HEADER_FROM = re.compile(r"^\*?(?:from|von|de|van|da|från|fra|od|от)\s*:\*?\s*\S", re.IGNORECASE)
_HEADER_NEXT = re.compile(
    r"^\s*\*?(?:sent|date|gesendet|datum|envoyé|enviado|fecha|inviato|verzonden|skickat|sendt|wysłane|"
    r"to|an|à|para|a|aan|till|til|do|cc|subject|betreff|objet|asunto|oggetto|onderwerp|ämne|emne|temat)"
    r"\s*:",
    re.IGNORECASE,
)
_ATTRIBUTION = re.compile(
    r"^\s*(?:on|am|le|el|il|op|den|em|w dniu|в|dne)\b.{0,400}?"
    r"(?:wrote|schrieb|a écrit|escribió|ha scritto|schreef|skrev|napisał|написал|escreveu|napsal)"
    r"(?:\s.{0,200})?\s*:\s*$",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(r"^\s*(?:_{5,}|-{5,}|={5,})\s*$")


def _is_quote_line(line: str) -> bool:
    return line.lstrip(" ").startswith(">")


def _attribution_at(lines: list[str], i: int) -> int:
    """Number of lines (1 or 2) forming an "On ... wrote:" line at i, or 0."""
    line = lines[i]
    if len(line) > 500:
        return 0
    if _ATTRIBUTION.match(line):
        return 1
    if (
        i + 1 < len(lines)
        and len(lines[i + 1]) < 300
        and _ATTRIBUTION.match(line + " " + lines[i + 1])
        and re.match(r"^\s*(?:on|am|le|el|il|op|den|em|w dniu|в|dne)\b", line, re.IGNORECASE)
    ):
        return 2
    return 0


def _header_block_at(lines: list[str], i: int) -> bool:
    """An Outlook-style "From: x / Sent: y / To: z / Subject: w" block starts at i."""
    if not _HEADER_FROM.match(lines[i]):
        return False
    nxt = [ln for ln in lines[i + 1 : i + 6] if ln.strip()]
    return sum(1 for ln in nxt[:4] if _HEADER_NEXT.match(ln)) >= 2


def _next_nonblank(lines: list[str], start: int) -> int:
    j = start
    while j < len(lines) and not lines[j].strip():
        j += 1
    return j


def split_quote(text: str) -> tuple[str, str]:
    """(new text, quoted history)."""
    lines = text.split("\n")
    body: list[str] = []
    quoted: list[str] = []
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        if _ORIGINAL_MESSAGE.match(line) or _header_block_at(lines, i):
            quoted.extend(lines[i:])
            break
        span = _attribution_at(lines, i)
        if span:
            j = _next_nonblank(lines, i + span)
            if j < n and _is_quote_line(lines[j]):
                quoted.extend(lines[i : i + span])
                i += span
                continue
            # "On ... wrote:" followed by unmarked text: top-posted reply, the rest is history
            quoted.extend(lines[i:])
            break
        if _is_quote_line(line):
            quoted.append(line)
        else:
            body.append(line)
        i += 1
    # separator lines ("________", "-----") left dangling at the end of the new text belong to the quote
    while quoted and body and (not body[-1].strip() or _SEPARATOR.match(body[-1])):
        if _SEPARATOR.match(body[-1]):
            quoted.insert(0, body[-1])
        body.pop()
    return "\n".join(body).strip("\n"), "\n".join(quoted).strip("\n")
