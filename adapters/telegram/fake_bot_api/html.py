"""Telegram's text rules: ``parse_mode=HTML`` parsing (supported tags only, properly nested) and length in
UTF-16 code units, as Telegram counts it."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from adapters.telegram.fake_bot_api.models import ApiError

_HTML_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code", "pre",
              "blockquote", "tg-emoji"}


class _TelegramHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_TAGS:
            raise ApiError(400, f'Bad Request: can\'t parse entities: Unsupported start tag "{tag}" at byte offset '
                                f"{self.getpos()[1]}")
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            raise ApiError(400, f'Bad Request: can\'t parse entities: Unmatched end tag "{tag}"')

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def parse_text(source: Any, parse_mode: Any) -> str:
    """The text the user sees: ``source`` with its HTML markup removed if ``parse_mode`` is HTML."""
    if source is None:
        return ""
    text = str(source)
    if parse_mode is None or str(parse_mode).upper() != "HTML":
        return text
    parser = _TelegramHtml()
    parser.feed(text)
    parser.close()
    if parser.open:
        raise ApiError(400, f'Bad Request: can\'t parse entities: Can\'t find end tag corresponding to start tag "{parser.open[-1]}"')
    return "".join(parser.parts)


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
