"""Money screens that lead somewhere and inputs that are not thrown away (issue 12, items 4–6, 9, 10),
as whole conversations through the simulator's driver."""

from __future__ import annotations

from adapters.kie import fake_media
from ports.effects import AnswerCallback
from ports.screens import Button
from tests.harness import running_bot

NBSP = "\u00a0"


async def open_model(bot, category: str, model: str) -> None:
    await bot.open_model(category, model)


def labels(bot) -> list[str]:
    return [b.label for b in bot.chat.focused().buttons()]


async def test_a_short_balance_shows_the_shortfall_and_top_up_never_a_negative_balance_or_run(tmp_path):
    async with running_bot(tmp_path, balance="0.5") as bot:
        await open_model(bot, "Картинки и дизайн", "Z-Image")
        await bot.send("test")
        text = bot.screen_text()
        assert f"💰 Баланс: 0,50{NBSP}₽\n⚠️ Не хватает 0,30{NBSP}₽" in text
        assert "-" not in text.split("💵")[1] and "после запуска" not in text
        assert "🚀 Запустить" not in labels(bot)
        assert labels(bot)[0] == "💳 Пополнить"


async def test_a_top_up_started_from_an_order_leads_back_to_it_with_files_prompt_and_options(tmp_path):
    async with running_bot(tmp_path, balance="1") as bot:
        await open_model(bot, "Видео", "Kling 2.5 Turbo Pro: оживить фото")
        await bot.send(f"/photo {bot.write_photo()}")
        await bot.send("the cat waves")
        await bot.press("Параметры")
        await bot.press("Длительность")
        await bot.press("10")
        before = bot.screen_text()
        assert "Не хватает" in before
        await bot.press("Пополнить")
        await bot.press("⭐ 100")
        await bot.send("/pay")
        receipt = bot.last()
        assert receipt.text.startswith("✅ Оплата получена: 100 ⭐ → +150,00")
        assert "Заказ сохранён — вернитесь к нему и запустите." in receipt.text
        assert [b.label for b in receipt.buttons()] == ["✅ Вернуться к заказу", "🏠 Меню"]
        await bot.press("Вернуться к заказу")
        order = bot.screen_text()
        assert order.startswith("🧾 Проверьте заказ")
        assert "Описание: «the cat waves»" in order and "Файлы: 1" in order and "• Длительность, с: 10" in order
        assert "Не хватает" not in order
        outcome = await bot.press("Запустить")
        await bot.settle()
        job = await bot.app.storage.jobs.get(outcome.started_job)
        assert job.input["prompt"] == "the cat waves" and job.input["duration"] == "10"
        assert job.input["image_url"].startswith("file://")
        assert await bot.balance() == 100 + 15000 - job.price


async def test_a_top_up_from_the_balance_screen_has_no_order_to_return_to(tmp_path):
    async with running_bot(tmp_path) as bot:
        await bot.send("/balance")
        await bot.press("Пополнить")
        await bot.press("⭐ 100")
        await bot.send("/pay")
        assert bot.last().buttons() == ()


async def test_a_user_who_cannot_pay_is_offered_the_free_model(tmp_path):
    async with running_bot(tmp_path, balance="0", FREE_DAILY_LIMIT=2) as bot:
        await open_model(bot, "Картинки и дизайн", "Nano Banana Pro")
        await bot.send("a red fox")
        assert "🎁 Без оплаты сегодня можно запустить «Z-Image» (осталось 2 из 2)." in bot.screen_text()
        await bot.press("Z-Image — бесплатно")
        await bot.send("a red fox")
        outcome = await bot.press("Запустить")
        assert outcome.started_job is not None


async def test_a_description_typed_before_the_photo_is_kept(tmp_path):
    async with running_bot(tmp_path) as bot:
        await open_model(bot, "Картинки и дизайн", "Nano Banana: правка фото")
        outcome = await bot.send("make it blue")
        assert outcome.rejected is None
        assert bot.last().text == "📝 Описание сохранено. Теперь отправьте фото."
        await bot.send(f"/photo {bot.write_photo()}")
        assert bot.screen_text().startswith("🧾 Проверьте заказ")
        assert "Описание: «make it blue»" in bot.screen_text()


