"""Whole screens, compared with ==."""

from core.drafts import NeedMedia, NeedPrompt
from core.free_tier import FreeOffer
from core.money import NBSP
from core.views.payments import render_topup
from core.views.catalog import render_category, render_model_card
from core.views.jobs import keeps_transparency, render_failed, render_progress, result_effects
from core.views.menu import render_main_menu
from core.views.order import render_confirmation, render_insufficient, render_option_values
from ports.catalog import OutputKind
from ports.effects import DeliveryNote, ResultKind, SendAlbum, SendMedia, SendScreen
from ports.screens import Button, Screen
from tests.builders import EN, IMAGE, IMAGE_TO_VIDEO, RU, TEXT_TO_IMAGE, VIDEO, draft

R = f"{NBSP}₽"


def test_main_menu_shows_categories_balance_history_help_and_language():
    screen = render_main_menu(RU, name="Анна", balance=10000, categories=[IMAGE, VIDEO], welcome_bonus=10000)
    assert screen == Screen(
        "👋 Привет, Анна!\n"
        "Я создаю картинки, видео и звук нейросетями KIE AI: выберите раздел, модель, опишите идею.\n"
        f"🎁 На баланс начислен приветственный бонус: 100,00{R}.\n"
        "\n"
        f"💰 Баланс: 100,00{R}\n"
        "Выберите раздел:",
        (
            (Button("🎨 Картинки и дизайн", "cat:image"),),
            (Button("🎬 Видео", "cat:video"),),
            (Button("💰 Баланс", "balance"), Button("🕘 История", "history")),
            (Button("❓ Помощь", "help"), Button("🌐 Язык", "lang")),
        ),
        "main_menu",
    )


def test_category_lists_models_with_their_lowest_price():
    screen = render_category(RU, IMAGE, [(TEXT_TO_IMAGE, 400)])
    assert screen == Screen(
        "🎨 Картинки и дизайн\nВыберите модель:",
        ((Button(f"Тест-картинка · от 4,00{R}", "model:test/text-to-image"),), (Button("🏠 Меню", "menu"),)),
        "model_selection",
    )


def test_a_long_category_is_paginated_and_wraps_around():
    screen = render_category(EN, IMAGE, [(TEXT_TO_IMAGE, 400)] * 9, page=1)
    assert screen.keyboard[-2] == (
        Button("◀️", "cat:image:0"), Button("page 2/2", "noop"), Button("▶️", "cat:image:0"),
    )
    assert len(screen.keyboard) == 3  # one model on page 2, navigation, menu


def test_model_card_asks_for_the_prompt_in_the_same_message():
    screen = render_model_card(RU, TEXT_TO_IMAGE, 400, 10000, NeedPrompt(TEXT_TO_IMAGE.prompt))
    assert screen == Screen(
        "Тест-картинка\n"
        "Картинка по описанию\n"
        "\n"
        "Что нужно: описание (до 100 символов).\n"
        "Результат: картинка.\n"
        f"💵 Цена: от 4,00{R}\n"
        "⏱ Обычно занимает около 60 с.\n"
        f"💰 Баланс: 100,00{R}\n"
        "\n"
        "✍️ Напишите, что нужно сделать (до 100 символов).",
        ((Button("◀️ Назад", "cat:image"), Button("🏠 Меню", "menu")),),
        "model_card",
    )


def test_model_card_of_an_image_model_asks_for_the_photo_first():
    screen = render_model_card(EN, IMAGE_TO_VIDEO, 5000, 0, NeedMedia(IMAGE_TO_VIDEO.inputs[0], 0))
    assert screen.text.endswith("Needs: a photo, a description (up to 500 characters).\nReturns: a video.\n"
                                "💵 Price: from RUB\u00a050.00\n⏱ Usually takes about 60 s.\n💰 Balance: RUB\u00a00.00\n\n"
                                "📎 Send a photo (as a photo or as a file).")


