"""Scripted conversations through the simulator's driver (the layer under prompt-toolkit): the same
core, storage and fake generator a person uses in the terminal."""

from __future__ import annotations

import re
from pathlib import Path

from ports.effects import AnswerCallback, ResultKind, SendMedia
from ports.events import CallbackPress
from ports.storage import JobState
from tests.harness import running_bot

Z_IMAGE_PRICE = 80  # 0.8 credits × 0.005 USD × 100 RUB/USD × markup 2 = 0,80 ₽


async def open_z_image(bot) -> None:
    await bot.send("/start")
    await bot.press("Картинки и дизайн")
    await bot.press("Z-Image")


async def test_the_runbook_journey_delivers_a_picture_and_charges_once(tmp_path):
    async with running_bot(tmp_path) as bot:
        await open_z_image(bot)
        assert bot.screen_text().endswith("✍️ Напишите, что нужно сделать (до 1000 символов).")
        await bot.send("test")
        assert bot.screen_text().startswith("🧾 Проверьте заказ")
        assert "💵 Цена: 0,80\u00a0₽" in bot.screen_text()
        outcome = await bot.press("Запустить")
        assert outcome.started_job is not None
        await bot.settle()
        result = bot.last()
        assert result.media is not None and result.media.kind is ResultKind.PHOTO
        assert result.media.url.startswith("file://") and "«test»" in result.media.caption
        assert [b.label for b in result.buttons()] == ["🔁 Ещё раз", "🏠 Меню", "📄 Оригинал"]
        assert await bot.balance() == 10000 - Z_IMAGE_PRICE
        job = await bot.app.storage.jobs.get(outcome.started_job)
        assert job.state is JobState.DELIVERED


async def test_the_progress_message_is_edited_as_the_job_moves(tmp_path):
    async with running_bot(tmp_path) as bot:
        await open_z_image(bot)
        await bot.send("test")
        confirmation_id = bot.chat.focus
        await bot.press("Запустить")
        await bot.settle()
        edits = [e.screen.text for e in bot.chat.effects if getattr(e, "message_id", None) == confirmation_id]
        assert edits[0].startswith("⏳ Z-Image\nОтправляем задачу…")
        assert any("🎨 Генерация…" in text for text in edits)
        assert edits[-1] == "✅ Готово: Z-Image"


async def test_a_failed_generation_is_refunded_exactly_once_and_the_user_is_told(tmp_path):
    async with running_bot(tmp_path) as bot:
        await open_z_image(bot)
        await bot.send("FAIL please")
        outcome = await bot.press("Запустить")
        await bot.settle()
        assert await bot.balance() == 10000
        text = bot.last().text
        assert text.startswith("❌ Не получилось: Z-Image\nПричина: сбой на стороне сервиса генерации. Попробуйте ещё раз.")
        assert "Scripted" not in text and "KIE" not in text  # the raw reason is for admins only
        assert "💸 Деньги возвращены: 0,80\u00a0₽." in text
        entries = await bot.app.storage.ledger.entries(bot.user_id)
        assert [(e.reason, e.amount) for e in entries] == [("refund", 80), ("launch", -80), ("welcome", 10000)]
        assert (await bot.app.storage.jobs.get(outcome.started_job)).state is JobState.REFUNDED


async def test_not_enough_balance_shows_the_shortfall_and_charges_nothing(tmp_path):
    async with running_bot(tmp_path, balance="0.5") as bot:
        await open_z_image(bot)
        await bot.send("test")
        assert "⚠️ Не хватает 0,30\u00a0₽" in bot.screen_text()
        assert "после запуска" not in bot.screen_text()
        draft_id = bot.chat.focused().buttons()[0].data.split(":")[1]
        outcome = await bot.press_data(f"launch:{draft_id}", bot.chat.focus)  # an older 🚀 in the chat
        assert outcome.rejected == "INSUFFICIENT_BALANCE" and outcome.started_job is None
        assert bot.screen_text().startswith("💳 Недостаточно средств")
        assert "Не хватает: 0,30\u00a0₽" in bot.screen_text()
        assert [b.label for b in bot.chat.focused().buttons()][0] == "💳 Пополнить"
        assert await bot.balance() == 50
        assert await bot.app.storage.jobs.for_user(bot.user_id) == []


