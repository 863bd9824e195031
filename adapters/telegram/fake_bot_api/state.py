"""BotState: what the fake Telegram remembers (chats and their messages, files, updates, webhook, answered
queries) and the helpers every Bot API method uses on it. The method groups (messages, media, updates,
payments) are mixins over this state; :class:`~adapters.telegram.fake_bot_api.server.FakeBotApi` combines them."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from typing import Any

import aiohttp

from adapters.telegram.fake_bot_api.models import ApiError, Charge, Poll, SentMessage, StoredFile


class BotState:
    def __init__(self, token: str, bot_id: int, bot_username: str, *, local: bool = False) -> None:
        self.token = token
        self.local = local  # like ``telegram-bot-api --local``: a webhook may be http://, any host and port
        self.bot_user = {"id": bot_id, "is_bot": True, "first_name": "TRT Fake", "username": bot_username}
        self._session: aiohttp.ClientSession | None = None  # for media sent by URL, open while the server runs
        self._messages: dict[int, dict[int, SentMessage]] = defaultdict(dict)
        self._next_message_id: dict[int, int] = defaultdict(lambda: 1)
        self._files: dict[str, StoredFile] = {}
        self._blocked: set[int] = set()
        self._callbacks: set[str] = set()
        self._pre_checkouts: set[str] = set()
        self._charges: dict[str, Charge] = {}
        self._next_charge = 1
        self.pre_checkout_answers: dict[str, dict[str, Any]] = {}
        self.refunds: list[tuple[int, str]] = []  # (user_id, charge_id) of each accepted refundStarPayment
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 100_000
        self._allowed: list[str] = []
        self._polls: list[Poll] = []
        self.webhook: dict[str, Any] | None = None
        self.webhook_error: tuple[int, str] | None = None  # (unix time, message) of the last failed delivery
        self.delivered: list[dict[str, Any]] = []  # updates the webhook took (with deliver_webhooks=True)
        self._delivery_wakeup = asyncio.Event()

    def _target_chat(self, params: dict[str, Any]) -> int:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        if not isinstance(chat_id, int):
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _store(self, chat_id: int, message: SentMessage) -> SentMessage:
        message.message_id = self._next_message_id[chat_id]
        self._next_message_id[chat_id] += 1
        self._messages[chat_id][message.message_id] = message
        return message

    def _new_file(self, kind: str, data: bytes) -> StoredFile:
        number = len(self._files) + 1
        stored = StoredFile(f"{kind}-{number}", data, f"{kind}s/file_{number}.bin")
        self._files[stored.file_id] = stored
        return stored

    def _message_json(self, message: SentMessage) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": message.chat_id, "type": "private" if message.chat_id > 0 else "supergroup"}
        if message.chat_id < 0:
            chat["title"] = "Group"
        else:
            chat["first_name"] = "User"
        body: dict[str, Any] = {"message_id": message.message_id, "from": self.bot_user, "chat": chat,
                                "date": int(time.time())}
        if message.edits:
            body["edit_date"] = int(time.time())
        if message.kind == "text":
            body["text"] = message.text
        elif message.kind == "invoice" and message.invoice is not None:
            invoice = message.invoice
            body["invoice"] = {"title": invoice["title"], "description": invoice["description"], "start_parameter": "",
                               "currency": invoice["currency"], "total_amount": invoice["total_amount"]}
        elif message.kind in ("photo", "video", "audio", "document"):
            body[message.kind] = _media_json(message)
            if message.text:
                body["caption"] = message.text
        if message.media_group_id:
            body["media_group_id"] = message.media_group_id
        if message.reply_markup:
            body["reply_markup"] = message.reply_markup
        return body

    def _wake_polls(self) -> None:
        for poll in self._polls:
            poll.wakeup.set()
        self._delivery_wakeup.set()


def _media_json(message: SentMessage) -> Any:
    size = len(message.upload.data) if message.upload else 0
    base = {"file_id": message.file_id, "file_unique_id": f"u-{message.file_id}", "file_size": size}
    if message.kind == "photo":
        return [{**base, "width": 512, "height": 512}]
    if message.kind == "video":
        return {**base, "width": 512, "height": 512, "duration": 1}
    if message.kind == "audio":
        return {**base, "duration": 1}
    return {**base, "file_name": message.upload.filename if message.upload else "file.bin"}