def test_confirmation_lists_every_option_price_and_balance_after():
    d = draft(IMAGE_TO_VIDEO, media={"image_url": ("file:///a.png",)}, prompt="go")
    screen = render_confirmation(RU, IMAGE_TO_VIDEO, d, {"duration": "5", "sound": False}, 5000, 10000)
    assert screen == Screen(
        "🧾 Проверьте заказ\n"
        "\n"
        "Модель: Тест-видео\n"
        "Описание: «go»\n"
        "Файлы: 1\n"
        "Параметры:\n"
        "• Длительность, с: 5\n"
        "• Звук: нет\n"
        "\n"
        f"💵 Цена: 50,00{R}\n"
        f"💰 Баланс: 100,00{R} → после запуска: 50,00{R}\n"
        "Чтобы изменить описание, просто отправьте новое.",
        (
            (Button("🚀 Запустить", "launch:d1"),),
            (Button("⚙️ Параметры", "opts:d1"),),
            (Button("◀️ Назад", "model:test/image-to-video"), Button("🏠 Меню", "menu")),
        ),
        "confirmation",
    )


def test_confirmation_with_too_little_balance_shows_the_shortfall_top_up_and_a_free_model_instead_of_run():
    offer = FreeOffer("z-image", "Z-Image", 2, 3)
    screen = render_confirmation(EN, TEXT_TO_IMAGE, draft(prompt="cat"), {"resolution": "1K"}, 400, 100, offer=offer)
    assert screen == Screen(
        "🧾 Check your order\n"
        "\n"
        "Model: Test image\n"
        "Description: “cat”\n"
        "Options:\n"
        "• Aspect ratio: —\n"
        "• Resolution: 1K\n"
        "\n"
        "💵 Price: RUB\u00a04.00\n"
        "💰 Balance: RUB\u00a01.00\n"
        "⚠️ You are RUB\u00a03.00 short. Top up to run it.\n"
        "🎁 Free today: “Z-Image” (2 of 3 runs left).\n"
        "To change the description, just send a new one.",
        (
            (Button("💳 Top up", "topup:d1"),),
            (Button("🎁 Z-Image — free", "model:z-image"),),
            (Button("⚙️ Options", "opts:d1"),),
            (Button("◀️ Back", "model:test/text-to-image"), Button("🏠 Menu", "menu")),
        ),
        "confirmation",
    )
    assert "after the run" not in screen.text and "🚀" not in str(screen.keyboard)


def test_option_values_mark_the_current_one_and_show_prices():
    screen = render_option_values(RU, draft(), 0, TEXT_TO_IMAGE.inputs[2], "1K", [400, 800])
    assert screen.keyboard == (
        (Button(f"• 1K · 4,00{R}", "set:d1:0:0"),),
        (Button(f"2K · 8,00{R}", "set:d1:0:1"),),
        (Button("◀️ Назад", "opts:d1"),),
    )


def test_insufficient_balance_screen_names_the_shortfall_and_offers_top_up():
    assert render_insufficient(RU, "d1", 5000, 1000) == Screen(
        "💳 Недостаточно средств\n\n"
        f"Цена: 50,00{R}\nБаланс: 10,00{R}\nНе хватает: 40,00{R}\n\n"
        "Ничего не списано. Пополните баланс и вернитесь к заказу.",
        ((Button("💳 Пополнить", "topup:d1"),), (Button("✅ К заказу", "confirm:d1"), Button("🏠 Меню", "menu"))),
        "insufficient_balance",
    )


def test_progress_has_no_buttons_and_says_the_result_will_come():
    assert render_progress(EN, "Test image", 400, "running", 40) == Screen(
        "⏳ Test image\n🎨 Generating… 40%\nCharged: RUB\u00a04.00\n\nThe result will arrive here by itself; no need to wait.",
        (),
        "job_progress",
    )


def test_failure_says_why_and_how_much_came_back():
    screen = render_failed(RU, "Тест-картинка", "j1", reason="запрещённый контент", refunded=400)
    assert screen == Screen(
        f"❌ Не получилось: Тест-картинка\nПричина: запрещённый контент\n💸 Деньги возвращены: 4,00{R}.",
        ((Button("🔁 Ещё раз", "again:j1"), Button("🏠 Меню", "menu:new")),),
        "job_failed",
    )