async def test_changing_an_option_changes_the_price_on_the_confirmation(tmp_path):
    async with running_bot(tmp_path, language="en") as bot:
        await bot.send("/start")
        await bot.press("Images & design")
        await bot.press("Nano Banana Pro")
        await bot.send("a red fox")
        assert "💵 Price: RUB\u00a018.00" in bot.screen_text()
        await bot.press("Options")
        await bot.press("Resolution: 1K")
        await bot.press("4K")
        assert "• Resolution: 4K" in bot.screen_text()
        assert "💵 Price: RUB\u00a024.00" in bot.screen_text()
        outcome = await bot.press("Run")
        await bot.settle()
        job = await bot.app.storage.jobs.get(outcome.started_job)
        assert job.input["resolution"] == "4K" and job.price == 2400
        assert await bot.balance() == 10000 - 2400


async def test_again_repeats_the_same_model_and_options_for_a_new_charge(tmp_path):
    async with running_bot(tmp_path) as bot:
        await open_z_image(bot)
        await bot.send("test")
        await bot.press("Запустить")
        await bot.settle()
        await bot.press("Ещё раз")
        assert bot.screen_text().startswith("🧾 Проверьте заказ")
        assert "Описание: «test»" in bot.screen_text()
        await bot.press("Запустить")
        await bot.settle()
        jobs = await bot.app.storage.jobs.for_user(bot.user_id)
        assert [j.state for j in jobs] == [JobState.DELIVERED, JobState.DELIVERED]
        assert jobs[0].input == jobs[1].input and jobs[0].id != jobs[1].id
        assert await bot.balance() == 10000 - 2 * Z_IMAGE_PRICE


async def test_a_double_tap_on_launch_starts_one_job_and_charges_once(tmp_path):
    async with running_bot(tmp_path) as bot:
        await open_z_image(bot)
        await bot.send("test")
        message = bot.chat.focused()
        launch = next(b.data for b in message.buttons() if b.label == "🚀 Запустить")
        first = await bot.press_data(launch, message.id)
        second = await bot.press_data(launch, message.id)
        await bot.settle()
        assert first.started_job is not None and second.started_job is None
        assert second.rejected == "DUPLICATE_LAUNCH"
        assert second.effects == [AnswerCallback(second.effects[0].callback_id, "Уже запущено")]
        assert len(await bot.app.storage.jobs.for_user(bot.user_id)) == 1
        assert await bot.balance() == 10000 - Z_IMAGE_PRICE


async def test_a_photo_model_takes_the_photo_then_the_prompt(tmp_path):
    async with running_bot(tmp_path, language="en") as bot:
        await bot.send("/start")
        await bot.press("Video")
        await bot.press("Kling (")
        await bot.press("Kling 2.5 Turbo Pro: animate")
        assert bot.screen_text().endswith("📎 Send a photo (as a photo or as a file).")
        await bot.send("a prompt too early")
        assert bot.last().text == "📝 Description saved. Now send a photo."
        await bot.send(f"/photo {bot.write_photo()}")
        assert "Description: “a prompt too early”" in bot.screen_text()
        await bot.send("the cat waves")
        assert bot.screen_text().startswith("🧾 Check your order")
        outcome = await bot.press("Run")
        await bot.settle()
        job = await bot.app.storage.jobs.get(outcome.started_job)
        assert job.input["image_url"].startswith("file://") and job.input["prompt"] == "the cat waves"
        assert bot.last().media.kind is ResultKind.VIDEO


