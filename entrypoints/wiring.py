"""The composition root: settings in, a wired core out. Nothing connects at import time; resources
that need closing are opened and closed by ``build_app``'s exit stack."""

from __future__ import annotations

from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from typing import AsyncIterator

from adapters.catalog.catalog_files import load_catalog_files, without_api
from adapters.kie.fake import FakeKieGateway, shapes_from_catalog
from adapters.kie.http_gateway import KieHttpGateway
from adapters.kie.submit_limiter import MARGIN as SUBMIT_MARGIN, LocalSubmitBudget
from adapters.media.mutagen_probe import MutagenProbe
from adapters.storage.json_storage import JsonStorage
from adapters.system.clock import SystemClock
from core.bot import BotCore
from core.broadcaster import Broadcaster
from core.context import CoreSettings, Services
from core.job_leases import LeaseKeeper
from core.job_runner import JobRunner, RunnerSettings
from core.shared_job_runner import SharedJobRunner
from core.money import currency_for, major_to_minor
from core.pricing import PriceSettings
from core.runtime import reload_overrides
from entrypoints.outbox_sender import OutboxSender
from entrypoints.settings import Settings
from ports.billing import StarsGateway
from ports.budgets import SubmitBudget
from ports.catalog import Catalog
from ports.clock import Clock
from ports.effects import Messenger
from ports.generation import GenerationGateway
from ports.media import MediaReader
from ports.metrics import NO_METRICS, Metrics
from ports.storage import Storage


@dataclass
class App:
    settings: Settings
    catalog: Catalog
    storage: Storage
    gateway: GenerationGateway
    services: Services
    runner: JobRunner
    core: BotCore
    broadcaster: Broadcaster
    sender: OutboxSender


def core_settings(settings: Settings) -> CoreSettings:
    currency = currency_for(settings.CURRENCY)
    prices = PriceSettings(currency, settings.KIE_CREDIT_USD, settings.USD_RATE, settings.PRICE_MARKUP)
    return CoreSettings(
        prices,
        welcome_balance=major_to_minor(settings.WELCOME_BALANCE, currency),
        default_language=settings.DEFAULT_LANGUAGE,
        job_timeouts=settings.job_timeouts(),
        admin_ids=settings.ADMIN_ID,
        stars_packages=settings.STARS_PACKAGES,
        stars_rate=settings.STARS_RATE,
        manual_amounts=tuple(major_to_minor(amount, currency) for amount in settings.MANUAL_TOPUP_AMOUNTS),
        manual_details=settings.MANUAL_TOPUP_DETAILS,
        free_daily_limit=settings.FREE_DAILY_LIMIT,
        free_utc_offset_minutes=settings.free_utc_offset_minutes(),
        referral_bonus_inviter=major_to_minor(settings.REFERRAL_BONUS_INVITER, currency),
        referral_bonus_invitee=major_to_minor(settings.REFERRAL_BONUS_INVITEE, currency),
        price_drift_stop=settings.PRICE_DRIFT_STOP,
        support_contact=settings.SUPPORT_CONTACT or "",
        admin_max_amount=int(settings.ADMIN_MAX_AMOUNT * currency.minor_per_major),  # a bound: extra decimals cut
    )


def submit_budget_for(settings: Settings, storage: Storage, clock: Clock) -> SubmitBudget | None:
    """KIE's submit budget: in PostgreSQL when the storage shares one (every instance together), else this
    process's own; None with the in-process fake generator, which has no such limit."""
    if settings.KIE_MODE != "real":
        return None
    limit, window = settings.KIE_SUBMIT_LIMIT, settings.KIE_SUBMIT_WINDOW_S
    shared = getattr(storage, "shared_submit_budget", None)
    if shared is not None:
        return shared(limit=limit, span=window + SUBMIT_MARGIN)
    return LocalSubmitBudget(clock, limit=limit, window=window)