async def test_file_received_says_how_many_files_are_attached_and_how_many_more_fit(tmp_path):
    async with running_bot(tmp_path) as bot:
        await open_model(bot, "Картинки и дизайн", "Nano Banana: правка фото")
        await bot.send(f"/photo {bot.write_photo()}")
        assert bot.last().text.startswith("✅ Файл получен. Прикреплено файлов: 1, можно добавить ещё 9.\n✍️")
        await bot.send(f"/photo {bot.write_photo('b.png')}")
        assert bot.last().text.startswith("✅ Файл получен. Прикреплено файлов: 2, можно добавить ещё 8.\n✍️")


async def test_a_model_without_a_description_never_asks_for_one_and_offers_the_order(tmp_path):
    async with running_bot(tmp_path) as bot:
        await open_model(bot, "Аудио", "Чистый голос")
        await bot.send("please clean it")
        assert bot.last().text == "Этой модели описание не нужно: отправьте аудио."
        await bot.send(f"/audio {bot.write_audio()}")
        assert bot.screen_text().startswith("🧾 Проверьте заказ")
        outcome = await bot.send(f"/audio {bot.write_audio('again.wav')}")
        assert outcome.rejected == "VALIDATION_FAIL"
        assert bot.last().text == "Все файлы для этого заказа уже получены."
        assert "описание" not in bot.last().text.lower()
        assert labels(bot)[0] == "✅ К заказу"
        await bot.press("К заказу")
        assert bot.screen_text().startswith("🧾 Проверьте заказ")


async def test_the_page_number_button_answers_with_a_toast(tmp_path):
    async with running_bot(tmp_path) as bot:
        await bot.send("/start")
        outcome = await bot.press_data("noop", bot.chat.focus)
        assert outcome.effects == [AnswerCallback(outcome.effects[0].callback_id, "Это номер страницы. Листайте кнопками ◀️ ▶️")]


async def test_help_lists_invite_and_paysupport(tmp_path):
    async with running_bot(tmp_path, language="en") as bot:
        await bot.send("/help")
        assert "/invite — invite friends" in bot.last().text and "/paysupport — payment questions" in bot.last().text


async def test_paysupport_and_receipts_show_the_support_contact(tmp_path):
    async with running_bot(tmp_path, SUPPORT_CONTACT="@trt_support") as bot:
        await bot.send("/paysupport")
        message = bot.last()
        assert "Поддержка: @trt_support" in message.text and "ваш ID 1001" in message.text
        assert message.buttons() == (Button("💬 Написать в поддержку", url="https://t.me/trt_support"),)
        await bot.send("/balance")
        await bot.press("Пополнить")
        await bot.press("⭐ 100")
        await bot.send("/pay")
        assert bot.last().text.endswith("Поддержка: @trt_support")


async def test_without_a_support_contact_paysupport_still_answers(tmp_path):
    async with running_bot(tmp_path) as bot:
        await bot.send("/paysupport")
        assert bot.last().text.startswith("💬 Поддержка по оплатам") and bot.last().buttons() == ()


async def test_an_audio_file_longer_than_the_model_takes_is_refused_by_its_measured_length(tmp_path):
    async with running_bot(tmp_path) as bot:
        await open_model(bot, "Аудио", "Чистый голос")  # audio up to 60 s
        long = fake_media.write_file(bot.files / "long.wav", fake_media.wav_bytes("long", seconds=70, rate=8000))
        outcome = await bot.send(f"/file {long}")  # a document: Telegram reports no duration
        assert outcome.rejected == "VALIDATION_FAIL"
        assert bot.last().text == "⚠️ Файл длиннее 60 с (70 с). Обрежьте и отправьте снова."
        assert bot.app.gateway.uploads == []
        short = fake_media.write_file(bot.files / "short.wav", fake_media.wav_bytes("short", seconds=30, rate=8000))
        await bot.send(f"/file {short}")
        assert bot.screen_text().startswith("🧾 Проверьте заказ")


async def test_a_user_at_zero_sees_the_free_model_in_the_menu(tmp_path):
    async with running_bot(tmp_path, balance="0", FREE_DAILY_LIMIT=3) as bot:
        await bot.send("/start")
        assert "🎁 Без оплаты сегодня можно запустить «Z-Image» (осталось 3 из 3)." in bot.screen_text()
    async with running_bot(tmp_path / "paying", balance="100", FREE_DAILY_LIMIT=3) as bot:
        await bot.send("/start")
        assert "Без оплаты" not in bot.screen_text()
