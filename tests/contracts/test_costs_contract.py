"""Real costs and runtime prices on every storage (issues 18.3, 18.4): KIE's creditsConsumed is stored with the
job, a model whose real cost exceeds its price is announced once (and, with PRICE_DRIFT_STOP, not sold until a
price is confirmed), and operators' prices are kept, audited and applied at once, on every instance.

Runs once per entry of conftest.STORAGE_IMPLEMENTATIONS (JSON files and PostgreSQL)."""

from __future__ import annotations

from core import cashier
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from adapters.catalog.yaml_catalog import load_catalog
from adapters.kie.fake import FakeKieGateway
from adapters.system.clock import VirtualClock
from adapters.system.files import LocalFileReader
from core.runtime import OVERRIDES_MAX_AGE, reload_overrides
from entrypoints.settings import load_settings
from entrypoints.simulator_chat import SimulatedChat
from entrypoints.simulator_driver import SimulatorDriver
from entrypoints.wiring import build_app
from ports.admin import PriceDrift
from ports.effects import SendScreen
from ports.events import UserRef
from ports.generation import MARKET_API, TaskState
from ports.storage import Job, JobState, Storage
from tests.contracts.test_admin_contract import reopened
from tests.fakes import bounded
from tests.harness import Bot
from tests.test_job_lifecycle import launch_z_image

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
ADMIN = 1001
Z_IMAGE_CREDITS = Decimal("0.8")  # catalog/models.yaml: z-image, one rule


# --- storage roles ---------------------------------------------------------------------------------------------


def drift(model_id: str = "z-image", real: str = "1.6", stopped: bool = False) -> PriceDrift:
    return PriceDrift(model_id, Decimal("0.8"), Decimal(real), NOW, stopped)


@bounded()
async def test_a_price_is_kept_exactly_and_survives_a_reopen(storage: Storage, tmp_path):
    await storage.runtime.set_price("veo3", Decimal("12.50"))
    await storage.runtime.set_price("z-image", Decimal("3"))
    await storage.runtime.set_price("z-image", None)
    assert (await storage.runtime.overrides()).prices == {"veo3": Decimal("12.5")}
    async with reopened(storage, tmp_path) as again:
        assert (await again.runtime.overrides()).prices == {"veo3": Decimal("12.5")}


@pytest.mark.parametrize("bad", [Decimal(0), Decimal(-1), Decimal("NaN"), 1.5])
@bounded()
async def test_a_price_must_be_a_positive_decimal(storage: Storage, bad):
    with pytest.raises((ValueError, TypeError)):
        await storage.runtime.set_price("veo3", bad)
    assert (await storage.runtime.overrides()).prices == {}


@bounded()
async def test_a_drift_is_noted_once_until_a_price_is_confirmed(storage: Storage, tmp_path):
    assert await storage.runtime.note_drift(drift(stopped=True)) is True
    assert await storage.runtime.note_drift(drift(real="9")) is False  # the first record stays
    async with reopened(storage, tmp_path) as again:
        assert (await again.runtime.overrides()).drifts == {"z-image": drift(stopped=True)}
        await again.runtime.set_price("z-image", None)  # the operator confirms the catalog's price
        assert (await again.runtime.overrides()).drifts == {}
        assert await again.runtime.note_drift(drift(real="2")) is True  # armed again


@bounded()
async def test_what_kie_charged_is_stored_with_the_job(storage: Storage, tmp_path):
    await cashier.ensure_user(storage, UserRef(5), 100, NOW)
    job = Job("j1", 5, 5, "z-image", {"prompt": "x"}, 16, JobState.RUNNING, NOW, NOW, NOW + timedelta(hours=1))
    await cashier.launch(storage, job)
    done = await storage.jobs.transition("j1", {JobState.RUNNING}, JobState.SUCCEEDED, cost_credits=Decimal("1.25"))
    assert done is not None and done.cost_credits == Decimal("1.25")
    async with reopened(storage, tmp_path) as again:
        assert (await again.jobs.get("j1")).cost_credits == Decimal("1.25")


