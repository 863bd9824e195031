"""The admin statistics and user card speak the admin's language and name models as users see them."""

from __future__ import annotations

from core.views.admin import render_stats, render_user_card
from ports.admin import Revenue, StatsSummary
from ports.storage import Job, JobState, LedgerEntry, User
from tests.builders import EN, NOW, RU, TEXT_TO_IMAGE

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


def test_the_user_card_names_models_states_and_ledger_reasons_in_the_admins_language():
    now = NOW
    job = Job("j1", 5, 5, TEXT_TO_IMAGE.id, {}, 400, JobState.REFUNDED, now, now, now)
    entry = LedgerEntry("refund:j1", 5, 400, 400, "refund", now)
    text = render_user_card(RU, User(5, now), 400, 0, [entry], [job], [], (TEXT_TO_IMAGE,)).text
    assert "  01.01 12:00 +4,00\u00a0₽ возврат" in text
    assert "  01.01 12:00 Тест-картинка возвращено 4,00\u00a0₽" in text
