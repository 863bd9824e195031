"""Payments in Telegram Stars on the Telegram adapter: parsing of the three payment updates, invoices and
pre-checkout answers through TelegramMessenger, files re-sent by file_id, and refunds through TelegramStars —
python-telegram-bot's real Bot over real HTTP against FakeBotApi on loopback."""

from __future__ import annotations

import asyncio
import copy
import logging
from typing import Any

import pytest
import telegram
from telegram.error import BadRequest
from telegram.request import HTTPXRequest

from adapters.kie.fake_media import png_bytes
from adapters.telegram.messenger import TelegramMessenger
from adapters.telegram.stars import TelegramStars
from adapters.telegram.updates import parse_update, update_chat_id
from ports.billing import StarsRefundError
from ports.effects import (
    AnswerPreCheckout,
    MessengerUnavailableError,
    ResultKind,
    SendFile,
    SendInvoice,
    SendScreen,
)
from ports.events import PaymentReceived, PaymentRefunded, PreCheckout, UserRef
from ports.screens import Button, Screen
from tests.conftest import make_bot
from tests.fakes import FakeTime, bounded

CHAT = 4242
ANN = {"id": CHAT, "is_bot": False, "first_name": "Ann", "username": "ann_k", "language_code": "ru"}
ANN_REF = UserRef(id=CHAT, language_code="ru", username="ann_k", first_name="Ann")
PRIVATE = {"id": CHAT, "first_name": "Ann", "username": "ann_k", "type": "private"}
CHARGE = "stxQ3vX9mC1b0Xh7cN2oBq8zT6yL4kR5wP0sA1dF"
PACK = Screen("pack", ((Button("Approve", data="t:ok:7"), Button("Reject", data="t:no:7")),))

# PTB 22 warns about RetryAfter.retry_after's future type while building the exception (see the messenger tests).
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")


def pre_checkout(**fields: Any) -> dict[str, Any]:
    query = {"id": "4325498327349283649", "from": ANN, "currency": "XTR", "total_amount": 50,
             "invoice_payload": "pack:50", **fields}
    return {"update_id": 700101, "pre_checkout_query": query}


def service(field: str, **fields: Any) -> dict[str, Any]:
    body = {"currency": "XTR", "total_amount": 50, "invoice_payload": "pack:50", "telegram_payment_charge_id": CHARGE,
            **fields}
    return {"update_id": 700102, "message": {"message_id": 31, "from": ANN, "chat": PRIVATE, "date": 1767225600,
                                             field: body}}


def invoice(**fields: Any) -> SendInvoice:
    return SendInvoice(**{"chat_id": CHAT, "title": "50 ⭐ top-up", "description": "Adds 100 ₽ to your balance",
                          "payload": "pack:50", "stars": 50, **fields})


@pytest.fixture
def messenger(bot: telegram.Bot, clock: FakeTime) -> TelegramMessenger:
    return TelegramMessenger(bot, sleep=clock.sleep, clock=clock.clock)


@pytest.fixture
def stars(bot: telegram.Bot, clock: FakeTime) -> TelegramStars:
    return TelegramStars(bot, sleep=clock.sleep)


# --- parsing ---------------------------------------------------------------------------------------------------


def test_a_pre_checkout_query_becomes_pre_checkout_in_the_payers_chat():
    assert parse_update(pre_checkout()) == PreCheckout(
        user=ANN_REF, chat_id=CHAT, query_id="4325498327349283649", currency="XTR", total_amount=50, payload="pack:50")


def test_a_pre_checkout_query_is_not_queued_behind_its_chat():
    assert update_chat_id(pre_checkout()) is None


def test_a_successful_payment_becomes_payment_received_with_the_charge_id():
    update = service("successful_payment", provider_payment_charge_id="")
    assert parse_update(update) == PaymentReceived(
        user=ANN_REF, chat_id=CHAT, currency="XTR", total_amount=50, payload="pack:50", charge_id=CHARGE)
    assert update_chat_id(update) == CHAT


def test_a_refunded_payment_becomes_payment_refunded():
    assert parse_update(service("refunded_payment")) == PaymentRefunded(
        user=ANN_REF, chat_id=CHAT, currency="XTR", total_amount=50, payload="pack:50", charge_id=CHARGE)