@bounded()
async def test_costs_per_model_compare_what_users_paid_with_what_kie_charged(storage: Storage):
    await cashier.ensure_user(storage, UserRef(5), 1000, NOW)
    cases = [("a", "z-image", 16, "1.6", JobState.DELIVERED, 0), ("b", "z-image", 16, "0.8", JobState.DELIVERED, 0),
             ("c", "z-image", 16, None, JobState.DELIVERED, 0), ("d", "veo3", 100, "20", JobState.DELIVERED, 0),
             ("e", "veo3", 100, "20", JobState.REFUNDED, 0), ("f", "veo3", 100, "20", JobState.DELIVERED, -40)]
    for job_id, model, price, cost, state, days in cases:
        at = NOW + timedelta(days=days)
        await cashier.launch(storage, Job(job_id, 5, 5, model, {}, price, JobState.RUNNING, at, at, at + timedelta(hours=1)))
        await storage.jobs.transition(job_id, {JobState.RUNNING}, state,
                                      cost_credits=None if cost is None else Decimal(cost))
    costs = {item.model_id: item for item in await storage.stats.costs(NOW - timedelta(days=30))}
    assert set(costs) == {"z-image", "veo3"}  # refunded and older jobs are not counted
    z = costs["z-image"]
    assert (z.jobs, z.paid, z.costed_jobs, z.credits, z.paid_costed) == (3, 48, 2, Decimal("2.4"), 32)
    assert (costs["veo3"].jobs, costs["veo3"].credits) == (1, Decimal("20"))


# --- the bot -----------------------------------------------------------------------------------------------------


class ChargingGateway:
    """The fake generator, except that KIE reports ``charge`` credits for every finished task."""

    def __init__(self, inner: FakeKieGateway, charge: Decimal) -> None:
        self.inner, self.charge = inner, charge

    async def submit(self, request):
        return await self.inner.submit(request)

    async def upload(self, data, file_name, mime_type):
        return await self.inner.upload(data, file_name, mime_type)

    async def credits(self):
        return await self.inner.credits()

    def health(self):
        return self.inner.health()

    async def status(self, task_id, api=MARKET_API):
        status = await self.inner.status(task_id, api)
        return replace(status, credits_consumed=self.charge) if status.state is TaskState.SUCCESS else status


@asynccontextmanager
async def bot_on(storage: Storage, tmp_path, charge: str, **env: str) -> AsyncIterator[tuple[Bot, ChargingGateway]]:
    config = load_settings({"ADMIN_ID": str(ADMIN), "DEFAULT_LANGUAGE": "en", **env}, DATA_DIR=tmp_path / "data",
                           WELCOME_BALANCE=Decimal("100"), FREE_DAILY_LIMIT=0)
    clock = VirtualClock()
    catalog = load_catalog(config.CATALOG_PATH)
    gateway = ChargingGateway(FakeKieGateway(clock, tmp_path / "files", outputs={m.id: m.output for m in catalog.models}),
                              Decimal(charge))
    chat = SimulatedChat(output=lambda line: None)
    async with build_app(config, messenger=chat, media=LocalFileReader(), clock=clock, gateway=gateway,
                         storage=storage) as app:
        driver = SimulatorDriver(app.core, chat, UserRef(ADMIN, language_code="en", first_name="Op"))
        files = tmp_path / "inputs"
        files.mkdir(exist_ok=True)
        yield Bot(app, chat, driver, clock, files), gateway


def drift_alerts(bot: Bot) -> list[str]:
    return [e.screen.text for e in bot.chat.effects
            if isinstance(e, SendScreen) and e.chat_id == ADMIN and e.screen.screen_id == "admin_price_drift"]


async def launch(bot: Bot) -> Job:
    """Launch Z-Image (in Russian, the labels launch_z_image presses) and let it finish; back to English."""
    await bot.send("/start")
    await bot.app.storage.users.set_language(ADMIN, "ru")
    job_id = await launch_z_image(bot)
    await bot.settle()
    await bot.app.storage.users.set_language(ADMIN, "en")
    return await bot.app.storage.jobs.get(job_id)


def on_sale(bot: Bot, model_id: str = "z-image") -> bool:
    model = bot.app.services.catalog.model(model_id)
    return model is not None and model.enabled


@bounded(30)
async def test_a_job_that_cost_more_than_its_price_is_announced_once_with_both_figures(storage, tmp_path):
    async with bot_on(storage, tmp_path, charge="1.6") as (bot, _):
        first = await launch(bot)
        await launch(bot)

        assert first.state is JobState.DELIVERED and first.cost_credits == Decimal("1.6")
        [alert] = drift_alerts(bot)
        assert "Z-Image" in alert and "z-image" in alert and "1.6" in alert and "0.8" in alert
        assert on_sale(bot)  # without PRICE_DRIFT_STOP it stays on sale


