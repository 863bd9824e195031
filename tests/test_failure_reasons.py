"""A failed generation is explained in the user's language; KIE's raw reason is shown to admins only."""

from __future__ import annotations

import pytest

from core.failures import failure_reason
from core.views.jobs import render_failed
from tests.builders import EN, RU
from tests.harness import running_bot


@pytest.mark.parametrize(
    "code, message, reason",
    [
        ("400", "Your prompt was flagged as sensitive content", "content_policy"),
        ("500", "The content violates our usage policy", "content_policy"),
        ("GENERATION_FAILED", "NSFW content detected in the image", "content_policy"),
        ("400", "Failed to fetch the image from image_url", "file"),
        ("408", "", "timeout"),
        ("500", "Task timed out", "timeout"),
        ("413", None, "too_long"),
        ("422", "This field is required", "bad_input"),
        ("429", "", "busy"),
        ("455", "", "unavailable"),
        ("500", "Internal server error", "service"),
        ("501", None, "service"),
        ("unavailable", None, "unavailable"),
        ("unknown_task", None, "lost"),
        ("auth", "401 invalid API key", "unavailable"),
        ("quota", "Credits insufficient", "unavailable"),
        ("timeout", None, "timeout"),
        ("rejected", "The page does not exist or is not published", "bad_input"),
        ("fail", "Something odd", "unknown"),
        (None, None, "unknown"),
    ],
)
def test_kie_codes_and_messages_map_to_a_known_reason(code, message, reason):
    assert failure_reason(code, message) == reason


def test_every_reason_has_a_text_in_both_languages():
    for reason in ("content_policy", "file", "timeout", "too_long", "busy", "unavailable", "bad_input", "service", "lost", "unknown"):
        assert RU.t(f"failure.{reason}") and EN.t(f"failure.{reason}")


def test_the_raw_reason_is_a_separate_line_for_admins():
    screen = render_failed(EN, "Z-Image", "j1", reason=EN.t("failure.service"), refunded=0, detail="500 Boom")
    assert screen.text == "❌ It did not work: Z-Image\nReason: the generation service failed. Please try again.\n🛠 KIE said: 500 Boom"


async def test_an_admin_sees_kies_raw_reason_under_the_translated_one(tmp_path):
    async with running_bot(tmp_path, ADMIN_ID=(1001,)) as bot:
        await bot.send("/start")
        await bot.press("Картинки и дизайн")
        await bot.press("Z-Image")
        await bot.send("FAIL please")
        await bot.press("Запустить")
        await bot.settle()
        text = bot.last().text
        assert "Причина: сбой на стороне сервиса генерации. Попробуйте ещё раз." in text
        assert "🛠 Ответ KIE: 500 Scripted failure: prompt contains FAIL" in text