def test_a_payment_without_from_in_a_private_chat_is_kept_with_the_chat_as_payer():
    update = service("successful_payment")
    del update["message"]["from"]
    event = parse_update(update)
    assert isinstance(event, PaymentReceived) and event.charge_id == CHARGE
    assert event.user == UserRef(id=CHAT, username="ann_k", first_name="Ann")


@pytest.mark.parametrize(
    ("update", "mentions"),
    [
        (pre_checkout(id=""), r"pre_checkout_query\.id"),
        (pre_checkout(total_amount="50"), r"pre_checkout_query\.total_amount"),
        (pre_checkout(invoice_payload=None), r"pre_checkout_query\.invoice_payload"),
        (pre_checkout(**{"from": None}), r"pre_checkout_query\.from"),
        (pre_checkout(currency=7), r"pre_checkout_query\.currency"),
        (service("successful_payment", telegram_payment_charge_id=""), r"successful_payment\.telegram_payment_charge_id"),
        (service("successful_payment", total_amount=None), r"successful_payment\.total_amount"),
        (service("refunded_payment", invoice_payload=5), r"refunded_payment\.invoice_payload"),
        ({"update_id": 1, "pre_checkout_query": "q"}, "pre_checkout_query"),
    ],
    ids=["no_query_id", "amount_as_string", "no_payload", "no_from", "currency_not_string", "no_charge_id",
         "no_amount", "payload_not_string", "query_not_object"],
)
def test_malformed_payment_updates_raise_value_error_naming_the_field(update, mentions):
    with pytest.raises(ValueError, match=mentions):
        parse_update(update)


def test_a_payment_in_a_group_without_from_is_a_value_error():
    update = copy.deepcopy(service("successful_payment"))
    del update["message"]["from"]
    update["message"]["chat"] = {"id": -100777, "type": "supergroup", "title": "G"}
    with pytest.raises(ValueError, match=r"message\.from"):
        parse_update(update)


@bounded()
async def test_the_fakes_paid_invoice_updates_are_what_ptb_and_the_parser_read(api, bot):
    query_update, paid_update = api.pay_invoice(CHAT, "pack:50", 50)
    api.push_update(query_update)
    api.push_update(paid_update)

    first, second = await bot.get_updates(timeout=0)
    assert first.pre_checkout_query.total_amount == 50 and first.pre_checkout_query.currency == "XTR"
    payment = second.message.successful_payment
    assert payment.invoice_payload == "pack:50" and payment.telegram_payment_charge_id.startswith("stx")
    query, received = parse_update(query_update), parse_update(paid_update)
    assert isinstance(query, PreCheckout) and query.chat_id == CHAT and query.payload == "pack:50"
    assert isinstance(received, PaymentReceived) and received.charge_id == payment.telegram_payment_charge_id
    assert api.pay_invoice(CHAT, "pack:50", 50)[1] != paid_update  # a second payment gets a fresh charge id


# --- invoices --------------------------------------------------------------------------------------------------


@bounded()
async def test_an_invoice_is_sent_in_stars_with_exactly_one_price(api, messenger):
    await messenger.apply([invoice()])

    [call] = api.calls("sendInvoice")
    assert call.params["currency"] == "XTR"
    assert call.params["prices"] == [{"label": "50 ⭐ top-up", "amount": 50}]
    assert call.params.get("provider_token", "") == ""
    assert (call.params["title"], call.params["payload"]) == ("50 ⭐ top-up", "pack:50")
    [message] = api.messages(CHAT)
    assert message.kind == "invoice" and message.stars == 50
    assert message.invoice["description"] == "Adds 100 ₽ to your balance"


@bounded()
async def test_an_invoice_at_telegrams_limits_is_accepted(api, messenger):
    await messenger.apply([invoice(title="t" * 32, description="d" * 255, payload="ж" * 64)])  # 128 bytes

    assert [message.kind for message in api.messages(CHAT)] == ["invoice"]