async def test_a_photo_with_a_caption_uses_the_caption_as_the_prompt(tmp_path):
    async with running_bot(tmp_path, language="en") as bot:
        await bot.send("/start")
        await bot.press("Video")
        await bot.press("Kling (")
        await bot.press("Kling 2.5 Turbo Pro: animate")
        await bot.send(f"/photo {bot.write_photo()} | the dog jumps")
        assert "Description: “the dog jumps”" in bot.screen_text()


async def test_a_file_that_is_not_an_image_is_refused_with_a_reason(tmp_path):
    async with running_bot(tmp_path, language="en") as bot:
        await bot.send("/start")
        await bot.press("Tools")
        await bot.press("Remove background")
        fake = bot.files / "evil.png"
        fake.write_bytes(b"#!/bin/sh\nrm -rf /\n")
        outcome = await bot.send(f"/photo {fake}")
        assert outcome.rejected == "VALIDATION_FAIL"
        assert bot.last().text == "⚠️ Could not recognise the file. Accepted: JPEG, PNG, WEBP."
        assert bot.app.gateway.uploads == []


async def test_an_oversized_prompt_is_refused_and_the_draft_waits(tmp_path):
    async with running_bot(tmp_path) as bot:
        await open_z_image(bot)
        outcome = await bot.send("x" * 1001)
        assert outcome.rejected == "VALIDATION_FAIL"
        assert bot.last().text.startswith("✂️ Описание слишком длинное: 1001 символов, можно до 1000.")
        await bot.send("short")
        assert bot.screen_text().startswith("🧾 Проверьте заказ")


async def test_unknown_callback_data_gets_a_menu_updated_screen_not_silence(tmp_path):
    async with running_bot(tmp_path) as bot:
        await bot.send("/start")
        menu_id = bot.chat.focus
        outcome = await bot.press_data("cat_v1:legacy", menu_id)
        assert outcome.rejected == "UNKNOWN_CALLBACK"
        assert outcome.effects[0] == AnswerCallback(outcome.effects[0].callback_id, "Меню обновилось")
        assert bot.screen_text().startswith("🔄 Меню обновилось")


async def test_text_without_a_chosen_model_points_to_the_menu(tmp_path):
    async with running_bot(tmp_path) as bot:
        outcome = await bot.send("draw me a cat")
        assert outcome.rejected == "NO_DRAFT"
        assert bot.screen_text().startswith("Сначала выберите модель")


async def test_cancel_forgets_the_draft(tmp_path):
    async with running_bot(tmp_path) as bot:
        await open_z_image(bot)
        await bot.send("/cancel")
        assert bot.screen_text().startswith("✖️ Отменено.")
        assert (await bot.send("test")).rejected == "NO_DRAFT"


async def test_language_choice_switches_every_following_screen(tmp_path):
    async with running_bot(tmp_path) as bot:
        await bot.send("/language")
        outcome = await bot.press("English")
        assert outcome.effects[0].text == "Language: English"
        assert "💰 Balance: RUB\u00a0100.00" in bot.screen_text()
        await bot.send("/balance")
        assert bot.screen_text().startswith("💰 Balance: RUB\u00a0100.00")


async def test_welcome_balance_is_granted_once_per_new_user(tmp_path):
    async with running_bot(tmp_path) as bot:
        await bot.send("/start")
        assert "🎁" in bot.screen_text()
        await bot.send("/start")
        assert "🎁" not in bot.screen_text()
        assert await bot.balance() == 10000


async def test_a_speech_to_text_result_comes_back_as_text(tmp_path):
    # KIE no longer documents its speech-to-text model, so the shipped catalog keeps it disabled; a text result
    # still has to come back as text (an operator may switch it on again).
    shipped = (Path(__file__).parents[1] / "catalog" / "models.yaml").read_text(encoding="utf-8")
    start = shipped.index("  - id: elevenlabs/speech-to-text\n")
    end = shipped.index("\n  - id: ", start + 1)
    block = re.sub(r"(?m)^    enabled: false\n    disabled_reason: .*\n", "", shipped[start:end])
    catalog = tmp_path / "models.yaml"
    catalog.write_text(shipped[:start] + block + shipped[end:], encoding="utf-8")
    async with running_bot(tmp_path, language="en", CATALOG_PATH=catalog) as bot:
        await bot.send("/start")
        await bot.press("Audio")
        await bot.press("Speech to text")
        await bot.send(f"/voice {bot.write_audio()}")
        await bot.press("Run")
        await bot.settle()
        assert bot.last().text.startswith("📝 Speech to text:")
        assert not any(isinstance(e, SendMedia) for e in bot.chat.effects)


