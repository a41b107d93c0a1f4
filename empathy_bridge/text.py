"""Text hygiene shared by adapters and analyzers: HTML to text, control characters, caps.

Adapters call :func:`clean_text` when normalising a platform record, so an Interaction's ``text``
is always plain, valid Unicode of bounded size (:data:`MAX_STORED_CHARS`). Analyzers read at most
``[analysis] max_chars`` characters of it (:func:`cap`).
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

__all__ = ["MAX_STORED_CHARS", "cap", "clean_text", "html_to_text"]

#: Longest text kept on an Interaction (characters); longer texts are cut and marked.
MAX_STORED_CHARS = 65_536

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table"}
)
_SKIP_TAGS = frozenset({"script", "style", "head", "title"})


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS and self._skip:
            self._skip -= 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Visible text of an HTML fragment: tags, scripts and styles removed, entities decoded."""
    if "<" not in markup:
        return html.unescape(markup)
    parser = _TextExtractor()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # malformed markup: fall back to a crude strip rather than fail
        return html.unescape(re.sub(r"<[^>]*>", " ", markup))
    return "".join(parser.parts)


def clean_text(
    value: str | bytes | None, *, is_html: bool = False, limit: int = MAX_STORED_CHARS
) -> tuple[str, bool]:
    """Plain, valid text of at most ``limit`` characters, and whether it was cut.

    Bytes are decoded as UTF-8 with invalid sequences replaced; lone surrogates are replaced;
    control characters other than newline and tab are removed; whitespace is folded.
    """
    if value is None:
        return "", False
    if isinstance(value, bytes):
        text = value.decode("utf-8", errors="replace")
    else:
        text = value.encode("utf-8", errors="replace").decode("utf-8")
    # Cut well before parsing so a hostile 100 MB body costs bounded work.
    truncated = len(text) > limit * 4
    if truncated:
        text = text[: limit * 4]
    if is_html:
        text = html_to_text(text)
    text = _CONTROL.sub("", text)
    text = _BLANK_LINES.sub("\n\n", _SPACES.sub(" ", text)).strip()
    if len(text) > limit:
        return text[:limit], True
    return text, truncated


def cap(text: str, limit: int) -> tuple[str, bool]:
    """The first ``limit`` characters of ``text`` and whether anything was cut."""
    if len(text) <= limit:
        return text, False
    return text[:limit], True