@pytest.mark.parametrize(
    ("fields", "mentions"),
    [
        ({"title": ""}, "title"),
        ({"title": "t" * 33}, "title"),
        ({"description": ""}, "description"),
        ({"description": "d" * 256}, "description"),
        ({"payload": ""}, "payload"),
        ({"payload": "p" * 129}, "payload"),
        ({"payload": "ж" * 65}, "payload"),  # 65 characters, 130 bytes
        ({"stars": 0}, "stars"),
        ({"stars": True}, "stars"),
    ],
    ids=["empty_title", "long_title", "empty_description", "long_description", "empty_payload", "long_payload",
         "payload_over_128_bytes", "zero_stars", "bool_stars"],
)
@bounded()
async def test_an_invoice_over_the_limits_is_a_bug_and_never_sent(api, messenger, fields, mentions):
    with pytest.raises(ValueError, match=mentions):
        await messenger.apply([invoice(**fields)])

    assert api.calls("sendInvoice") == []


@bounded()
async def test_invoices_are_paced_like_other_sends(api, messenger, clock):
    await messenger.apply([SendScreen(CHAT, PACK)] * 3 + [invoice()])

    assert clock.sleeps == [pytest.approx(1.0)]


@pytest.mark.parametrize(
    "extra",
    [{"prices": [telegram.LabeledPrice("a", 10), telegram.LabeledPrice("b", 40)]}, {"provider_token": "284685:TEST"}],
    ids=["two_prices", "provider_token"],
)
@bounded()
async def test_the_fake_refuses_a_stars_invoice_telegram_would_refuse(api, bot, extra):
    params = {"chat_id": CHAT, "title": "T", "description": "D", "payload": "p", "currency": "XTR",
              "prices": [telegram.LabeledPrice("T", 50)], **extra}
    with pytest.raises(BadRequest, match="(?i)STARS_INVOICE_INVALID"):  # PTB capitalizes: Stars_invoice_invalid
        await bot.send_invoice(**params)


@bounded()
async def test_the_fake_refuses_a_price_of_zero_stars(api, bot):
    with pytest.raises(BadRequest, match="(?i)CURRENCY_TOTAL_AMOUNT_INVALID"):
        await bot.send_invoice(CHAT, "T", "D", "p", "XTR", [telegram.LabeledPrice("T", 0)])


# --- pre-checkout ----------------------------------------------------------------------------------------------


@bounded()
async def test_a_pre_checkout_query_is_answered_ok(api, messenger):
    query_update, _ = api.pay_invoice(CHAT, "pack:50", 50)
    api.push_update(query_update)
    query_id = query_update["pre_checkout_query"]["id"]

    await messenger.apply([AnswerPreCheckout(query_id, ok=True)])

    assert api.pre_checkout_answers[query_id] == {"ok": True, "error_message": None}
    [call] = api.calls("answerPreCheckoutQuery")
    assert "error_message" not in call.params


@bounded()
async def test_a_pre_checkout_query_is_refused_with_a_message(api, messenger):
    query_update, _ = api.pay_invoice(CHAT, "pack:old", 50)
    api.register_update(query_update)  # delivered by webhook: known to Telegram, not queued
    query_id = query_update["pre_checkout_query"]["id"]

    await messenger.apply([AnswerPreCheckout(query_id, ok=False, error_message="This package is no longer sold")])

    assert api.pre_checkout_answers[query_id] == {"ok": False, "error_message": "This package is no longer sold"}


@bounded()
async def test_a_refusal_without_a_message_is_a_bug_and_never_sent(api, messenger):
    with pytest.raises(ValueError, match="error_message"):
        await messenger.apply([AnswerPreCheckout("4325498327349283649", ok=False)])

    assert api.calls("answerPreCheckoutQuery") == []


@bounded()
async def test_pre_checkout_answers_are_never_paced(api, messenger, clock):
    ids = []
    for _ in range(5):
        query_update, _paid = api.pay_invoice(CHAT, "pack:50", 50)
        api.push_update(query_update)
        ids.append(query_update["pre_checkout_query"]["id"])
    await messenger.apply([SendScreen(CHAT, PACK)] * 3 + [AnswerPreCheckout(query_id, ok=True) for query_id in ids])

    assert clock.sleeps == []
    assert len(api.pre_checkout_answers) == 5


