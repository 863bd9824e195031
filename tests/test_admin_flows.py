"""The operator's tools: the panel, stats, user lookup, credit/debit, blocking, models and markup,
broadcasts (including one interrupted by a restart), the audit log, history — and no hint of any of it
for ordinary users."""

from __future__ import annotations

from core import cashier
import asyncio

import pytest

from entrypoints.fake_stack import running_server
from ports.events import UserRef
from tests.harness import running_bot
from tests.test_money_flows import backend  # noqa: F401 - the json/postgres fixture

ADMIN = 1001  # the harness user
OTHER = 2002


async def test_non_admins_get_no_hint_that_admin_commands_exist(tmp_path):
    async with running_bot(tmp_path) as bot:
        for command in ("/admin", "/credit 1 10", "/debit 1 10", "/block 1", "/refund x", "/markup 3", "/status"):
            outcome = await bot.send(command)
            assert outcome.rejected == "UNKNOWN_COMMAND", command
            assert bot.last().text.startswith("Не знаю такой команды")
        assert (await bot.press_data("adm:stats", 1)).rejected == "UNKNOWN_CALLBACK"


async def test_credit_and_debit_reply_with_the_new_balance_and_are_audited(tmp_path):
    async with running_bot(tmp_path, ADMIN_ID=(ADMIN,)) as bot:
        await cashier.ensure_user(bot.app.storage, UserRef(OTHER, username="Alice"), 0, bot.clock.now())
        await bot.send("/credit @alice 150")
        assert bot.last().text == f"✅ Начислено 150,00\u00a0₽ пользователю {OTHER}. Баланс: 150,00\u00a0₽"
        await bot.send(f"/debit {OTHER} 50.5")
        assert bot.last().text.endswith("Баланс: 99,50\u00a0₽")
        await bot.send(f"/debit {OTHER} 1000")
        assert bot.last().text.startswith("⚠️ Недостаточно средств")
        await bot.send("/credit nobody 10")
        assert bot.last().text.startswith("Использование: /credit")
        actions = [(e.action, e.details["amount"]) for e in await bot.app.storage.audit.recent()]
        assert actions == [("debit", 5050), ("credit", 15000)]


async def test_a_blocked_user_is_served_nothing_until_unblocked(tmp_path):
    async with running_bot(tmp_path, ADMIN_ID=(ADMIN,)) as bot:
        other = bot.driver.__class__(bot.app.core, bot.chat, UserRef(OTHER, "ru", username="bob"))
        await other.send("/start")
        await bot.send("/block @bob")
        assert bot.last().text == f"🚫 Пользователь {OTHER} заблокирован."
        outcome = await other.send("/start")
        assert outcome.rejected == "BANNED" and bot.last().text.startswith("⛔ Доступ к боту ограничен")
        await bot.send(f"/unblock {OTHER}")
        assert (await other.send("/start")).rejected is None


async def test_the_panel_shows_stats_users_and_the_audit_log(tmp_path):
    async with running_bot(tmp_path, ADMIN_ID=(ADMIN,)) as bot:
        await bot.send("/admin")
        assert bot.screen_text().startswith("🛠 Админ-панель\nKIE: ok")
        await bot.press("Статистика")
        assert "Пользователи: 1; активные: за 1 дн. — 1, за 7 дн. — 1, за 30 дн. — 1" in bot.screen_text()
        await bot.press("Назад")
        await bot.press("Пользователь")
        await bot.send(str(ADMIN))
        assert bot.last().text.startswith(f"👤 Tester (ID {ADMIN})\nБаланс: 100,00")
        await bot.send("/admin")
        await bot.press("Журнал")
        assert bot.screen_text().startswith("🧾 Журнал действий")


async def test_switching_a_model_off_hides_it_and_a_new_markup_changes_prices(tmp_path):
    async with running_bot(tmp_path, ADMIN_ID=(ADMIN,)) as bot:
        await bot.send("/admin")
        await bot.press("Модели")
        await bot.press("✅ Z-Image")
        assert "⛔ Z-Image" in [b.label for b in bot.chat.focused().buttons()]
        await bot.send("/start")
        await bot.press("Картинки и дизайн")
        assert not any("Z-Image" in b.label for b in bot.chat.focused().buttons())
        await bot.send("/markup 4")
        assert bot.last().text == "💹 Наценка: 2 → 4"
        await bot.send("/start")
        await bot.press("Картинки и дизайн")
        assert any(b.label == "Nano Banana 2 · от 16,00\u00a0₽" for b in bot.chat.focused().buttons())  # 8 credits x 4
        overrides = await bot.app.storage.runtime.overrides()
        assert overrides.disabled_models == frozenset({"z-image"}) and str(overrides.markup) == "4"


async def test_history_shows_a_result_again_and_repeats_a_job(tmp_path):
    async with running_bot(tmp_path) as bot:
        await bot.send("/start")
        await bot.press("Картинки и дизайн")
        await bot.press("Z-Image")
        await bot.send("a cat")
        await bot.press("Запустить")
        await bot.settle()
        await bot.send("/start")
        await bot.press("История")
        assert bot.screen_text().splitlines()[2].startswith("1. ✅")
        photos = len([e for e in bot.chat.effects if getattr(e, "kind", None) is not None])
        await bot.press("📎 1")
        assert len([e for e in bot.chat.effects if getattr(e, "kind", None) is not None]) == photos + 1
        await bot.send("/start")
        await bot.press("История")
        await bot.press("🔁 1")
        assert bot.screen_text().startswith("🧾 Проверьте заказ") and "«a cat»" in bot.screen_text()


@pytest.mark.slow
@pytest.mark.parametrize("users", [60])
async def test_a_broadcast_interrupted_by_a_restart_resumes_where_it_stopped(tmp_path, backend, users):  # noqa: F811
    env = {"ADMIN_ID": "42", **backend}
    async with running_server(tmp_path, **env) as client:
        storage = client.server.app.storage
        for user_id in range(100, 100 + users):
            await cashier.ensure_user(storage, UserRef(user_id, "ru"), 0, client.server.app.services.clock.now())
        await client.say(42, "/admin")
        await client.press(42, "Рассылка")
        await client.say(42, "Hello from the operator")
        await client.press(42, "Отправить")
        async with asyncio.timeout(20):  # let the first batch go out, then stop the process
            while len([c for c in client.api.calls("sendMessage") if c.params.get("text") == "Hello from the operator"]) < 25:
                await asyncio.sleep(0.02)
        first_run = {c.params["chat_id"] for c in client.api.calls("sendMessage") if c.params.get("text") == "Hello from the operator"}
    async with running_server(tmp_path, **env) as client:  # a new process on the same data
        async with asyncio.timeout(30):
            while (await client.server.app.storage.broadcasts.sending()):
                await asyncio.sleep(0.05)
        second_run = [c.params["chat_id"] for c in client.api.calls("sendMessage") if c.params.get("text") == "Hello from the operator"]
        audit = await client.server.app.storage.audit.recent()
        broadcast = await client.server.app.storage.broadcasts.get(next(e.details["id"] for e in audit if e.action == "broadcast"))
    everyone = set(range(100, 100 + users)) | {42}
    assert everyone <= first_run | set(second_run)
    assert len(set(second_run) & first_run) <= 25  # at most the batch in flight is sent twice
    assert broadcast.state.value == "done" and broadcast.delivered >= len(everyone)

