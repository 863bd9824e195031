"""Admin money commands take amounts from a bounded grammar and a configured ceiling, give the same answer
on JSON and PostgreSQL when a balance would leave the 64-bit range, and the user card's Block/Unblock
button works for real (10-digit) Telegram ids (issue 13, items 6 and 7)."""

from __future__ import annotations

from core import cashier
import pytest

from entrypoints.fake_stack import running_server
from ports.events import UserRef
from ports.storage import MAX_BALANCE
from tests.harness import running_bot
from tests.test_money_flows import backend  # noqa: F401 - the json/postgres fixture

ADMIN = 1001  # the harness user
REAL_ID = 7123456789  # Telegram ids have 10 digits today (up to 52 significant bits)
USAGE = "Использование: /credit"


@pytest.mark.parametrize(
    "amount",
    ["1e999990", "1e5", "NaN", "Infinity", "0x10", "1_000", "١٢٣", "１２", "12.345", "1.2.3", "1,2,3", "-5", "+5",
     "0", "0.00", ".5", "5.", "9" * 5000],
)
async def test_an_amount_outside_the_grammar_gets_the_usage_answer_and_moves_nothing(tmp_path, amount):
    async with running_bot(tmp_path, ADMIN_ID=(ADMIN,)) as bot:
        outcome = await bot.send(f"/credit {ADMIN} {amount}")
        assert outcome.rejected == "VALIDATION_FAIL", amount
        assert bot.last().text.startswith(USAGE)
        assert await bot.balance() == 10000


async def test_amounts_with_one_separator_and_two_decimals_are_accepted_up_to_the_ceiling(tmp_path):
    async with running_bot(tmp_path, ADMIN_ID=(ADMIN,), ADMIN_MAX_AMOUNT=500) as bot:
        for amount in ("12,5", "0.01", "499.99"):
            assert (await bot.send(f"/credit {ADMIN} {amount}")).rejected is None, amount
        assert await bot.balance() == 10000 + 1250 + 1 + 49999
        assert (await bot.send(f"/debit {ADMIN} 500")).rejected is None
        outcome = await bot.send(f"/credit {ADMIN} 500.01")
        assert outcome.rejected == "AMOUNT_LIMIT"
        assert bot.last().text == "⚠️ Сумма больше допустимой: не более 500,00\u00a0₽ за одну команду (ADMIN_MAX_AMOUNT)."
        assert (await bot.send(f"/debit {ADMIN} 999999999999999")).rejected == "AMOUNT_LIMIT"
        assert await bot.balance() == 10000 + 1250 + 1 + 49999 - 50000


async def test_the_default_ceiling_is_a_million(tmp_path):
    async with running_bot(tmp_path, ADMIN_ID=(ADMIN,)) as bot:
        assert (await bot.send(f"/credit {ADMIN} 1000000")).rejected is None
        assert (await bot.send(f"/credit {ADMIN} 1000000.01")).rejected == "AMOUNT_LIMIT"


async def test_a_balance_beyond_64_bits_gets_the_same_answer_on_both_storages(tmp_path, backend):  # noqa: F811
    async with running_server(tmp_path, ADMIN_ID=str(ADMIN), **backend) as client:
        storage = client.server.app.storage
        await cashier.ensure_user(storage, UserRef(REAL_ID), 0, client.server.app.services.clock.now())
        await cashier.credit(storage, REAL_ID, MAX_BALANCE - 100, "test:near-max", "admin", client.server.app.services.clock.now())
        await client.say(ADMIN, f"/credit {REAL_ID} 5")
        answer = client.api.messages(ADMIN)[-1].text
        assert answer.startswith("⚠️ Баланс превысил бы допустимый максимум"), answer
        assert "Ничего не изменено" in answer
        assert await storage.ledger.balance(REAL_ID) == MAX_BALANCE - 100
        await client.say(ADMIN, f"/credit {REAL_ID} 1")
        assert await storage.ledger.balance(REAL_ID) == MAX_BALANCE


async def test_the_user_cards_block_button_works_for_a_real_telegram_id(tmp_path):
    async with running_bot(tmp_path, ADMIN_ID=(ADMIN,)) as bot:
        other = bot.driver.__class__(bot.app.core, bot.chat, UserRef(REAL_ID, "ru", username="real"))
        await other.send("/start")
        await bot.send("/admin")
        await bot.press("Пользователь")
        await bot.send(str(REAL_ID))
        assert bot.last().text.startswith(f"👤 @real (ID {REAL_ID})")
        outcome = await bot.press("Заблокировать")
        assert outcome.rejected is None
        assert bot.last().text == f"🚫 Пользователь {REAL_ID} заблокирован."
        assert (await bot.app.storage.users.get(REAL_ID)).banned
        assert (await other.send("/start")).rejected == "BANNED"
        assert (await bot.press_data(f"adm:unban:{REAL_ID}", 1)).rejected is None
        assert not (await bot.app.storage.users.get(REAL_ID)).banned


@pytest.mark.parametrize("argument", ["²", "①", "٣", "-5", "0", "9" * 20, "12a"])
async def test_a_ban_button_with_a_malformed_id_gets_the_menu_updated_answer(tmp_path, argument):
    async with running_bot(tmp_path, ADMIN_ID=(ADMIN,)) as bot:
        assert (await bot.press_data(f"adm:ban:{argument}", 1)).route == "adm"
        assert bot.last().text.startswith("🔄")
