"""What FakeBotApi knows and says: Telegram's limits and error descriptions, and the records it keeps."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

TOKEN = "123456789:TEST-fake-bot-token"
MIB = 1 << 20
UPLOAD_MAX = 50 * MIB
PHOTO_UPLOAD_MAX = 10 * MIB
PHOTO_BY_URL_MAX = 5 * MIB
BY_URL_MAX = 20 * MIB
GET_FILE_MAX = 20 * MIB

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
WEBHOOK_ACTIVE = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
TERMINATED = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
URL_FAILED = "Bad Request: failed to get HTTP URL content"
WRONG_TYPE = "Bad Request: wrong type of the web page content"
WRONG_FILE = "Bad Request: wrong file identifier/HTTP URL specified"
STARS_INVOICE_INVALID = "Bad Request: STARS_INVOICE_INVALID"
CHARGE_ALREADY_REFUNDED = "Bad Request: CHARGE_ALREADY_REFUNDED"
CHARGE_ID_INVALID = "Bad Request: CHARGE_ID_INVALID"  # an unknown charge, or another user's [approximation]


class ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.parameters = status, description, parameters


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Call:
    """One request as the fake understood it: parameters decoded to Python values, uploaded files by field."""

    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile]


@dataclass
class SentMessage:
    chat_id: int
    message_id: int
    kind: str  # "text", "photo", "video", "audio", "document", "invoice", or "user" (pushed by the test)
    text: str | None = None  # what the user sees: message text, or the caption of a media message
    html: str | None = None  # the text or caption as sent (before parse_mode)
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None
    media: str | None = None  # the URL or file_id sent, or "upload"
    upload: UploadedFile | None = None
    file_id: str | None = None
    from_bot: bool = True
    edits: int = 0
    invoice: dict[str, Any] | None = None  # kind "invoice": title, description, payload, currency, prices, total
    media_group_id: str | None = None  # the album it came in (sendMediaGroup)

    @property
    def stars(self) -> int | None:
        """The price of an invoice in Telegram Stars (``None`` for other messages or currencies)."""
        if self.invoice is None or self.invoice["currency"] != "XTR":
            return None
        return int(self.invoice["total_amount"])

    @property
    def buttons(self) -> list[list[tuple[str, str]]]:
        """The keyboard as rows of (label, callback_data or url)."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [[(b["text"], b.get("callback_data", b.get("url", ""))) for b in row] for row in rows]


@dataclass
class StoredFile:
    file_id: str
    data: bytes
    file_path: str
    announce_size: bool = True


@dataclass
class Charge:
    """A Stars payment Telegram knows about (made with :meth:`FakeBotApi.pay_invoice` or registered)."""

    user_id: int
    charge_id: str
    stars: int | None = None
    payload: str | None = None
    refunded: bool = False


@dataclass
class Failure:
    """A scripted answer for the next call of a method: an error status, or only a delay."""

    status: int | None
    description: str | None = None
    retry_after: int | None = None
    delay: float = 0.0


@dataclass
class Poll:
    """A getUpdates call in progress."""

    terminated: bool = False
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
