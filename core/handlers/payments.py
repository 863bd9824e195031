"""Telegram Stars: packages → invoice → pre-checkout → successful_payment (credited exactly once, keyed
by Telegram's charge id) → receipt; refunded_payment takes the money back; /paysupport."""

from __future__ import annotations

import logging
from decimal import ROUND_DOWN, Decimal

from core.callback_data import BuyStars, TopUp
from core.callbacks import int_field
from core.context import Reply, Services, Turn
from core.handlers.drafting import owned_draft
from core.handlers.navigation import stale
from core.handlers.referral import reward_first_topup
from core.views.payments import render_notice, render_receipt, render_support, render_topup
from ports.billing import StarsPayment
from ports.effects import AnswerPreCheckout, SendInvoice
from ports.events import PaymentReceived, PaymentRefunded, PreCheckout
from ports.storage import BalanceLimitError

log = logging.getLogger(__name__)

STARS_CURRENCY = "XTR"
PAYLOAD_PREFIX = "stars:"


def stars_to_minor(services: Services, stars: int) -> int:
    """What a payment of ``stars`` credits, in the smallest unit (rounded down, never above the rate)."""
    currency = services.settings.prices.currency
    value = Decimal(stars) * services.settings.stars_rate * currency.minor_per_major
    return int(value.to_integral_value(rounding=ROUND_DOWN))


def packages(services: Services) -> list[tuple[int, int]]:
    return [(stars, stars_to_minor(services, stars)) for stars in services.settings.stars_packages]


async def topup(services: Services, turn: Turn, data: TopUp) -> Reply:
    """``topup[:<draft id>]``: started from an order, the packages carry the draft so the receipt leads back."""
    manual = bool(services.settings.manual_amounts) and bool(services.settings.admin_ids)
    draft_id = data.draft
    return Reply([turn.show(render_topup(turn.fmt, packages(services), manual, turn.user.id, draft_id))])


async def invoice(services: Services, turn: Turn, data: BuyStars) -> Reply:
    stars = data.stars
    if stars not in services.settings.stars_packages:
        return await stale(services, turn)
    order = f":{data.draft}" if data.draft else ""
    amount = turn.fmt.money(stars_to_minor(services, stars))
    effect = SendInvoice(
        turn.chat_id,
        title=turn.fmt.t("invoice.title", amount=amount)[:32],
        description=turn.fmt.t("invoice.description", stars=stars, amount=amount)[:255],
        payload=f"{PAYLOAD_PREFIX}{stars}{order}",
        stars=stars,
    )
    return Reply([effect])


def _package(payload: str) -> int | None:
    """The Stars package of an invoice payload ``stars:<n>[:<draft id>]``."""
    return int_field(payload[len(PAYLOAD_PREFIX):].split(":")[0]) if payload.startswith(PAYLOAD_PREFIX) else None


def _order(payload: str) -> str | None:
    """The draft a top-up was started from (``stars:<n>:<draft id>``), if any."""
    parts = payload.split(":")
    return parts[2] if payload.startswith(PAYLOAD_PREFIX) and len(parts) > 2 and parts[2] else None


async def pre_checkout(services: Services, turn: Turn) -> Reply:
    """Answered at once (Telegram waits at most 10 s): the package exists and matches, the user may pay."""
    event = turn.event
    assert isinstance(event, PreCheckout)
    stars = _package(event.payload)
    valid = (
        event.currency == STARS_CURRENCY
        and stars is not None
        and stars in services.settings.stars_packages
        and event.total_amount == stars
    )
    if turn.user.banned:
        return Reply([AnswerPreCheckout(event.query_id, False, turn.fmt.t("pay.refused_banned"))], rejected="BANNED")
    if not valid:
        return Reply([AnswerPreCheckout(event.query_id, False, turn.fmt.t("pay.refused_package"))], rejected="VALIDATION_FAIL")
    return Reply([AnswerPreCheckout(event.query_id, True)])


async def payment_received(services: Services, turn: Turn) -> Reply:
    """Credit exactly once per charge id, in one storage operation with the ledger, then the receipt.
    Money Telegram took is always credited (at the configured rate), whatever the payload says."""
    event = turn.event
    assert isinstance(event, PaymentReceived)
    if event.currency != STARS_CURRENCY:
        return Reply(rejected="UNSUPPORTED_CURRENCY")
    amount = stars_to_minor(services, event.total_amount)
    payment = StarsPayment(event.charge_id, turn.user.id, event.total_amount, amount, event.payload, turn.now)
    log_fields = {"charge": event.charge_id, "stars": event.total_amount, "amount": amount,
                  "currency": services.settings.prices.currency.code, "user": turn.user.id}
    try:
        _, created = await services.storage.payments.record_stars(payment)
    except BalanceLimitError:
        # Only a forged update can get here (no real payment takes a balance past 64 bits): nothing was stored.
        log.error("PAYMENT_UNCREDITABLE", extra=log_fields)
        return Reply(rejected="BALANCE_LIMIT")
    if not created:
        log.info("PAYMENT_DUPLICATE", extra=log_fields)
        return Reply(rejected="DUPLICATE_PAYMENT")
    log.info("PAYMENT_CREDITED", extra=log_fields)
    balance = await services.storage.ledger.balance(turn.user.id)
    receipt = turn.fmt.t(
        "pay.receipt", stars=event.total_amount, amount=turn.fmt.money(amount), balance=turn.fmt.money(balance)
    )
    order = _order(event.payload)
    draft_id = order if order and await owned_draft(services, turn, order) is not None else None
    effects = [turn.send(render_receipt(turn.fmt, receipt, draft_id, services.settings.support_contact))]
    effects += await reward_first_topup(services, turn)
    return Reply(effects)


async def payment_refunded(services: Services, turn: Turn) -> Reply:
    event = turn.event
    assert isinstance(event, PaymentRefunded)
    charged = await services.storage.payments.get(event.charge_id)
    if charged is None:
        log.warning("REFUND_UNKNOWN_CHARGE charge=%s sender=%s", event.charge_id, turn.user.id)
        return Reply(rejected="NOTHING_TO_REFUND")
    if charged.user_id != turn.user.id:
        # Only the payer's own refund update takes money back: anyone else's is logged and ignored.
        log.warning("REFUND_PAYER_MISMATCH charge=%s sender=%s payer=%s", event.charge_id, turn.user.id, charged.user_id)
        return Reply(rejected="REFUND_NOT_PAYER")
    payment, changed = await services.storage.payments.refund_stars(event.charge_id, turn.now)
    if payment is None or not changed:
        return Reply(rejected="NOTHING_TO_REFUND")
    return Reply([turn.send(render_notice(await refund_notice(services, turn, payment), "payment_refunded"))])


async def refund_notice(services: Services, turn: Turn, payment: StarsPayment) -> str:
    balance = await services.storage.ledger.balance(payment.user_id)
    debt = await services.storage.ledger.debt(payment.user_id)
    text = turn.fmt.t("pay.refunded", stars=payment.stars, amount=turn.fmt.money(payment.amount), balance=turn.fmt.money(balance))
    return text + ("\n" + turn.fmt.t("pay.debt", debt=turn.fmt.money(debt)) if debt else "")


async def paysupport(services: Services, turn: Turn) -> Reply:
    return Reply([turn.send(render_support(turn.fmt, turn.user.id, services.settings.support_contact))])
