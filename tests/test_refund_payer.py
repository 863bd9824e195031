"""A refunded_payment update takes money back only from the user who made the charge (issue 13, item 9):
the same forged update, on JSON files and on PostgreSQL, through real HTTP against the fake Bot API."""

from __future__ import annotations

import copy
import logging

from tests.test_money_flows import RATE, balance, bot, pay
from tests.test_money_flows import backend  # noqa: F401 - the json/postgres fixture

PAYER, OTHER = 7123456789, 7001


def as_sent_by(update: dict, user_id: int) -> dict:
    """The same update, sent from another user's private chat."""
    forged = copy.deepcopy(update)
    message = forged["message"]
    message["from"] = {**message["from"], "id": user_id, "first_name": "Mallory"}
    message["chat"] = {**message["chat"], "id": user_id}
    forged["update_id"] += 500
    return forged


async def test_a_refund_update_from_someone_else_changes_nothing_and_is_logged(tmp_path, backend, caplog):  # noqa: F811
    async with bot(tmp_path, backend, WELCOME_BALANCE="0") as client:
        await client.say(PAYER, "/start")
        await client.say(OTHER, "/start")
        paid = await pay(client, PAYER, 100)
        await client.post_update(paid)
        await client.settle()
        charge = paid["message"]["successful_payment"]["telegram_payment_charge_id"]
        refund = client.api.refunded_payment_update(PAYER, charge, 100, "stars:100")
        with caplog.at_level(logging.WARNING, logger="core.handlers.payments"):
            assert await client.post_update(as_sent_by(refund, OTHER)) == 200
            await client.settle()
        assert await balance(client, PAYER) == 100 * RATE
        assert await client.server.app.storage.ledger.debt(OTHER) == 0
        assert (await client.server.app.storage.payments.get(charge)).refunded_at is None
        assert any("REFUND_PAYER_MISMATCH" in r.getMessage() and f"payer={PAYER}" in r.getMessage() for r in caplog.records)
        assert not [m for m in client.api.messages(OTHER) if m.from_bot and "возвращ" in (m.text or "").lower()]
        # The payer's own refund update still works.
        await client.post_update(refund)
        await client.settle()
        assert await balance(client, PAYER) == 0
        assert (await client.server.app.storage.payments.get(charge)).refunded_at is not None


async def test_a_refund_update_for_an_unknown_charge_is_logged_and_ignored(tmp_path, backend, caplog):  # noqa: F811
    async with bot(tmp_path, backend) as client:
        await client.say(OTHER, "/start")
        refund = client.api.refunded_payment_update(OTHER, "stxNeverPaid", 100, "stars:100")
        with caplog.at_level(logging.WARNING, logger="core.handlers.payments"):
            assert await client.post_update(refund) == 200
            await client.settle()
        assert await balance(client, OTHER) == 10000
        assert any("REFUND_UNKNOWN_CHARGE" in r.getMessage() for r in caplog.records)


async def test_a_forged_payment_that_would_overflow_the_balance_is_refused_cleanly(tmp_path, backend, caplog):  # noqa: F811
    """The parser takes amounts up to 2^53 Stars; at the rate, six of them fit in 64 bits and a seventh does not. It
    is refused with one PAYMENT_UNCREDITABLE line, nothing stored, no EXCEPTION_CAUGHT, on both storages."""
    huge = 2**53 - 1
    async with bot(tmp_path, backend, WELCOME_BALANCE="0") as client:
        await client.say(PAYER, "/start")
        for _ in range(6):
            _, paid = client.api.pay_invoice(PAYER, "stars:100", huge)
            assert await client.post_update(paid) == 200
        await client.settle()
        before = await balance(client, PAYER)
        assert before == 6 * huge * RATE
        _, seventh = client.api.pay_invoice(PAYER, "stars:100", huge)
        with caplog.at_level(logging.INFO):
            assert await client.post_update(seventh) == 200
            await client.settle()
        assert await balance(client, PAYER) == before
        charge = seventh["message"]["successful_payment"]["telegram_payment_charge_id"]
        assert await client.server.app.storage.payments.get(charge) is None
        assert any("PAYMENT_UNCREDITABLE" in r.getMessage() for r in caplog.records)
        assert not any("EXCEPTION_CAUGHT" in r.getMessage() for r in caplog.records)
