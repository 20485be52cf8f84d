"""HTML mail: sanitised for display (nh3) and turned into readable text with the quoted history marked."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

QUOTE_MARK = "\ue000"  # a private-use character put in the extracted text where the quoted history starts
MAX_HTML_CHARS = 5_000_000

_BLOCK = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "center",
        "dd",
        "details",
        "dialog",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "legend",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "ul",
    }
)
_SKIP = frozenset({"style", "script", "head", "title", "template", "noscript", "xml", "svg", "object"})
_VOID = frozenset(
    {
        "br",
        "hr",
        "img",
        "input",
        "meta",
        "link",
        "area",
        "base",
        "col",
        "embed",
        "param",
        "source",
        "track",
        "wbr",
        "basefont",
        "frame",
        "keygen",
    }
)
_OUTLOOK_SEPARATOR = re.compile(r"border-top\s*:\s*solid\s+#(?:b5c4df|e1e1e1)", re.IGNORECASE)


def _is_quote_start(tag: str, attrs: dict[str, str]) -> bool:
    classes = set(attrs.get("class", "").lower().split())
    ident = attrs.get("id", "").lower()
    if tag == "blockquote" and attrs.get("type", "").lower() == "cite":
        return True  # Apple Mail, Thunderbird
    if classes & {
        "gmail_quote",
        "gmail_quote_container",
        "yahoo_quoted",
        "moz-cite-prefix",
        "protonmail_quote",
        "zmail_extra",
        "ms-outlook-mobile-reference-message",
        "domino-section",
    }:
        return True
    if ident in (
        "divrplyfwdmsg",
        "appendonsend",
        "olk_src_body_section",
        "stopspelling",
        "isforwardcontent",
        "mail-editor-reference-message-container",
    ) or ident.startswith("yahoo_quoted"):
        return True
    if tag == "div" and _OUTLOOK_SEPARATOR.search(attrs.get("style", "")):
        return True  # Outlook's "From: ... Sent: ..." header box
    return tag == "blockquote" and "cite" in attrs


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip_depth = 0
        self.pre_depth = 0
        self.quote_marked = False
        self.list_stack: list[str] = []

    def _newline(self, count: int = 1) -> None:
        self.out.append("\n" * count)

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        tag = tag.lower()
        if tag in _SKIP:
            if tag not in _VOID:
                self.skip_depth += 1
            return
        attrs = {k.lower(): (v or "") for k, v in attrs_list}
        if not self.quote_marked and _is_quote_start(tag, attrs):
            self.quote_marked = True
            self._newline()
            self.out.append(QUOTE_MARK)
            self._newline()
        if tag == "br":
            self._newline()
        elif tag == "pre":
            self.pre_depth += 1
            self._newline()
        elif tag in ("ul", "ol"):
            self.list_stack.append(tag)
            self._newline()
        elif tag == "li":
            self._newline()
            self.out.append("- ")
        elif tag in ("td", "th"):
            self.out.append(" ")
        elif tag == "img" and self.skip_depth == 0:
            alt = attrs.get("alt", "").strip()
            if alt:
                self.out.append(f"[{alt}]")
        elif tag in _BLOCK:
            self._newline(2 if tag in ("p", "blockquote", "table", "h1", "h2", "h3") else 1)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag.lower() not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        tag = tag.lower()
        if tag in _SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
            return
        if tag == "pre":
            self.pre_depth = max(0, self.pre_depth - 1)
            self._newline()
        elif tag in ("ul", "ol"):
            if self.list_stack:
                self.list_stack.pop()
            self._newline()
        elif tag in _BLOCK:
            self._newline(2 if tag in ("p", "blockquote", "table", "h1", "h2", "h3") else 1)

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        if self.pre_depth:
            self.out.append(data)
        else:
            self.out.append(re.sub(r"[ \t\r\n\f]+", " ", data))


def html_to_text(html: str) -> str:
    """Readable text with line breaks; QUOTE_MARK on its own line where the quoted history starts."""
    parser = _Extractor()
    try:
        parser.feed(html[:MAX_HTML_CHARS])
        parser.close()
    except Exception:
        pass
    text = "".join(parser.out).replace("\xa0", " ")
    lines = [line.strip() for line in text.split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def sanitise(html: str) -> str:
    """Safe HTML for display: no scripts, handlers or remote tricks; cid: images kept."""
    try:
        return nh3.clean(
            html[:MAX_HTML_CHARS],
            url_schemes={"http", "https", "mailto", "cid", "tel"},
            link_rel="noopener noreferrer nofollow",
        )
    except Exception:
        return ""