def share_send_pace(storage: Storage, messenger: Messenger) -> None:
    """Telegram's pace in PostgreSQL when both sides can (the Telegram messenger on a shared database)."""
    shared, share = getattr(storage, "shared_send_pace", None), getattr(messenger, "share_pace", None)
    if shared is not None and share is not None:
        share(shared)


async def build_gateway(
    settings: Settings, catalog: Catalog, clock: Clock, stack: AsyncExitStack, metrics: Metrics = NO_METRICS,
    budget: SubmitBudget | None = None,
) -> GenerationGateway:
    if settings.KIE_MODE == "real":
        assert settings.KIE_API_KEY is not None  # load_settings checked it
        gateway = KieHttpGateway(
            settings.KIE_API_BASE_URL, settings.KIE_UPLOAD_BASE_URL, settings.KIE_API_KEY.get_secret_value(),
            clock=clock, timeout=settings.KIE_TIMEOUT_S, metrics=metrics, submit_budget=budget,
            submit_limit=settings.KIE_SUBMIT_LIMIT, submit_window=settings.KIE_SUBMIT_WINDOW_S,
        )
        stack.push_async_callback(gateway.aclose)
        return gateway
    shapes = shapes_from_catalog(catalog)
    return FakeKieGateway(clock, settings.DATA_DIR / "files", shapes=shapes, speed=settings.FAKE_KIE_SPEED)


@asynccontextmanager
async def build_app(
    settings: Settings,
    *,
    messenger: Messenger,
    media: MediaReader,
    clock: Clock | None = None,
    gateway: GenerationGateway | None = None,
    storage: Storage | None = None,
    runner_settings: RunnerSettings | None = None,
    resume: bool = True,
    stars: StarsGateway | None = None,
    bot_username: str | None = None,
    job_leases: LeaseKeeper | None = None,
    metrics: Metrics = NO_METRICS,
    submit_budget: SubmitBudget | None = None,
) -> AsyncIterator[App]:
    """``resume``: drive the unfinished jobs at once (the simulator); the server does it only while it
    holds the leader lock. A given ``storage`` is the caller's to close. ``job_leases``: several instances share
the database (entrypoints/cluster.py). ``submit_budget``: KIE's, when not the storage's (benchmarks compare
    budgets)."""
    clock = clock or SystemClock()
    catalog = load_catalog_files(settings.CATALOG_PATH)  # models.yaml + families.yaml beside it
    if not settings.MJ_ENABLED:
        catalog = without_api(catalog, "mj")
    async with AsyncExitStack() as stack:
        if storage is None:
            storage = await JsonStorage.open(settings.DATA_DIR)
            stack.push_async_callback(storage.close)
        budget = submit_budget or submit_budget_for(settings, storage, clock)
        share_send_pace(storage, messenger)
        gateway = gateway or await build_gateway(settings, catalog, clock, stack, metrics, budget)
        base = core_settings(settings)
        if bot_username:
            base = replace(base, bot_username=bot_username)
        services = Services(storage, catalog, gateway, media, clock, base, stars=stars, probe=MutagenProbe(),
                            metrics=metrics, submit_budget=budget)
        await reload_overrides(services)  # models switched off and the markup set by admins
        sender = OutboxSender(storage.outbox, messenger, storage.users, clock, shared=job_leases is not None)
        stack.push_async_callback(sender.close)  # after the runner and broadcaster stopped (exit runs LIFO)
        runner_settings = runner_settings or RunnerSettings(callback_url=settings.kie_callback_url())
        runner = (JobRunner(services, messenger, runner_settings, sender=sender) if job_leases is None
                  else SharedJobRunner(services, messenger, runner_settings, job_leases, sender=sender))
        stack.push_async_callback(runner.stop)
        broadcaster = Broadcaster(services, messenger)
        stack.push_async_callback(broadcaster.stop)
        core = BotCore(services, messenger, runner, broadcaster, sender)
        if resume:
            await sender.sweep()  # what a crash left unsent
            await runner.resume()
            await broadcaster.resume()
        yield App(settings, catalog, storage, gateway, services, runner, core, broadcaster, sender)