@bounded(30)
async def test_a_job_within_its_price_is_not_announced(storage, tmp_path):
    async with bot_on(storage, tmp_path, charge=str(Z_IMAGE_CREDITS)) as (bot, _):
        job = await launch(bot)
        assert job.cost_credits == Z_IMAGE_CREDITS and drift_alerts(bot) == []


@bounded(30)
async def test_with_price_drift_stop_the_model_is_not_sold_until_a_price_is_confirmed(storage, tmp_path):
    async with bot_on(storage, tmp_path, charge="1.6", PRICE_DRIFT_STOP="1") as (bot, gateway):
        await launch(bot)
        assert not on_sale(bot) and "not sold" in drift_alerts(bot)[0]
        await bot.send("/admin")
        await bot.press("Prices")
        assert "⛔" in bot.screen_text() and "Z-Image" in bot.screen_text()

        await bot.send("/price z-image 1.6")  # KIE's real figure, confirmed by the operator
        assert on_sale(bot) and "1.6" in bot.last().text
        assert bot.app.services.price(bot.app.services.catalog.model("z-image"), {}) == 160  # 1.6 cr × $0.005 × 100 × 2 = 1.60 ₽
        [entry] = [e for e in await bot.app.storage.audit.recent(10) if e.action == "price"]
        assert entry.details == {"model": "z-image", "before": None, "after": "1.6"} and entry.actor == ADMIN

        gateway.charge = Decimal("3.2")  # the price drifts again: announced again (the record was cleared)
        await launch(bot)
        assert len(drift_alerts(bot)) == 2 and not on_sale(bot)


@bounded(30)
async def test_keep_the_price_resumes_selling(storage, tmp_path):
    async with bot_on(storage, tmp_path, charge="1.6", PRICE_DRIFT_STOP="1") as (bot, _):
        await launch(bot)
        await bot.send("/admin")
        await bot.press("Prices")
        await bot.press("Keep")
        assert on_sale(bot) and (await bot.app.storage.runtime.overrides()).drifts == {}


@bounded(30)
async def test_a_model_awaiting_a_price_is_listed_and_sold_once_priced(storage, tmp_path):
    async with bot_on(storage, tmp_path, charge="1") as (bot, _):
        services = bot.app.services
        unpriced = replace(services.base_catalog.model("z-image"), prices=(), enabled=False)
        services.base_catalog = replace(
            services.base_catalog, models=tuple(unpriced if m.id == "z-image" else m for m in services.base_catalog.models))
        await reload_overrides(services)
        assert not on_sale(bot)

        await bot.send("/admin")
        await bot.press("Prices")
        assert "⏳" in bot.screen_text() and "Z-Image" in bot.screen_text()
        await bot.press("Z-Image")  # asks for the figure
        await bot.send("2,5")
        assert on_sale(bot) and (await bot.app.storage.runtime.overrides()).prices == {"z-image": Decimal("2.5")}
        assert services.price(services.catalog.model("z-image"), {}) == 250  # 2.5 cr × $0.005 × 100 × 2 = 2.50 ₽


@bounded(30)
async def test_a_price_set_on_another_instance_applies_within_seconds(storage, tmp_path):
    async with bot_on(storage, tmp_path, charge="1") as (bot, _):
        services = bot.app.services
        model = services.catalog.model("z-image")
        before = services.price(model, {})
        await storage.runtime.set_price("z-image", Decimal("4"))  # as another instance would

        bot.clock.advance(OVERRIDES_MAX_AGE.total_seconds())
        await bot.send("/start")  # any update reads the overrides through
        assert services.price(services.catalog.model("z-image"), {}) == before * 5


@bounded(30)
async def test_the_margin_screen_shows_paid_against_kie_cost_per_model(storage, tmp_path):
    async with bot_on(storage, tmp_path, charge="1.2") as (bot, _):
        await launch(bot)
        await bot.send("/admin")
        await bot.press("Margin")
        text = bot.screen_text().replace("\xa0", " ")
        # paid 0.80 (0.8 cr at markup 2); KIE charged 1.2 cr = 0.60 at cost: margin +0.20
        assert "Z-Image: 1 jobs (1 with KIE's cost): paid RUB 0.80, KIE 1.2 cr. = RUB 0.60, margin +RUB 0.20" in text
        assert "Total: paid RUB 0.80, KIE RUB 0.60, margin +RUB 0.20" in text
