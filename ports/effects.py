"""Outbound effects: what the core asks a messenger to do. The Telegram messenger turns them into Bot
API calls; the simulator prints them. Both go through the same core, so the simulator shows what users get."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Mapping, Protocol, Sequence

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


class DeliveryNote(str, Enum):
    """Why a result went in another form than asked; the core gives a short explanation for each."""

    PHOTO_TOO_LARGE = "photo_too_large"  # over the photo upload limit: sent as a file
    PHOTO_DIMENSIONS = "photo_dimensions"  # w + h or the side ratio beyond what Telegram shows as a photo: a file
    TRANSPARENT = "transparent"  # a PNG with transparency: a file keeps it (a photo would be flattened)
    TOO_LARGE = "too_large"  # over every upload limit: sent as a link


@dataclass(frozen=True)
class SendMedia:
    """A generated file. ``url`` is http(s) or file:// (the messenger uploads local files).

    ``notes``: DeliveryNote value → a short explanation the messenger adds to the caption (or the link's text)
    when it has to send the file in another form (a photo as a document, anything as a link)."""

    chat_id: int
    kind: ResultKind
    url: str
    caption: str = ""
    keyboard: Keyboard = ()
    notes: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)


ALBUM_MAX = 10  # Telegram's sendMediaGroup takes 2-10 items


@dataclass(frozen=True)
class SendAlbum:
    """Several files of one result as one album (``sendMediaGroup``): 2-10 files of one kind, the caption on
    the first. An album carries no buttons: the core sends them in a message of their own after it."""

    chat_id: int
    kind: ResultKind  # PHOTO, VIDEO, AUDIO or DOCUMENT
    urls: tuple[str, ...]
    caption: str = ""
    notes: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    def items(self) -> tuple[SendMedia, ...]:
        """The album as single files (the caption on the first), e.g. when Telegram refuses the album."""
        return tuple(SendMedia(self.chat_id, self.kind, url, self.caption if index == 0 else "", (), self.notes)
                     for index, url in enumerate(self.urls))


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


Effect = SendScreen | EditScreen | AnswerCallback | SendMedia | SendAlbum | SendFile | SendInvoice | AnswerPreCheckout


class RecipientBlockedError(Exception):
    """The recipient blocked the bot, was deactivated, removed the bot from the group or the chat is gone:
    stop sending to them. ``chat_id`` names the recipient of the failed message (not the update's sender)."""

    def __init__(self, message: str = "", chat_id: int | None = None) -> None:
        super().__init__(message)
        self.chat_id = chat_id


class MessengerUnavailableError(Exception):
    """The messaging service did not accept the effect now (network, 5xx); it may be retried later."""


class ResultRefusedError(Exception):
    """The result itself cannot be delivered, now or ever: its link has a scheme the messenger refuses
    (``ftp:``, ``javascript:``, ``file://`` outside the in-process fake generator). The job fails and is
    refunded rather than retried."""


class Messenger(Protocol):
    async def apply(self, effects: Sequence[Effect]) -> None:
        """Carry out the effects in order."""
        ...
