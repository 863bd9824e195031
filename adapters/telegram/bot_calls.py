"""The messenger's hot Bot API calls with their JSON built here: ``sendMessage``, ``editMessageText`` and
``answerCallbackQuery`` (almost every call an update makes).

Why: going through ``Bot.send_message`` builds PTB objects for the markup and the parameters and parses the
answer into a ``Message`` nobody reads; issue 15's profile measured that layer (see BENCHMARKS.md). Here the
payload is a plain dict sent as ``application/json`` (:meth:`AiohttpRequest.post_json`); errors are PTB's own
(``BadRequest``, ``RetryAfter``…) because the answer still goes through ``BaseRequest``'s status handling, so
:class:`adapters.telegram.limits.ApiCaller` treats both paths alike. Every other method keeps PTB's ``Bot``.

With another ``BaseRequest`` (PTB's ``HTTPXRequest`` in a test), the same payload goes through that request's
``post`` exactly as ``Bot`` would encode it.
"""

from __future__ import annotations

from typing import Any

from telegram import Bot
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from adapters.telegram.aiohttp_request import AiohttpRequest


class BotCalls:
    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send_message(self, chat_id: int, text: str, markup: dict[str, Any] | None,
                           thread_id: int | None = None) -> None:
        payload: dict[str, Any] = {"chat_id": chat_id, "text": text, "parse_mode": "HTML"}
        if markup is not None:
            payload["reply_markup"] = markup
        if thread_id is not None:
            payload["message_thread_id"] = thread_id
        await self.post("sendMessage", payload)

    async def edit_message_text(self, chat_id: int, message_id: int, text: str, markup: dict[str, Any] | None) -> None:
        payload: dict[str, Any] = {"chat_id": chat_id, "message_id": message_id, "text": text, "parse_mode": "HTML"}
        if markup is not None:
            payload["reply_markup"] = markup
        await self.post("editMessageText", payload)

    async def answer_callback_query(self, callback_id: str, text: str | None, alert: bool) -> None:
        payload: dict[str, Any] = {"callback_query_id": callback_id, "show_alert": alert}
        if text:
            payload["text"] = text
        await self.post("answerCallbackQuery", payload)

    async def post(self, method: str, payload: dict[str, Any]) -> Any:
        url = f"{self._bot.base_url}/{method}"
        request = self._bot.request
        if isinstance(request, AiohttpRequest):
            return await request.post_json(url, payload)
        data = RequestData([RequestParameter.from_input(name, value) for name, value in payload.items()])
        return await request.post(url, data)