async def test_every_pressed_button_is_answered_exactly_once(tmp_path):
    async with running_bot(tmp_path) as bot:
        await open_z_image(bot)
        await bot.send("test")
        await bot.press("Параметры")
        await bot.press("Соотношение")
        presses = [e for e in bot.chat.effects if isinstance(e, AnswerCallback)]
        assert len(presses) == 4  # category, model, options, option values
        assert len({p.callback_id for p in presses}) == 4


async def test_a_stranger_cannot_launch_someone_elses_draft(tmp_path):
    async with running_bot(tmp_path) as bot:
        await open_z_image(bot)
        await bot.send("test")
        launch = next(b.data for b in bot.chat.focused().buttons() if b.data.startswith("launch:"))
        stranger = bot.driver.user.__class__(999, language_code="ru")
        outcome = await bot.app.core.process(CallbackPress(stranger, 999, "x", launch, 1))
        assert outcome.rejected == "UNKNOWN_CALLBACK" and outcome.started_job is None
        assert await bot.app.storage.ledger.balance(999) == 10000


async def test_while_the_generator_is_down_launch_refuses_and_charges_nothing(tmp_path):
    async with running_bot(tmp_path) as bot:
        await open_z_image(bot)
        await bot.send("test")
        bot.app.gateway.set_offline(True)
        outcome = await bot.press("Запустить")
        assert outcome.rejected == "SERVICE_UNAVAILABLE" and outcome.started_job is None
        assert bot.screen_text().startswith("⏸ Сервис генерации сейчас недоступен. Ничего не списано")
        bot.app.gateway.set_offline(False)
        await bot.press("К заказу")
        assert (await bot.press("Запустить")).started_job is not None
        await bot.settle()
        assert await bot.balance() == 10000 - Z_IMAGE_PRICE


async def test_admins_see_the_kie_state_and_credits_others_get_no_hint(tmp_path):
    async with running_bot(tmp_path, ADMIN_ID=(1001,)) as bot:
        await bot.send("/status")
        assert bot.last().text == "🛠 Состояние\nKIE: ok, приём заказов: да\nКредиты KIE: 1000"
    async with running_bot(tmp_path / "other") as bot:
        outcome = await bot.send("/status")
        assert outcome.rejected == "UNKNOWN_COMMAND" and "Кредиты" not in bot.last().text


async def test_stars_top_up_works_in_the_simulator(tmp_path):
    async with running_bot(tmp_path) as bot:
        await bot.send("/balance")
        await bot.press("Пополнить")
        await bot.press("⭐ 100")
        assert bot.last().text.endswith("100 ⭐ — type /pay to pay it")
        await bot.send("/pay")
        assert bot.last().text.startswith("✅ Оплата получена: 100 ⭐ → +150,00")
        assert await bot.balance() == 10000 + 15000


async def test_the_free_tier_is_shown_and_used_in_the_simulator(tmp_path):
    async with running_bot(tmp_path, FREE_DAILY_LIMIT=1) as bot:
        await open_z_image(bot)
        assert "🎁 Бесплатно: осталось 1 из 1 сегодня." in bot.screen_text()
        await bot.send("test")
        assert "💵 Цена: 0,00\u00a0₽" in bot.screen_text()
        await bot.press("Запустить")
        await bot.settle()
        await open_z_image(bot)
        assert "🎁 Бесплатные запуски на сегодня закончились (1 из 1)" in bot.screen_text()
        assert await bot.balance() == 10000
