"""A chat window in memory: the simulator's Messenger. It keeps the bot's messages (so edits land where
Telegram would put them) and prints every effect as text with numbered buttons."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence
from urllib.parse import unquote, urlparse

from ports.effects import (
    AnswerCallback,
    AnswerPreCheckout,
    EditScreen,
    Effect,
    SendFile,
    SendAlbum,
    SendInvoice,
    SendMedia,
    SendScreen,
)
from ports.screens import Button, Keyboard


@dataclass
class ChatMessage:
    id: int
    text: str
    keyboard: Keyboard = ()
    media: SendMedia | None = None

    def buttons(self) -> tuple[Button, ...]:
        return tuple(button for row in self.keyboard for button in row)


def show_url(url: str) -> str:
    """file:// URLs as plain paths a terminal can open; anything else as is."""
    parsed = urlparse(url)
    return str(Path(unquote(parsed.path))) if parsed.scheme == "file" else url


def render_keyboard(keyboard: Keyboard) -> list[str]:
    lines, number = [], 0
    for row in keyboard:
        cells = []
        for button in row:
            number += 1
            cells.append(f"[{number}] {button.label}")
        lines.append("   ".join(cells))
    return lines


class SimulatedChat:
    def __init__(self, output: Callable[[str], None] = print) -> None:
        self._output = output
        self.messages: dict[int, ChatMessage] = {}
        self.toasts: list[str] = []
        self.effects: list[Effect] = []
        self.invoices: list[SendInvoice] = []
        self.pre_checkout_answers: list[AnswerPreCheckout] = []
        self._next_id = 1
        # The message whose buttons the numbers press: the last one sent or edited that has buttons.
        self.focus: int | None = None

    async def apply(self, effects: Sequence[Effect]) -> None:
        for effect in effects:
            self.effects.append(effect)
            if isinstance(effect, SendScreen):
                self._store(ChatMessage(self._new_id(), effect.screen.text, effect.screen.keyboard), "bot")
            elif isinstance(effect, EditScreen):
                message = ChatMessage(effect.message_id, effect.screen.text, effect.screen.keyboard)
                self._store(message, f"bot, edited #{effect.message_id}")
            elif isinstance(effect, SendMedia):
                text = f"📎 {effect.kind.value}: {show_url(effect.url)}" + (f"\n{effect.caption}" if effect.caption else "")
                self._store(ChatMessage(self._new_id(), text, effect.keyboard, effect), "bot")
            elif isinstance(effect, SendAlbum):
                files = "\n".join(f"  {index}. {show_url(url)}" for index, url in enumerate(effect.urls, 1))
                text = f"🗂 album of {len(effect.urls)} {effect.kind.value}s:\n{files}" + (
                    f"\n{effect.caption}" if effect.caption else "")
                self._store(ChatMessage(self._new_id(), text), "bot, album")
            elif isinstance(effect, SendFile):
                text = f"📎 {effect.kind.value} (Telegram file {effect.file_id})" + (f"\n{effect.caption}" if effect.caption else "")
                self._store(ChatMessage(self._new_id(), text, effect.keyboard), f"bot → chat {effect.chat_id}")
            elif isinstance(effect, SendInvoice):
                self.invoices.append(effect)
                text = f"🧾 {effect.title}\n{effect.description}\n{effect.stars} ⭐ — type /pay to pay it"
                self._store(ChatMessage(self._new_id(), text), "bot, invoice")
            elif isinstance(effect, AnswerPreCheckout):
                self.pre_checkout_answers.append(effect)
                self._output("✔️ payment accepted" if effect.ok else f"✖️ payment refused: {effect.error_message}")
            elif isinstance(effect, AnswerCallback) and effect.text:
                self.toasts.append(effect.text)
                self._output(f"💬 {effect.text}")

    def focused(self) -> ChatMessage | None:
        return self.messages.get(self.focus) if self.focus is not None else None

    def last(self) -> ChatMessage | None:
        return self.messages[max(self.messages)] if self.messages else None

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def _store(self, message: ChatMessage, header: str) -> None:
        self.messages[message.id] = message
        if message.keyboard:
            self.focus = message.id
        elif self.focus == message.id:
            self.focus = None
        self._output("\n".join([f"── #{message.id} {header} ──", message.text, *render_keyboard(message.keyboard)]))
