"""Every way money comes in or goes back, through real HTTP against the fake Bot API server, on JSON
files and on PostgreSQL: Stars payments (duplicates, refunds, debt), manual top-ups decided by two admins
at once, concurrent launches, the free tier with a failed run, referral bonuses."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import pytest

from entrypoints.fake_stack import running_server
from entrypoints.smoke_checks import callback_update, message_update
from ports.storage import JobState
from tests.pg import scratch_database

USER, FRIEND, ADMIN_A, ADMIN_B = 7001, 7002, 9001, 9002
RATE = 150  # kopecks per Star at STARS_RATE=1.5


@pytest.fixture(params=["json", "postgres"])
async def backend(request):
    if request.param == "json":
        yield {}
    else:
        async with scratch_database(migrated=True) as dsn:
            yield {"DATABASE_URL": dsn}


@asynccontextmanager
async def bot(tmp_path, backend, **env):
    settings = {"ADMIN_ID": f"{ADMIN_A},{ADMIN_B}", "MANUAL_TOPUP_AMOUNTS": "500,1000", **backend, **env}
    async with running_server(tmp_path, **settings) as client:
        yield client


async def balance(client, user=USER) -> int:
    return await client.server.app.storage.ledger.balance(user)


async def pay(client, user: int, stars: int, payload: str | None = None):
    """Open the invoice (as the user would) and pay it: returns the successful_payment update."""
    pre_checkout, paid = client.api.pay_invoice(user, payload or f"stars:{stars}", stars)
    assert await client.post_update(pre_checkout) == 200
    await client.settle()
    return paid


@pytest.mark.slow
async def test_a_stars_payment_credits_once_however_often_telegram_delivers_it(tmp_path, backend):
    async with bot(tmp_path, backend) as client:
        await client.say(USER, "/start")
        await client.say(USER, "/balance")
        await client.press(USER, "Пополнить")
        await client.press(USER, "⭐ 100")
        (invoice,) = client.api.calls("sendInvoice")
        assert invoice.params["currency"] == "XTR" and invoice.params["payload"] == "stars:100"
        paid = await pay(client, USER, 100)
        (answer,) = client.api.calls("answerPreCheckoutQuery")
        assert answer.params["ok"] is True
        duplicate = {**paid, "update_id": paid["update_id"] + 1000}  # the same charge in another update
        results = await asyncio.gather(client.post_update(paid), client.post_update(duplicate), client.post_update(paid))
        assert set(results) == {200}
        await client.settle()
        assert await balance(client) == 10000 + 100 * RATE
        receipts = [m for m in client.api.messages(USER) if (m.text or "").startswith("✅ Оплата получена")]
        assert len(receipts) == 1 and "100 ⭐ → +150,00" in receipts[0].text


async def test_pre_checkout_refuses_an_unknown_package_or_a_wrong_amount(tmp_path, backend):
    async with bot(tmp_path, backend) as client:
        await client.say(USER, "/start")
        await pay(client, USER, 77, "stars:77")
        await pay(client, USER, 99, "stars:100")
        answers = [c.params for c in client.api.calls("answerPreCheckoutQuery")]
        assert [a["ok"] for a in answers] == [False, False]
        assert all(a["error_message"] for a in answers)


@pytest.mark.slow
async def test_a_refund_takes_the_money_back_and_a_debt_is_settled_by_the_next_top_up(tmp_path, backend):
    async with bot(tmp_path, backend, WELCOME_BALANCE="0") as client:
        await client.say(USER, "/start")
        paid = await pay(client, USER, 100)
        await client.post_update(paid)
        await client.settle()
        await client.say(USER, "/start")
        await client.press(USER, "Картинки и дизайн")
        await client.press(USER, "Z-Image")
        await client.say(USER, "test")
        await client.press(USER, "Запустить")  # spends 0,80 of the 150,00
        charge = paid["message"]["successful_payment"]["telegram_payment_charge_id"]
        refund = client.api.refunded_payment_update(USER, charge, 100, "stars:100")
        await client.post_update(refund)
        await client.post_update({**refund, "update_id": refund["update_id"] + 1})
        await client.settle()
        ledger = client.server.app.storage.ledger
        assert await balance(client) == 0 and await ledger.debt(USER) == 80
        assert "Долг после возврата: 0,80" in client.api.messages(USER)[-1].text
        again = await pay(client, USER, 100)
        await client.post_update(again)
        await client.settle()
        assert await balance(client) == 100 * RATE - 80 and await ledger.debt(USER) == 0
        entries = await ledger.entries(USER, 50)
        assert sum(e.amount for e in entries) == await balance(client)


async def test_an_admin_refund_returns_the_stars_and_the_credit_once(tmp_path, backend):
    async with bot(tmp_path, backend, WELCOME_BALANCE="0") as client:
        await client.say(USER, "/start")
        paid = await pay(client, USER, 250)
        await client.post_update(paid)
        await client.settle()
        charge = paid["message"]["successful_payment"]["telegram_payment_charge_id"]
        await client.say(ADMIN_A, f"/refund {charge}")
        assert client.api.calls("refundStarPayment")[0].params["telegram_payment_charge_id"] == charge
        await client.post_update(client.api.refunded_payment_update(USER, charge, 250, "stars:250"))
        await client.settle()
        assert await balance(client) == 0
        assert [m.text for m in client.api.messages(USER) if (m.text or "").startswith("↩️")].__len__() == 1
        await client.say(ADMIN_A, f"/refund {charge}")  # Telegram: CHARGE_ALREADY_REFUNDED
        assert client.api.messages(ADMIN_A)[-1].text.startswith("⚠️ Telegram отказал в возврате")
        actions = [e.action for e in await client.server.app.storage.audit.recent()]
        assert actions.count("refund_stars") == 1


@pytest.mark.slow
async def test_two_admins_approving_one_receipt_at_once_credit_it_once(tmp_path, backend):
    async with bot(tmp_path, backend, WELCOME_BALANCE="0") as client:
        await client.say(USER, "/start")
        await client.say(USER, "/balance")
        await client.press(USER, "Пополнить")
        await client.press(USER, "Банковский перевод")
        await client.press(USER, "500,00")
        client.api.add_file("receipt-1", b"%PDF-1.4 fake receipt")
        receipt = message_update(USER, "")
        receipt["message"].pop("text")
        receipt["message"]["document"] = {"file_id": "receipt-1", "file_unique_id": "r1", "file_name": "r.pdf",
                                          "mime_type": "application/pdf"}
        await client.post_update(receipt)
        await client.settle()
        cards = [client.last_with_buttons(admin) for admin in (ADMIN_A, ADMIN_B)]
        assert all(card.kind == "document" and "500,00" in card.text for card in cards)
        presses = [
            callback_update(admin, next(d for row in card.buttons for label, d in row if "Зачислить" in label),
                            card.message_id)
            for admin, card in zip((ADMIN_A, ADMIN_B), cards)
        ]
        await asyncio.gather(*(client.post_update(p) for p in presses))
        await client.settle()
        assert await balance(client) == 50000
        credited = [m for m in client.api.messages(USER) if (m.text or "").startswith("✅ Пополнение на 500,00")]
        assert len(credited) == 1
        toasts = [c.params.get("text") for c in client.api.calls("answerCallbackQuery") if c.params["callback_query_id"]
                  in {p["callback_query"]["id"] for p in presses}]
        assert sorted(toasts)[0] == "Готово" and any(t and t.startswith("Заявка уже решена") for t in toasts)


@pytest.mark.slow
async def test_concurrent_taps_on_launch_charge_once(tmp_path, backend):
    async with bot(tmp_path, backend) as client:
        await client.say(USER, "/start")
        await client.press(USER, "Картинки и дизайн")
        await client.press(USER, "Z-Image")
        await client.say(USER, "test")
        card = client.last_with_buttons(USER)
        data = next(d for row in card.buttons for label, d in row if "Запустить" in label)
        taps = [callback_update(USER, data, card.message_id) for _ in range(4)]
        await asyncio.gather(*(client.post_update(t) for t in taps))
        await client.settle()
        assert len(await client.server.app.storage.jobs.for_user(USER)) == 1
        assert await balance(client) == 10000 - 80


@pytest.mark.slow
async def test_a_failed_free_run_gives_the_free_try_back_and_a_delivered_one_uses_it(tmp_path, backend):
    async with bot(tmp_path, backend, FREE_DAILY_LIMIT="1") as client:
        async def run(prompt: str) -> None:
            await client.say(USER, "/start")
            await client.press(USER, "Картинки и дизайн")
            await client.press(USER, "Z-Image")
            await client.say(USER, prompt)
            await client.press(USER, "Запустить")

        await client.say(USER, "/start")
        await run("FAIL now")
        jobs = await client.server.app.storage.jobs.for_user(USER)
        assert jobs[0].state is JobState.REFUNDED and jobs[0].free and jobs[0].price == 0
        await run("works")  # the free try came back
        await run("third")  # now paid
        jobs = await client.server.app.storage.jobs.for_user(USER)
        assert [(j.free, j.price) for j in jobs] == [(False, 80), (True, 0), (True, 0)]
        assert await balance(client) == 10000 - 80


async def test_referral_bonuses_are_paid_once_after_the_first_top_up(tmp_path, backend):
    async with bot(tmp_path, backend, REFERRAL_BONUS_INVITER="50", REFERRAL_BONUS_INVITEE="25") as client:
        await client.say(USER, "/start")
        await client.say(USER, "/invite")
        link = next(line for line in client.api.messages(USER)[-1].text.splitlines() if "start=ref_" in line)
        code = link.split("start=")[1]
        await client.say(FRIEND, f"/start {code}")
        await client.say(USER, f"/start {code}")  # inviting oneself does nothing
        for _ in range(2):
            await client.post_update(await pay(client, FRIEND, 100))
            await client.settle()
        assert await balance(client, USER) == 10000 + 5000
        assert await balance(client, FRIEND) == 10000 + 2 * 100 * RATE + 2500
        stats = await client.server.app.storage.referrals.stats(USER)
        assert (stats.invited, stats.rewarded, stats.earned) == (1, 1, 5000)
