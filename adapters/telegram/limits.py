"""Telegram's limits and how the adapter keeps to them: sizes, text lengths, flood control, retries.

- Sizes follow the Bot API reference (and telegram-bot-api's ``<< 20`` constants): a "MB" is a MiB here.
- Text limits count UTF-16 code units, as Telegram does (an emoji outside the BMP counts twice).
- :class:`FloodLimiter` paces sends per chat and overall through a ``SendPace`` (GCRA, adapters/telegram/pace.py
  in process, or the one shared in PostgreSQL).
- :class:`ApiCaller` wraps one Bot API call: pacing, ``RetryAfter`` waits, bounded retries of network errors,
  and translation of library errors into the port's errors.

Nothing here sleeps directly: sleeping goes through an injected async ``sleep`` (tests pass one that records).
Log lines name the method, the chat and lengths, never texts or the token. Deployments should set the
``httpx`` logger to WARNING: at INFO it logs request URLs, and Bot API URLs contain the token.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from adapters.telegram.pace import LocalSendPace
from ports.budgets import PaceSettings, SendPace, bulk_sending
from ports.effects import MessengerUnavailableError, RecipientBlockedError
from ports.storage import StorageError

log = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]

MIB = 1 << 20
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_TEXT_LIMIT = 200
PHOTO_BY_URL_MAX = 5 * MIB  # Telegram fetches the URL itself
BY_URL_MAX = 20 * MIB
PHOTO_UPLOAD_MAX = 10 * MIB
UPLOAD_MAX = 50 * MIB
GET_FILE_MAX = 20 * MIB  # getFile refuses bigger files ("file is too big")
ELLIPSIS = "…"


def utf16_len(text: str) -> int:
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-16 units, ending with "…" when cut (never splits a character)."""
    if utf16_len(text) <= limit:
        return text
    budget, kept = limit - 1, 0
    for index, char in enumerate(text):
        kept += 2 if ord(char) > 0xFFFF else 1
        if kept > budget:
            return text[:index] + ELLIPSIS
    return text  # unreachable: the text was longer than the limit


def retry_seconds(error: RetryAfter) -> float:
    """``RetryAfter.retry_after`` as seconds (PTB 22 returns int or timedelta depending on PTB_TIMEDELTA)."""
    with warnings.catch_warnings():  # synchronous block: safe despite catch_warnings' global state
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class FloodLimiter:
    """At most one send per chat per ``per_chat_interval`` on average (bursts of ``chat_burst`` allowed) and
    ``global_per_second`` sends overall, through a ``SendPace`` (ports/budgets.py): this process's own
    (adapters/telegram/pace.py) until :meth:`share` hands it one kept in the database for every instance.

    ``acquire`` asks the pace once (chat and overall slot together), sleeps until the slot, and asks again only
    when the chat's slot was later than now or a bulk send found no room. A send is bulk when the task sending
    it set ``ports.budgets.bulk_sending`` (the broadcaster does).
    """

    def __init__(
        self,
        *,
        per_chat_interval: float = 1.0,
        chat_burst: int = 3,
        global_per_second: float = 30,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        max_chats: int = 10_000,
    ) -> None:
        self.settings = PaceSettings(per_chat_interval, chat_burst, global_per_second)
        self._sleep = sleep
        self._local = LocalSendPace(self.settings, clock, max_chats=max_chats)
        self._pace: SendPace = self._local

    def share(self, pace: SendPace) -> None:
        """Pace by ``pace`` from now on (the budget every instance on one database shares)."""
        self._pace = pace

    async def acquire(self, chat_id: int) -> float:
        """Wait for this chat's next slot, then for an overall one; returns the seconds waited."""
        bulk = bulk_sending.get()
        grant = await self._ask(lambda pace: pace.reserve(chat_id, bulk=bulk))
        waited = 0.0
        while not grant.taken:
            waited += await self._wait(chat_id, grant.wait)
            grant = await self._ask(lambda pace: pace.overall(bulk=bulk))
        return waited + await self._wait(chat_id, grant.wait)

    async def defer(self, chat_id: int, seconds: float) -> None:
        """Telegram answered 429 for this chat: hold every sender to it back for ``seconds`` (and slow the
        overall pace down for as long)."""
        await self._ask(lambda pace: pace.defer(chat_id, seconds))

    async def _ask(self, call: Callable[[SendPace], Awaitable[T]]) -> T:
        """The shared pace out of reach (the database down or closing) never stops a send: this process's own
        pace answers meanwhile."""
        if self._pace is not self._local:
            try:
                return await call(self._pace)
            except StorageError as error:
                log.warning("TELEGRAM_PACE_LOCAL", extra={"error": type(error).__name__})
        return await call(self._local)

    async def _wait(self, chat_id: int, seconds: float) -> float:
        if seconds <= 0:
            return 0.0
        log.debug("TELEGRAM_PACING chat=%s wait_s=%.3f", chat_id, seconds)
        await self._sleep(seconds)
        return seconds


