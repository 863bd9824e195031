"""Payments in Telegram Stars on the sending side: ``SendInvoice`` and ``AnswerPreCheckout``.

- ``SendInvoice`` → ``sendInvoice`` with ``currency="XTR"``, exactly one ``LabeledPrice(title, stars)`` and an
  empty ``provider_token`` (PTB 22 documents "Pass an empty string for payments in Telegram Stars"; the
  parameter is optional since Bot API 7.4). Title 1–32 and description 1–255 characters, payload 1–128 bytes
  and a whole positive number of Stars are checked before the call: breaking them is a bug in the caller
  (``ValueError``), not something to retry. Lengths are counted in characters (code points), as the port and
  the Bot API reference state them. Paced like every other send.
- ``AnswerPreCheckout`` → ``answerPreCheckoutQuery``. Never paced: Telegram cancels the payment unless the
  answer arrives within 10 s. ``ok=False`` needs an ``error_message`` (Telegram shows it to the payer). A query
  that is already answered or too old is logged and skipped (the payment is then cancelled by Telegram).
"""

from __future__ import annotations

import logging

from telegram import Bot, LabeledPrice
from telegram.constants import InvoiceLimit
from telegram.error import BadRequest

from adapters.telegram.limits import ApiCaller
from ports.effects import AnswerPreCheckout, SendInvoice

log = logging.getLogger(__name__)

STARS = "XTR"
STARS_PROVIDER_TOKEN = ""  # payments in Telegram Stars need no payment provider
_STALE_QUERY = ("query is too old", "query id is invalid")


def check_invoice(effect: SendInvoice) -> None:
    """Telegram's limits on a Stars invoice; ``ValueError`` naming the field that breaks them."""
    for name, value, low, high in (
        ("title", effect.title, InvoiceLimit.MIN_TITLE_LENGTH, InvoiceLimit.MAX_TITLE_LENGTH),
        ("description", effect.description, InvoiceLimit.MIN_DESCRIPTION_LENGTH, InvoiceLimit.MAX_DESCRIPTION_LENGTH),
    ):
        if not isinstance(value, str) or not low <= len(value) <= high:
            raise ValueError(f"SendInvoice.{name} must be {low}-{high} characters")
    payload = effect.payload.encode("utf-8") if isinstance(effect.payload, str) else b""
    if not InvoiceLimit.MIN_PAYLOAD_LENGTH <= len(payload) <= InvoiceLimit.MAX_PAYLOAD_LENGTH:
        raise ValueError(
            f"SendInvoice.payload must be {InvoiceLimit.MIN_PAYLOAD_LENGTH}-{InvoiceLimit.MAX_PAYLOAD_LENGTH} bytes")
    if isinstance(effect.stars, bool) or not isinstance(effect.stars, int) or effect.stars < 1:
        raise ValueError("SendInvoice.stars must be a whole positive number of Stars")


class InvoiceSender:
    def __init__(self, bot: Bot, calls: ApiCaller) -> None:
        self._bot, self._calls = bot, calls

    async def send(self, effect: SendInvoice) -> None:
        check_invoice(effect)
        log.debug("TELEGRAM_SEND method=sendInvoice chat=%s stars=%d payload_len=%d",
                  effect.chat_id, effect.stars, len(effect.payload))
        await self._calls.call(
            "sendInvoice", effect.chat_id,
            lambda: self._bot.send_invoice(
                chat_id=effect.chat_id,
                title=effect.title,
                description=effect.description,
                payload=effect.payload,
                currency=STARS,
                prices=[LabeledPrice(effect.title, effect.stars)],
                provider_token=STARS_PROVIDER_TOKEN,
            ),
        )

    async def answer(self, effect: AnswerPreCheckout) -> None:
        if not effect.ok and not effect.error_message.strip():
            raise ValueError("AnswerPreCheckout with ok=False needs an error_message (Telegram shows it to the payer)")
        error_message = None if effect.ok else effect.error_message
        log.debug("TELEGRAM_SEND method=answerPreCheckoutQuery ok=%s", effect.ok)
        try:
            await self._calls.call(
                "answerPreCheckoutQuery", None,
                lambda: self._bot.answer_pre_checkout_query(effect.query_id, effect.ok, error_message=error_message),
                paced=False,
                expected=lambda error: any(phrase in error.message.lower() for phrase in _STALE_QUERY),
            )
        except BadRequest as error:
            log.warning("TELEGRAM_PRE_CHECKOUT_STALE", extra={"query_id": effect.query_id, "reason": error.message})