@bounded()
async def test_a_query_answered_twice_or_unknown_is_logged_and_skipped(api, messenger, caplog):
    query_update, _ = api.pay_invoice(CHAT, "pack:50", 50)
    api.push_update(query_update)
    query_id = query_update["pre_checkout_query"]["id"]
    with caplog.at_level(logging.INFO, logger="adapters.telegram"):
        await messenger.apply([AnswerPreCheckout(query_id, ok=True), AnswerPreCheckout(query_id, ok=True),
                               AnswerPreCheckout("never-sent", ok=True), SendScreen(CHAT, PACK)])

    assert len(api.calls("answerPreCheckoutQuery")) == 3 and len(api.pre_checkout_answers) == 1
    assert f"TELEGRAM_PRE_CHECKOUT_STALE query_id={query_id}" in caplog.text
    assert [message.kind for message in api.messages(CHAT)] == ["user", "text"]  # the payment, then the screen


# --- files by file_id ------------------------------------------------------------------------------------------


@bounded()
async def test_a_photo_is_resent_by_file_id_with_caption_and_keyboard(api, messenger):
    api.add_file("AgACAgIAAxkBAAIBsGW-receipt", png_bytes("receipt"), file_path="photos/file_7.jpg")

    await messenger.apply([SendFile(CHAT, ResultKind.PHOTO, "AgACAgIAAxkBAAIBsGW-receipt", caption="Top-up <#7>",
                                    keyboard=PACK.keyboard)])

    [call] = api.calls("sendPhoto")
    assert call.params["photo"] == "AgACAgIAAxkBAAIBsGW-receipt" and call.files == {}
    [message] = api.messages(CHAT)
    assert (message.kind, message.media, message.text) == ("photo", "AgACAgIAAxkBAAIBsGW-receipt", "Top-up <#7>")
    assert message.buttons == [[("Approve", "t:ok:7"), ("Reject", "t:no:7")]]


@bounded()
async def test_a_document_is_resent_by_file_id_with_keyboard(api, messenger):
    api.add_file("BQACAgIAAxkBAAIBsmW-receipt", b"%PDF-1.4 receipt", file_path="documents/receipt.pdf")

    await messenger.apply([SendFile(CHAT, ResultKind.DOCUMENT, "BQACAgIAAxkBAAIBsmW-receipt", keyboard=PACK.keyboard)])

    [call] = api.calls("sendDocument")
    assert call.params["document"] == "BQACAgIAAxkBAAIBsmW-receipt"
    [message] = api.messages(CHAT)
    assert (message.kind, message.media, message.text) == ("document", "BQACAgIAAxkBAAIBsmW-receipt", None)
    assert message.buttons == [[("Approve", "t:ok:7"), ("Reject", "t:no:7")]]


@bounded()
async def test_files_by_file_id_are_paced_like_other_sends(api, messenger, clock):
    api.add_file("AgAD-p", png_bytes("p"))
    await messenger.apply([SendFile(CHAT, ResultKind.PHOTO, "AgAD-p")] * 4)

    assert len(api.messages(CHAT)) == 4 and clock.sleeps == [pytest.approx(1.0)]


@bounded()
async def test_an_unknown_file_id_is_unavailable(api, messenger):
    with pytest.raises(MessengerUnavailableError, match="(?i)wrong file identifier"):
        await messenger.apply([SendFile(CHAT, ResultKind.DOCUMENT, "BQAC-expired")])


@bounded()
async def test_send_file_is_for_photos_and_documents_only(api, messenger):
    with pytest.raises(ValueError, match="video"):
        await messenger.apply([SendFile(CHAT, ResultKind.VIDEO, "BAAC-video")])
    assert api.calls("sendVideo") == [] and api.messages(CHAT) == []


# --- refunds ---------------------------------------------------------------------------------------------------


@bounded()
async def test_a_stars_payment_is_refunded(api, stars):
    _, paid = api.pay_invoice(CHAT, "pack:50", 50)
    charge_id = paid["message"]["successful_payment"]["telegram_payment_charge_id"]

    await stars.refund(CHAT, charge_id)

    [call] = api.calls("refundStarPayment")
    assert call.params == {"user_id": CHAT, "telegram_payment_charge_id": charge_id}
    assert api.refunds == [(CHAT, charge_id)] and api.charge(charge_id).refunded


