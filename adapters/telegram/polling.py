"""Receiving updates from Telegram: getUpdates long polling, and setting the webhook for webhook mode.

Polling returns the RAW update dicts exactly as Telegram sent them (the same bytes a webhook would deliver),
by calling ``getUpdates`` through ``Bot.do_api_request`` without a return type. ``Bot.get_updates`` would parse
into ``telegram.Update`` first, and ``Update.to_dict()`` does not round-trip: it adds fields Telegram never sent
(``delete_chat_photo: false``, ``group_chat_created: false``, …), and one update PTB cannot parse would make the
whole batch fail, wedging the offset. ``do_api_request("getUpdates")`` still goes through the bot's dedicated
getUpdates connection, so a 25 s long poll never blocks sends.

The offset only moves in :meth:`UpdatePoller.commit`, which the caller invokes after storing an update: an
update is confirmed to Telegram (and forgotten there) only once it is safe in our storage.

Neither function ever drops pending updates: a selling bot would lose ``successful_payment`` messages.
"""

from __future__ import annotations

import asyncio
import logging
import re
import warnings
from collections.abc import Sequence
from typing import Any

from telegram import Bot
from telegram.error import BadRequest, Conflict, InvalidToken, NetworkError, RetryAfter
from telegram.warnings import PTBUserWarning

from adapters.telegram.limits import Sleep, retry_seconds

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 60.0
FIRST_BACKOFF_S = 1.0
READ_MARGIN_S = 10.0  # the HTTP read timeout is the long-poll timeout plus this
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


class UpdatePoller:
    def __init__(
        self,
        bot: Bot,
        *,
        allowed_updates: Sequence[str],
        timeout: int = 25,
        sleep: Sleep = asyncio.sleep,
        limit: int = 100,
    ) -> None:
        self._bot, self._sleep = bot, sleep
        self._allowed_updates, self._timeout, self._limit = list(allowed_updates), timeout, limit
        self.offset: int | None = None  # None: Telegram starts with the oldest unconfirmed update
        self._backoff = FIRST_BACKOFF_S
        # do_api_request warns "use Bot.getUpdates instead"; we call it deliberately for the raw JSON (see above).
        warnings.filterwarnings("ignore", message=r"Please use 'Bot\.getUpdates'", category=PTBUserWarning)

    async def start(self) -> None:
        """Polling and a webhook exclude each other: remove the webhook, keeping pending updates.

        Network errors and flood control are waited out with the same backoff as :meth:`fetch`; a rejected
        token (``InvalidToken``) or request (``BadRequest``) is raised.
        """
        while True:
            try:
                await self._bot.delete_webhook(drop_pending_updates=False)
                break
            except RetryAfter as error:
                await self._sleep(retry_seconds(error))
            except (BadRequest, InvalidToken):
                raise
            except NetworkError as error:
                delay = self._next_backoff()
                log.warning("TELEGRAM_POLL_RETRY method=deleteWebhook error=%s retrying in %s s",
                            type(error).__name__, _seconds(delay))
                await self._sleep(delay)
        self._backoff = FIRST_BACKOFF_S
        log.info("TELEGRAM_POLLING_START allowed_updates=%s timeout_s=%s", ",".join(self._allowed_updates), self._timeout)

    async def fetch(self) -> list[dict[str, Any]]:
        """One long poll: the raw updates from ``offset`` on (the same ones again until committed).

        On 409 Conflict, flood control or a network error it logs, backs off (exponentially, capped at 60 s)
        and returns ``[]``, so the caller's loop keeps control; the next success resets the backoff.
        """
        parameters: dict[str, Any] = {"timeout": self._timeout, "limit": self._limit,
                                      "allowed_updates": self._allowed_updates}
        if self.offset is not None:
            parameters["offset"] = self.offset
        try:
            result = await self._bot.do_api_request(
                "getUpdates", api_kwargs=parameters, read_timeout=self._timeout + READ_MARGIN_S,
            )
        except Conflict:
            delay = self._next_backoff()
            log.warning("TELEGRAM_CONFLICT another instance is polling or a webhook is set; retrying in %s s", _seconds(delay))
            await self._sleep(delay)
            return []
        except RetryAfter as error:
            seconds = retry_seconds(error)
            log.warning("TELEGRAM_FLOOD_WAIT method=getUpdates retry_after_s=%s", seconds)
            await self._sleep(seconds)
            return []
        except (BadRequest, InvalidToken):
            raise  # our parameters or our token are wrong: retrying cannot help
        except NetworkError as error:  # TimedOut, 5xx, connection refused
            delay = self._next_backoff()
            log.warning("TELEGRAM_POLL_RETRY error=%s retrying in %s s", type(error).__name__, _seconds(delay))
            await self._sleep(delay)
            return []
        self._backoff = FIRST_BACKOFF_S
        if not isinstance(result, list):
            raise ValueError(f"getUpdates returned {type(result).__name__}, not a list")
        return [update for update in result if isinstance(update, dict)]

    def commit(self, update_id: int) -> None:
        """Confirm ``update_id`` (and all before it) once it is stored: the next poll asks for ``update_id + 1``."""
        if self.offset is None or update_id + 1 > self.offset:
            self.offset = update_id + 1

    def _next_backoff(self) -> float:
        delay = self._backoff
        self._backoff = min(self._backoff * 2, MAX_BACKOFF_S)
        return delay


class WebhookRefusedError(Exception):
    """The Bot API refused the webhook URL, e.g. "Bad webhook: An HTTPS URL must be provided for webhook"."""


async def set_webhook(bot: Bot, url: str, secret_token: str, allowed_updates: Sequence[str]) -> None:
    """Point Telegram at ``url`` with a secret token; pending updates are kept (``drop_pending_updates=False``).

    The URL is not judged here: api.telegram.org wants https on ports 80/88/443/8443, while a local Bot API
    server (``telegram-bot-api --local``) accepts http, any host and any port. Whatever the server refuses is
    raised as :class:`WebhookRefusedError` with its reason."""
    if not _SECRET_TOKEN.fullmatch(secret_token):
        raise ValueError("the webhook secret token must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
    try:
        await bot.set_webhook(url=url, secret_token=secret_token, allowed_updates=list(allowed_updates),
                              drop_pending_updates=False)
    except BadRequest as error:
        raise WebhookRefusedError(error.message) from error
    log.info("TELEGRAM_WEBHOOK_SET allowed_updates=%s", ",".join(allowed_updates))


def _seconds(delay: float) -> str:
    return f"{delay:g}"