class ApiCaller:
    """Runs one Bot API call by Telegram's rules and translates its errors for the ports:

    - ``RetryAfter`` → sleep ``retry_after`` and retry, at most ``flood_retries`` times;
    - ``TimedOut``/``NetworkError`` (5xx, connection) → retry with exponential backoff, ``network_attempts`` in
      all, then ``MessengerUnavailableError``;
    - ``Forbidden`` (blocked, deactivated, kicked), or "chat not found" → ``RecipientBlockedError`` naming the
      recipient chat (the caller marks that chat, whoever sent the update that caused the message);
    - ``BadRequest`` the caller expects (``expected(error)`` true) is re-raised for it to handle; any other is a
      bug in our payload: logged with the method and raised as ``MessengerUnavailableError``.
    """

    def __init__(
        self,
        limiter: FloodLimiter,
        *,
        sleep: Sleep = asyncio.sleep,
        flood_retries: int = 5,
        network_attempts: int = 3,
        backoff_s: float = 0.5,
    ) -> None:
        self._limiter, self._sleep = limiter, sleep
        self._flood_retries, self._network_attempts, self._backoff_s = flood_retries, network_attempts, backoff_s

    async def call(
        self,
        method: str,
        chat_id: int | None,
        send: Callable[[], Awaitable[T]],
        *,
        paced: bool = True,
        expected: Callable[[BadRequest], bool] = lambda error: False,
    ) -> T:
        floods = failures = 0
        while True:
            if paced and chat_id is not None:
                await self._limiter.acquire(chat_id)
            try:
                return await send()
            except RetryAfter as error:
                floods += 1
                seconds = retry_seconds(error)
                if floods > self._flood_retries:
                    log.error("TELEGRAM_FLOOD_GAVE_UP", extra={"method": method, "chat": chat_id, "waits": floods - 1})
                    raise MessengerUnavailableError(f"{method}: still flood-limited after {floods - 1} waits") from error
                log.warning("TELEGRAM_FLOOD_WAIT", extra={"method": method, "chat": chat_id, "retry_after_s": seconds})
                if chat_id is not None:
                    await self._limiter.defer(chat_id, seconds)
                await self._sleep(seconds)
            except Forbidden as error:
                log.info("TELEGRAM_RECIPIENT_BLOCKED",
                         extra={"method": method, "chat": chat_id, "reason": error.message})
                raise RecipientBlockedError(f"{method} to chat {chat_id}: {error.message}", chat_id) from error
            except BadRequest as error:
                if expected(error):
                    raise
                if chat_id is not None and "chat not found" in error.message.lower():
                    log.info("TELEGRAM_RECIPIENT_GONE", extra={"method": method, "chat": chat_id})
                    raise RecipientBlockedError(f"{method} to chat {chat_id}: {error.message}", chat_id) from error
                log.error("TELEGRAM_BAD_REQUEST", extra={"method": method, "chat": chat_id, "error": error.message})
                raise MessengerUnavailableError(f"{method} was refused: {error.message}") from error
            except NetworkError as error:  # TimedOut included; BadRequest (a subclass) was handled above
                failures += 1
                if failures >= self._network_attempts:
                    log.error("TELEGRAM_UNAVAILABLE method=%s chat=%s attempts=%d error=%s",
                              method, chat_id, failures, type(error).__name__)
                    raise MessengerUnavailableError(f"{method}: {type(error).__name__} after {failures} attempts") from error
                delay = self._backoff_s * 2 ** (failures - 1)
                log.warning("TELEGRAM_RETRY method=%s chat=%s attempt=%d delay_s=%s error=%s",
                            method, chat_id, failures, delay, type(error).__name__)
                await self._sleep(delay)
            except TelegramError as error:  # InvalidToken, ChatMigrated, Conflict: not ours to fix here
                log.error("TELEGRAM_FAILED", extra={"method": method, "chat": chat_id, "error": type(error).__name__})
                raise MessengerUnavailableError(f"{method}: {type(error).__name__}") from error