@bounded()
async def test_a_second_refund_is_telegrams_refusal(api, stars, clock):
    api.register_charge(CHAT, CHARGE)
    await stars.refund(CHAT, CHARGE)

    with pytest.raises(StarsRefundError, match="CHARGE_ALREADY_REFUNDED"):
        await stars.refund(CHAT, CHARGE)
    assert len(api.calls("refundStarPayment")) == 2 and clock.sleeps == []


@bounded()
async def test_a_charge_delivered_in_a_successful_payment_update_can_be_refunded(api, stars):
    api.push_update(service("successful_payment", provider_payment_charge_id=""))

    await stars.refund(CHAT, CHARGE)

    assert api.refunds == [(CHAT, CHARGE)]


@bounded()
async def test_a_payment_refunded_already_cannot_be_refunded_again(api, stars):
    update = api.refunded_payment_update(CHAT, CHARGE, 50, "pack:50")
    assert parse_update(update) == PaymentRefunded(
        user=UserRef(id=CHAT, language_code="ru", first_name="User"), chat_id=CHAT, currency="XTR", total_amount=50,
        payload="pack:50", charge_id=CHARGE)

    with pytest.raises(StarsRefundError, match="CHARGE_ALREADY_REFUNDED"):
        await stars.refund(CHAT, CHARGE)


@pytest.mark.parametrize(("user_id", "charge_id"), [(CHAT, "stxUnknown"), (5151, CHARGE)],
                         ids=["unknown_charge", "another_users_charge"])
@bounded()
async def test_a_charge_telegram_does_not_know_is_refused(api, stars, user_id, charge_id):
    api.register_charge(CHAT, CHARGE)

    with pytest.raises(StarsRefundError, match="CHARGE_ID_INVALID"):
        await stars.refund(user_id, charge_id)


@bounded()
async def test_server_errors_are_retried_with_backoff_then_the_refund_goes_through(api, stars, clock):
    api.register_charge(CHAT, CHARGE)
    api.fail_next("refundStarPayment", 502, times=2)

    await stars.refund(CHAT, CHARGE)

    assert clock.sleeps == [0.5, 1.0] and api.refunds == [(CHAT, CHARGE)]


@bounded()
async def test_a_bot_api_that_stays_down_is_a_refund_error_after_bounded_retries(api, stars, clock):
    api.register_charge(CHAT, CHARGE)
    api.fail_next("refundStarPayment", 500, times=5)

    with pytest.raises(StarsRefundError, match="3 attempts"):
        await stars.refund(CHAT, CHARGE)
    assert len(api.calls("refundStarPayment")) == 3 and clock.sleeps == [0.5, 1.0] and api.refunds == []


@bounded()
async def test_flood_control_on_a_refund_waits_retry_after(api, stars, clock):
    api.register_charge(CHAT, CHARGE)
    api.fail_next("refundStarPayment", 429, retry_after=3)

    await stars.refund(CHAT, CHARGE)

    assert clock.sleeps == [3.0] and api.refunds == [(CHAT, CHARGE)]


@bounded()
async def test_a_refund_whose_answer_was_lost_counts_as_done_on_retry(api, caplog):
    api.register_charge(CHAT, CHARGE)
    api.delay_next("refundStarPayment", 0.3)  # Telegram refunds, but the answer comes after the client gave up
    async with make_bot(api, request=HTTPXRequest(read_timeout=0.1)) as bot:
        with caplog.at_level(logging.INFO, logger="adapters.telegram"):
            await TelegramStars(bot, sleep=asyncio.sleep, backoff_s=0.5).refund(CHAT, CHARGE)

    assert api.refunds == [(CHAT, CHARGE)] and len(api.calls("refundStarPayment")) == 2
    assert "STARS_REFUND_CONFIRMED_ON_RETRY" in caplog.text


@bounded()
async def test_a_blocked_or_forbidden_refund_is_a_refund_error(api, stars):
    api.register_charge(CHAT, CHARGE)
    api.fail_next("refundStarPayment", 403, description="Forbidden: bot was blocked by the user")

    with pytest.raises(StarsRefundError, match="Forbidden"):
        await stars.refund(CHAT, CHARGE)
