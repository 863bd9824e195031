"""Outbound effects: what the core asks a messenger to do. The Telegram messenger turns them into Bot
API calls; the simulator prints them. Both go through the same core, so the simulator shows what users get."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol, Sequence

from ports.screens import Keyboard, Screen


class ResultKind(str, Enum):
    PHOTO = "photo"
    VIDEO = "video"
    AUDIO = "audio"
    DOCUMENT = "document"
    LINK = "link"


@dataclass(frozen=True)
class SendScreen:
    chat_id: int
    screen: Screen
    thread_id: int | None = None  # a forum topic (message_thread_id): the reply goes to the topic it answers


@dataclass(frozen=True)
class EditScreen:
    """Replace the text and keyboard of an earlier bot message."""

    chat_id: int
    message_id: int
    screen: Screen


@dataclass(frozen=True)
class AnswerCallback:
    callback_id: str
    text: str = ""
    alert: bool = False


@dataclass(frozen=True)
class SendMedia:
    """A generated file. ``url`` is http(s) or file:// (the messenger uploads local files)."""

    chat_id: int
    kind: ResultKind
    url: str
    caption: str = ""
    keyboard: Keyboard = ()


@dataclass(frozen=True)
class SendFile:
    """Re-send a file Telegram already has (a receipt to admins, a broadcast photo) by its file_id."""

    chat_id: int
    kind: ResultKind  # PHOTO or DOCUMENT
    file_id: str
    caption: str = ""
    keyboard: Keyboard = ()


@dataclass(frozen=True)
class SendInvoice:
    """A Telegram Stars invoice (currency XTR, one price in whole Stars)."""

    chat_id: int
    title: str  # 1-32 characters
    description: str  # 1-255 characters
    payload: str  # 1-128 bytes, names the package
    stars: int


@dataclass(frozen=True)
class AnswerPreCheckout:
    query_id: str
    ok: bool
    error_message: str = ""


Effect = SendScreen | EditScreen | AnswerCallback | SendMedia | SendFile | SendInvoice | AnswerPreCheckout


class RecipientBlockedError(Exception):
    """The recipient blocked the bot, was deactivated, removed the bot from the group or the chat is gone:
    stop sending to them. ``chat_id`` names the recipient of the failed message (not the update's sender)."""

    def __init__(self, message: str = "", chat_id: int | None = None) -> None:
        super().__init__(message)
        self.chat_id = chat_id


class MessengerUnavailableError(Exception):
    """The messaging service did not accept the effect now (network, 5xx); it may be retried later."""


class Messenger(Protocol):
    async def apply(self, effects: Sequence[Effect]) -> None:
        """Carry out the effects in order."""
        ...
