"""The ``StarsGateway`` port on the Bot API: ``refundStarPayment(user_id, telegram_payment_charge_id)``.

- Telegram's refusal (``BadRequest``, e.g. "CHARGE_ALREADY_REFUNDED", "CHARGE_ID_INVALID", "USER_ID_INVALID")
  → ``StarsRefundError`` carrying Telegram's description. PTB strips "Bad Request: " and capitalizes the rest
  ("Charge_already_refunded"); an error code like that is given back in Telegram's upper case.
- ``RetryAfter`` → wait as told, at most ``flood_retries`` times; network errors and timeouts (5xx included) →
  retried with exponential backoff, ``attempts`` in all, then ``StarsRefundError``.
- A refund whose answer was lost may have been carried out. So when an earlier attempt of *this* call failed on
  the network and the retry is told "CHARGE_ALREADY_REFUNDED", the refund counts as done (logged): the Stars
  are back with the user either way, and Telegram sends the ``refunded_payment`` message once.
- Any other library error (``Forbidden``, ``InvalidToken``, …) → ``StarsRefundError``.

All waiting goes through the injected ``sleep``. Logs name the user and the charge, never the token.
"""

from __future__ import annotations

import asyncio
import logging
import re

from telegram import Bot
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from adapters.telegram.limits import Sleep, retry_seconds
from ports.billing import StarsRefundError

log = logging.getLogger(__name__)

ALREADY_REFUNDED = "CHARGE_ALREADY_REFUNDED"
_ERROR_CODE = re.compile(r"[A-Za-z0-9]+(?:_[A-Za-z0-9]+)+")


class TelegramStars:
    def __init__(
        self,
        bot: Bot,
        *,
        sleep: Sleep = asyncio.sleep,
        attempts: int = 3,
        flood_retries: int = 3,
        backoff_s: float = 0.5,
    ) -> None:
        if attempts < 1 or flood_retries < 0:
            raise ValueError("attempts >= 1 and flood_retries >= 0 are required")
        self._bot, self._sleep = bot, sleep
        self._attempts, self._flood_retries, self._backoff_s = attempts, flood_retries, backoff_s

    async def refund(self, user_id: int, charge_id: str) -> None:
        if not charge_id:
            raise StarsRefundError("no telegram_payment_charge_id to refund")
        failures = floods = 0
        while True:
            try:
                await self._bot.refund_star_payment(user_id=user_id, telegram_payment_charge_id=charge_id)
                log.info("STARS_REFUNDED", extra={"user": user_id, "charge": charge_id})
                return
            except RetryAfter as error:
                floods += 1
                if floods > self._flood_retries:
                    log.error("STARS_REFUND_FLOOD_GAVE_UP", extra={"user": user_id, "charge": charge_id})
                    raise StarsRefundError(f"still flood-limited after {floods - 1} waits") from error
                await self._sleep(retry_seconds(error))
            except BadRequest as error:
                reason = telegram_description(error)
                if failures and ALREADY_REFUNDED in reason:
                    log.warning("STARS_REFUND_CONFIRMED_ON_RETRY", extra={"user": user_id, "charge": charge_id})
                    return
                log.warning("STARS_REFUND_REFUSED", extra={"user": user_id, "charge": charge_id, "reason": reason})
                raise StarsRefundError(reason) from error
            except NetworkError as error:  # TimedOut and 5xx included; BadRequest was handled above
                failures += 1
                if failures >= self._attempts:
                    log.error("STARS_REFUND_UNAVAILABLE", extra={
                        "user": user_id, "charge": charge_id, "attempts": failures, "error": type(error).__name__})
                    raise StarsRefundError(
                        f"Telegram unreachable after {failures} attempts: {type(error).__name__}") from error
                await self._sleep(self._backoff_s * 2 ** (failures - 1))
            except TelegramError as error:  # Forbidden, InvalidToken, Conflict…
                log.error("STARS_REFUND_FAILED",
                          extra={"user": user_id, "charge": charge_id, "error": type(error).__name__})
                raise StarsRefundError(f"{type(error).__name__}: {error.message}") from error


def telegram_description(error: TelegramError) -> str:
    """Telegram's description as sent: an error code PTB capitalized ("Charge_already_refunded") in upper case."""
    message = error.message
    return message.upper() if _ERROR_CODE.fullmatch(message) else message
