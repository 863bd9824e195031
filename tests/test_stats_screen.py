"""The admin statistics speak the admin's language and name models as users see them."""

from __future__ import annotations

from core.views.admin import render_stats
from ports.admin import Revenue, StatsSummary
from tests.builders import EN, RU, TEXT_TO_IMAGE

SUMMARY = StatsSummary(
    users_total=3,
    users_active={1: 1, 7: 2},
    jobs_by_state={"delivered": 2, "refunded": 1},
    top_models=((TEXT_TO_IMAGE.id, 2), ("gone/model", 1)),
    revenue={7: Revenue(15000, 100, 1)},
    refunds=1,
    refunded_amount=400,
)


def test_russian_stats_have_no_english_words_or_model_ids():
    text = render_stats(RU, SUMMARY, None, (TEXT_TO_IMAGE,)).text
    assert text.splitlines()[1:4] == [
        "Пользователи: 3; активные: за 1 дн. — 1, за 7 дн. — 2",
        "Генерации: доставлено — 2, возвращено — 1",
        "Топ моделей: Тест-картинка (2), gone/model (1)",
    ]


def test_english_stats_read_as_english():
    text = render_stats(EN, SUMMARY, None, (TEXT_TO_IMAGE,)).text
    assert "Users: 3; active: last 1 d — 1, last 7 d — 2" in text
    assert "Generations: delivered — 2, refunded — 1" in text
    assert "Top models: Test image (2)" in text
