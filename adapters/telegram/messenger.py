"""The ``Messenger`` port on the Telegram Bot API (python-telegram-bot's ``Bot`` as a plain async client).

Effects are applied in order, one Bot API call (or a short fallback chain) each:

- ``SendScreen`` → ``sendMessage`` (text HTML-escaped, cut to 4096 with "…", inline keyboard, in its forum topic);
- ``EditScreen`` → ``editMessageText``; "message is not modified" counts as done; a message that is gone or
  cannot be edited is sent anew instead;
- ``AnswerCallback`` → ``answerCallbackQuery`` (never paced: the client shows a spinner until it arrives); a
  query that is too old is logged and skipped;
- ``SendMedia`` → :class:`adapters.telegram.media_sender.MediaSender` (by URL, by upload, or as a link);
- ``SendAlbum`` → ``sendMediaGroup`` (:class:`adapters.telegram.albums.AlbumSender`), else file by file;
- ``SendFile`` → ``sendPhoto`` / ``sendDocument`` by ``file_id`` with caption and keyboard (paced);
- ``SendInvoice`` → ``sendInvoice`` in Telegram Stars, limits checked first (paced); ``AnswerPreCheckout`` →
  ``answerPreCheckoutQuery``, never paced (10 s deadline): :class:`adapters.telegram.invoices.InvoiceSender`.

Errors reach the caller as the port's ``RecipientBlockedError`` / ``MessengerUnavailableError`` (see
:class:`adapters.telegram.limits.ApiCaller`). Sends are paced per chat and overall by
:class:`adapters.telegram.limits.FloodLimiter`; all waiting goes through the injected ``sleep``.

Logging: these modules log method, chat and lengths, never texts or the token. Deployments must keep the
``httpx`` logger at WARNING (at INFO it logs Bot API URLs, which contain the token) and the ``telegram``
logger at INFO or above (at DEBUG PTB logs every call's parameters, message texts included, and its base URL
with the token).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

import httpx
from telegram import Bot
from telegram.error import BadRequest

from adapters.telegram.albums import AlbumSender
from adapters.telegram.bot_calls import BotCalls
from adapters.telegram.invoices import InvoiceSender
from adapters.telegram.limits import (
    CALLBACK_TEXT_LIMIT,
    TEXT_LIMIT,
    ApiCaller,
    Clock,
    FloodLimiter,
    Sleep,
    clip,
)
from adapters.telegram.markup import html_text, inline_keyboard_json
from adapters.telegram.media_sender import MediaSender
from adapters.telegram.result_links import ResultLinks
from ports.budgets import PaceSettings, SendPace
from ports.effects import (
    AnswerCallback,
    AnswerPreCheckout,
    EditScreen,
    Effect,
    SendAlbum,
    SendFile,
    SendInvoice,
    SendMedia,
    SendScreen,
)
from ports.screens import Keyboard

log = logging.getLogger(__name__)

_NOT_MODIFIED = "message is not modified"
_EDIT_IMPOSSIBLE = (
    "message to edit not found",
    "message can't be edited",
    "there is no text in the message to edit",
)
_STALE_QUERY = ("query is too old", "query id is invalid")


class TelegramMessenger:
    def __init__(
        self,
        bot: Bot,
        *,
        per_chat_interval: float = 1.0,
        global_per_second: float = 30,
        http_client: httpx.AsyncClient | None = None,
        chat_burst: int = 3,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        flood_retries: int = 5,
        network_attempts: int = 3,
        links: ResultLinks | None = None,
    ) -> None:
        self._bot = bot
        self._api = BotCalls(bot)  # the hot methods' JSON built here, not through PTB's objects
        limiter = FloodLimiter(
            per_chat_interval=per_chat_interval, chat_burst=chat_burst, global_per_second=global_per_second,
            sleep=sleep, clock=clock,
        )
        self._limiter = limiter
        self._calls = ApiCaller(limiter, sleep=sleep, flood_retries=flood_retries, network_attempts=network_attempts)
        links = links or ResultLinks()
        self._media = MediaSender(bot, self._calls, send_text=self.send_text, http_client=http_client, links=links)
        self._albums = AlbumSender(bot, self._calls, self._media, links)
        self._invoices = InvoiceSender(bot, self._calls)

    def share_pace(self, make: Callable[[PaceSettings], SendPace]) -> None:
        """Keep Telegram's pace in a budget every instance shares: ``make`` builds it from this messenger's pace."""
        self._limiter.share(make(self._limiter.settings))

    async def aclose(self) -> None:
        await self._media.aclose()

    async def apply(self, effects: Sequence[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, SendScreen):
                await self.send_text(effect.chat_id, effect.screen.text, effect.screen.keyboard, effect.thread_id)
            elif isinstance(effect, EditScreen):
                await self._edit(effect)
            elif isinstance(effect, AnswerCallback):
                await self._answer(effect)
            elif isinstance(effect, SendMedia):
                await self._media.send(effect)
            elif isinstance(effect, SendAlbum):
                await self._albums.send(effect)
            elif isinstance(effect, SendFile):
                await self._media.send_file(effect)
            elif isinstance(effect, SendInvoice):
                await self._invoices.send(effect)
            elif isinstance(effect, AnswerPreCheckout):
                await self._invoices.answer(effect)
            else:
                raise TypeError(f"TelegramMessenger cannot apply {type(effect).__name__}")

    async def send_text(self, chat_id: int, text: str, keyboard: Keyboard = (), thread_id: int | None = None) -> None:
        """``thread_id``: the forum topic to post in (``message_thread_id``); None for the chat itself."""
        body = html_text(text, TEXT_LIMIT)
        markup = inline_keyboard_json(keyboard)
        log.debug("TELEGRAM_SEND method=sendMessage chat=%s text_len=%d", chat_id, len(text))
        await self._calls.call("sendMessage", chat_id, lambda: self._api.send_message(chat_id, body, markup, thread_id))

    async def _edit(self, effect: EditScreen) -> None:
        body = html_text(effect.screen.text, TEXT_LIMIT)
        markup = inline_keyboard_json(effect.screen.keyboard)
        log.debug("TELEGRAM_SEND method=editMessageText chat=%s message_id=%s text_len=%d",
                  effect.chat_id, effect.message_id, len(effect.screen.text))
        try:
            await self._calls.call(
                "editMessageText", effect.chat_id,
                lambda: self._api.edit_message_text(effect.chat_id, effect.message_id, body, markup),
                expected=lambda error: _mentions(error, (_NOT_MODIFIED, *_EDIT_IMPOSSIBLE)),
            )
        except BadRequest as error:
            if _mentions(error, (_NOT_MODIFIED,)):
                log.debug("TELEGRAM_EDIT_UNCHANGED", extra={"chat": effect.chat_id, "message_id": effect.message_id})
                return
            log.info("TELEGRAM_EDIT_FALLBACK chat=%s message_id=%s reason=%s",
                     effect.chat_id, effect.message_id, error.message)
            await self.send_text(effect.chat_id, effect.screen.text, effect.screen.keyboard)

    async def _answer(self, effect: AnswerCallback) -> None:
        text = clip(effect.text, CALLBACK_TEXT_LIMIT) or None
        try:
            await self._calls.call(
                "answerCallbackQuery", None,
                lambda: self._api.answer_callback_query(effect.callback_id, text, effect.alert),
                paced=False,
                expected=lambda error: _mentions(error, _STALE_QUERY),
            )
        except BadRequest as error:
            log.info("TELEGRAM_CALLBACK_STALE", extra={"callback_id": effect.callback_id, "reason": error.message})


def _mentions(error: BadRequest, phrases: Sequence[str]) -> bool:
    message = error.message.lower()
    return any(phrase in message for phrase in phrases)
