"""Payments in Telegram Stars: sendInvoice, answerPreCheckoutQuery, refundStarPayment, and the helpers that build
the updates Telegram sends when a user pays (:meth:`PaymentMethods.pay_invoice`) or gets a refund.

- sendInvoice: title 1–32 and description 1–255 characters, payload 1–128 bytes; ``prices`` a non-empty list of
  ``{"label", "amount"}`` with positive integer amounts ("CURRENCY_TOTAL_AMOUNT_INVALID"); currency ``XTR`` needs
  exactly one price and no provider token, tips or shipping ("STARS_INVOICE_INVALID"); another currency needs a
  provider token ("PAYMENT_PROVIDER_INVALID"). The invoice is kept as a message of kind "invoice". The
  descriptions for title/description/payload are approximations (Telegram's exact wording is not published).
- answerPreCheckoutQuery: only the id of a ``pre_checkout_query`` pushed or registered with the server, once;
  ``ok=false`` needs ``error_message``.
- refundStarPayment: only a charge Telegram knows (from :meth:`pay_invoice`, :meth:`register_charge`, or a
  pushed/registered ``successful_payment``) of that user ("CHARGE_ID_INVALID", an approximation), once
  ("CHARGE_ALREADY_REFUNDED" afterwards). The fake does not queue the ``refunded_payment`` message itself:
  build it with :meth:`refunded_payment_update` and push it.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from adapters.telegram.fake_bot_api.models import (
    CHARGE_ALREADY_REFUNDED,
    CHARGE_ID_INVALID,
    QUERY_TOO_OLD,
    STARS_INVOICE_INVALID,
    ApiError,
    Charge,
    SentMessage,
    UploadedFile,
)
from adapters.telegram.fake_bot_api.state import BotState

_NOT_FOR_STARS = ("provider_token", "max_tip_amount", "suggested_tip_amounts", "need_name", "need_phone_number",
                  "need_email", "need_shipping_address", "is_flexible", "send_phone_number_to_provider",
                  "send_email_to_provider")


class PaymentMethods(BotState):
    # --- Bot API methods -------------------------------------------------------------------------------------

    async def _send_invoice(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat_id = self._target_chat(params)
        for name, limit in (("title", 32), ("description", 255)):
            if not 1 <= len(str(params.get(name) or "")) <= limit:
                raise ApiError(400, f"Bad Request: invoice {name} must be 1-{limit} characters")
        payload = str(params.get("payload") or "")
        if not 1 <= len(payload.encode("utf-8")) <= 128:
            raise ApiError(400, "Bad Request: invoice payload must be 1-128 bytes")
        currency = str(params.get("currency") or "")
        prices = _prices(params.get("prices"))
        if currency == "XTR":
            if len(prices) != 1 or any(params.get(name) not in (None, "", False, [], 0, "0") for name in _NOT_FOR_STARS):
                raise ApiError(400, STARS_INVOICE_INVALID)
        elif not params.get("provider_token"):
            raise ApiError(400, "Bad Request: PAYMENT_PROVIDER_INVALID")
        invoice = {"title": params["title"], "description": params["description"], "payload": payload,
                   "currency": currency, "prices": prices, "total_amount": sum(price["amount"] for price in prices)}
        message = SentMessage(chat_id, 0, "invoice", text=params["title"], reply_markup=params.get("reply_markup"),
                              invoice=invoice)
        return self._message_json(self._store(chat_id, message))

    async def _answer_pre_checkout_query(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        query_id = params.get("pre_checkout_query_id")
        if query_id not in self._pre_checkouts:
            raise ApiError(400, QUERY_TOO_OLD)
        if not params.get("ok") and not params.get("error_message"):
            raise ApiError(400, "Bad Request: error_message is required when ok is false")
        self._pre_checkouts.discard(query_id)
        self.pre_checkout_answers[query_id] = {"ok": bool(params.get("ok")), "error_message": params.get("error_message")}
        return True

    async def _refund_star_payment(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        charge_id, user_id = params.get("telegram_payment_charge_id"), params.get("user_id")
        if not isinstance(user_id, int):
            raise ApiError(400, "Bad Request: USER_ID_INVALID")
        if not charge_id:
            raise ApiError(400, "Bad Request: CHARGE_ID_EMPTY")
        charge = self._charges.get(charge_id)
        if charge is None or charge.user_id != user_id:
            raise ApiError(400, CHARGE_ID_INVALID)
        if charge.refunded:
            raise ApiError(400, CHARGE_ALREADY_REFUNDED)
        charge.refunded = True
        self.refunds.append((user_id, charge_id))
        return True

    # --- test helpers ----------------------------------------------------------------------------------------

    def register_charge(self, user_id: int, charge_id: str, *, stars: int | None = None,
                        payload: str | None = None) -> None:
        """A Stars payment Telegram knows about, so refundStarPayment accepts it (once)."""
        self._charges.setdefault(charge_id, Charge(user_id, charge_id, stars, payload))

    def charge(self, charge_id: str) -> Charge | None:
        return self._charges.get(charge_id)

    def pay_invoice(self, user_id: int, payload: str, stars: int, *,
                    user: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """The two updates Telegram sends when ``user_id`` pays a Stars invoice: the ``pre_checkout_query`` and,
        once it is answered ok, the ``successful_payment`` message, with a fresh charge id (registered here, so it
        can be refunded). Neither is queued: push or register them as the test needs."""
        sender = user or _user_json(user_id)
        query = {"id": str(4_000_000_000_000_000_000 + self._next_update_id), "from": sender, "currency": "XTR",
                 "total_amount": stars, "invoice_payload": payload}
        pre_checkout = {"update_id": self._take_update_id(), "pre_checkout_query": query}
        charge_id = f"stxFake{len(self._charges) + 1}{secrets.token_urlsafe(12)}"
        self.register_charge(user_id, charge_id, stars=stars, payload=payload)
        paid = {"currency": "XTR", "total_amount": stars, "invoice_payload": payload,
                "telegram_payment_charge_id": charge_id, "provider_payment_charge_id": ""}
        return pre_checkout, self._service_update(sender, "successful_payment", paid)

    def refunded_payment_update(self, user_id: int, charge_id: str, stars: int, payload: str, *,
                                user: dict[str, Any] | None = None) -> dict[str, Any]:
        """The ``refunded_payment`` service message Telegram sends after a refund (the charge counts as refunded)."""
        self.register_charge(user_id, charge_id, stars=stars, payload=payload)
        self._charges[charge_id].refunded = True
        refunded = {"currency": "XTR", "total_amount": stars, "invoice_payload": payload,
                    "telegram_payment_charge_id": charge_id}
        return self._service_update(user or _user_json(user_id), "refunded_payment", refunded)

    def _remember_payment(self, update: dict[str, Any]) -> None:
        """A ``successful_payment`` Telegram delivers makes its charge known (pushed or registered updates)."""
        message = update.get("message")
        paid = message.get("successful_payment") if isinstance(message, dict) else None
        if isinstance(paid, dict) and paid.get("telegram_payment_charge_id"):
            sender = message.get("from") or message.get("chat") or {}
            self.register_charge(int(sender["id"]), paid["telegram_payment_charge_id"],
                                 stars=paid.get("total_amount"), payload=paid.get("invoice_payload"))

    def _service_update(self, sender: dict[str, Any], field: str, body: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(sender["id"])
        stored = self._store(chat_id, SentMessage(chat_id, 0, "user", from_bot=False))
        chat = {"id": chat_id, "first_name": sender.get("first_name", "User"), "type": "private"}
        message = {"message_id": stored.message_id, "from": sender, "chat": chat, "date": int(time.time()), field: body}
        return {"update_id": self._take_update_id(), "message": message}

    def _take_update_id(self) -> int:
        update_id = self._next_update_id
        self._next_update_id += 1
        return update_id


def _prices(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise ApiError(400, "Bad Request: can't parse prices JSON object")
    prices = []
    for price in value:
        if not isinstance(price, dict) or not isinstance(price.get("label"), str) or "amount" not in price:
            raise ApiError(400, "Bad Request: can't parse prices JSON object")
        amount = price["amount"]
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise ApiError(400, "Bad Request: CURRENCY_TOTAL_AMOUNT_INVALID")
        prices.append({"label": price["label"], "amount": amount})
    return prices


def _user_json(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "User", "language_code": "ru"}