def test_one_image_is_a_photo_with_again_menu_and_original():
    effects = result_effects(
        EN, chat_id=5, job_id="j1", name="Test image", output=OutputKind.IMAGE, prompt="cat",
        urls=("file:///a.png",), text=None,
    )
    keyboard = ((Button("🔁 Again", "again:j1"), Button("🏠 Menu", "menu:new")), (Button("📄 Original", "orig:j1"),))
    assert effects == [SendMedia(5, ResultKind.PHOTO, "file:///a.png", "✅ Test image\n“cat”", keyboard)]
    assert set(effects[0].notes) == {note.value for note in DeliveryNote}  # explanations for other forms


def test_several_files_are_an_album_with_one_caption_then_the_buttons_once():
    effects = result_effects(
        EN, chat_id=5, job_id="j1", name="Test image", output=OutputKind.IMAGE, prompt="cat",
        urls=("file:///a.png", "file:///b.png"), text=None,
    )
    keyboard = ((Button("🔁 Again", "again:j1"), Button("🏠 Menu", "menu:new")), (Button("📄 Original", "orig:j1"),))
    assert effects == [
        SendAlbum(5, ResultKind.PHOTO, ("file:///a.png", "file:///b.png"), "✅ Test image\n“cat”"),
        SendScreen(5, Screen("✅ Test image: 2 files above.", keyboard, "job_result_buttons")),
    ]


def test_more_than_ten_files_are_split_into_even_albums():
    urls = tuple(f"https://cdn.example/{n}.png" for n in range(23))
    effects = result_effects(EN, chat_id=5, job_id="j1", name="G", output=OutputKind.IMAGE, prompt=None,
                             urls=urls, text=None)
    albums = [e for e in effects if isinstance(e, SendAlbum)]
    assert [len(a.urls) for a in albums] == [8, 8, 7] and sum((a.urls for a in albums), ()) == urls
    assert [bool(a.caption) for a in albums] == [True, False, False]
    assert isinstance(effects[-1], SendScreen) and effects[-1].screen.keyboard


def test_a_transparent_result_goes_as_a_file_saying_why_and_without_original():
    effects = result_effects(EN, chat_id=5, job_id="j1", name="Cut-out", output=OutputKind.IMAGE, prompt=None,
                             urls=("https://cdn.example/a.png",), text=None, transparent=True)
    [media] = effects
    assert media.kind is ResultKind.DOCUMENT and "transparent background" in media.caption
    assert all(b.data != "orig:j1" for b in media.keyboard[-1])


def test_background_removal_models_keep_transparency():
    from dataclasses import replace

    assert keeps_transparency(replace(TEXT_TO_IMAGE, id="recraft/remove-background")) is True
    assert keeps_transparency(TEXT_TO_IMAGE) is False
    assert keeps_transparency(replace(IMAGE_TO_VIDEO, id="x/remove-background")) is False  # video: not an image


def test_a_text_result_is_sent_as_a_message():
    effects = result_effects(
        EN, chat_id=5, job_id="j1", name="STT", output=OutputKind.TEXT, prompt=None, urls=(), text="hello",
    )
    assert effects == [SendScreen(5, Screen("📝 STT:\n\nhello", ((Button("🔁 Again", "again:j1"), Button("🏠 Menu", "menu:new")),), "job_result"))]


def test_top_up_offers_stars_packages_manual_transfer_and_invites():
    screen = render_topup(EN, [(100, 15000), (250, 37500)], True, 42)
    assert screen.keyboard == (
        (Button("⭐ 100 → RUB\u00a0150.00", "stars:100"),),
        (Button("⭐ 250 → RUB\u00a0375.00", "stars:250"),),
        (Button("🏦 Bank transfer", "manual"),),
        (Button("👥 Invite friends", "ref"),),
        (Button("💰 Balance", "balance"), Button("🏠 Menu", "menu")),
    )
    assert "/paysupport (your ID: 42)" in screen.text
