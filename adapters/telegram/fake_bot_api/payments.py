"""Payments in Telegram Stars: sendInvoice, answerPreCheckoutQuery, refundStarPayment."""

from __future__ import annotations

from typing import Any

from adapters.telegram.fake_bot_api.models import QUERY_TOO_OLD, ApiError, SentMessage, UploadedFile
from adapters.telegram.fake_bot_api.state import BotState


class PaymentMethods(BotState):
    async def _send_invoice(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat_id = self._target_chat(params)
        for name, limit in (("title", 32), ("description", 255)):
            if not 1 <= len(params.get(name) or "") <= limit:
                raise ApiError(400, f"Bad Request: invoice {name} must be 1-{limit} characters")
        if not 1 <= len((params.get("payload") or "").encode("utf-8")) <= 128:
            raise ApiError(400, "Bad Request: invoice payload must be 1-128 bytes")
        prices = params.get("prices") or []
        if params.get("currency") == "XTR" and (len(prices) != 1 or params.get("provider_token")):
            raise ApiError(400, "Bad Request: STARS_INVOICE_INVALID")
        total = sum(int(price["amount"]) for price in prices)
        message = SentMessage(chat_id, 0, "invoice", text=params.get("title"), reply_markup=params.get("reply_markup"))
        result = self._message_json(self._store(chat_id, message))
        result["invoice"] = {"title": params["title"], "description": params["description"], "start_parameter": "",
                             "currency": params.get("currency"), "total_amount": total}
        return result

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
        charge = params.get("telegram_payment_charge_id")
        if not charge or not isinstance(params.get("user_id"), int):
            raise ApiError(400, "Bad Request: user_id and telegram_payment_charge_id are required")
        if charge in self._refunded:
            raise ApiError(400, "Bad Request: CHARGE_ALREADY_REFUNDED")
        self._refunded.add(charge)
        return True
