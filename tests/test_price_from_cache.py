"""The category screen's "from" prices are computed once per model and price settings, not on every visit; a new
markup is priced anew (test_admin_flows checks the new figures on screen)."""

from __future__ import annotations

from decimal import Decimal
from dataclasses import replace

import core.context
from tests.harness import running_bot


async def test_from_prices_are_computed_once_per_model_until_the_price_settings_change(tmp_path, monkeypatch):
    computed: list[str] = []
    original = core.context.price_from

    def counting(model, settings):
        computed.append(model.id)
        return original(model, settings)

    monkeypatch.setattr(core.context, "price_from", counting)
    async with running_bot(tmp_path) as bot:
        await bot.send("/start")
        await bot.press("Картинки и дизайн")
        first_visit = len(computed)
        screen = bot.screen_text()
        await bot.send("/start")
        await bot.press("Картинки и дизайн")
        assert len(computed) == first_visit > 0 and bot.screen_text() == screen

        services = bot.app.services
        services.settings = replace(services.settings, prices=replace(services.settings.prices, markup=Decimal(3)))
        await bot.send("/start")
        await bot.press("Картинки и дизайн")
        assert len(computed) == 2 * first_visit
