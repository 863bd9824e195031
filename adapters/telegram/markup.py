"""Screens as Bot API payloads: HTML-escaped text within Telegram's length limits, inline keyboards."""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from adapters.telegram.limits import clip
from ports.screens import Button, Keyboard


def html_text(text: str, limit: int) -> str:
    """Plain text for ``parse_mode=HTML``: cut to ``limit`` (Telegram counts after entity parsing), then escaped."""
    return html.escape(clip(text, limit), quote=False)


def inline_markup(keyboard: Keyboard) -> InlineKeyboardMarkup | None:
    rows = [[_button(button) for button in row] for row in keyboard if row]
    return InlineKeyboardMarkup(rows) if rows else None


def _button(button: Button) -> InlineKeyboardButton:
    if button.url is not None:
        return InlineKeyboardButton(text=button.label, url=button.url)
    if button.data is not None:
        return InlineKeyboardButton(text=button.label, callback_data=button.data)
    raise ValueError(f"button {button.label!r} has neither callback data nor a URL")


def inline_keyboard_json(keyboard: Keyboard) -> dict[str, list[list[dict[str, str]]]] | None:
    """The same keyboard as a Bot API ``InlineKeyboardMarkup`` object, built without PTB's classes (the send path
    of ``adapters/telegram/bot_calls.py``)."""
    rows = [[_button_json(button) for button in row] for row in keyboard if row]
    return {"inline_keyboard": rows} if rows else None


def _button_json(button: Button) -> dict[str, str]:
    if button.url is not None:
        return {"text": button.label, "url": button.url}
    if button.data is not None:
        return {"text": button.label, "callback_data": button.data}
    raise ValueError(f"button {button.label!r} has neither callback data nor a URL")
