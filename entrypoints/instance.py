"""One process of the bot. Its HTTP server runs from the start.

With PostgreSQL every instance processes (entrypoints/cluster.py): it claims inbox updates and drives jobs
under leases from the start, whether it leads or not (/health: ``mode: "active"``, ``role: "worker"``). The
one holding the leader lock (``role: "leader"``, ``lock_acquired: true``) also does what must run once:
getUpdates polling or setting the webhook, and the sweeper (jobs nobody drives, broadcasts). Losing the lock
stops only that part.

With JSON files (one process) it processes only while it holds the leader lock (active). Passive, it tells
the user the bot is updating, logs PASSIVE_REJECT and answers 503 so Telegram delivers the update again
later. Becoming active: queue the inbox, resume unfinished jobs, take over getUpdates or the webhook, start
the sweeper. Losing the lock: stop processing at once.

SIGTERM: stop taking work into processing (webhooks go on being stored), let running handlers finish within
the grace period, give back the claims and leases, release the lock, close everything.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack
from typing import Any, Callable, Mapping

from aiohttp import web
from telegram import Bot

from adapters.storage.postgres import PostgresStorage
from adapters.telegram.polling import UpdatePoller, set_webhook
from adapters.telegram.stars import TelegramStars
from adapters.telegram.updates import parse_update, update_chat_id
from core.passive import passive_reply
from core.rate_limit import RateLimiter
from core.runtime import reload_overrides
from core.shared_job_runner import SharedJobRunner
from entrypoints.cluster import Cluster, ClusterSettings, lease_owner
from entrypoints.dispatcher import Dispatcher
from entrypoints.inbox_gauge import InboxGauge
from entrypoints.http_app import HealthState, UpdateNotAcceptedError, make_http_app
from entrypoints.job_gauge import JobGauge
from entrypoints.metrics import PrometheusMetrics
from entrypoints.settings import Settings
from entrypoints.telemetry import exception_caught, new_cid, passive_reject
from entrypoints.wiring import App, build_app
from ports.effects import Messenger
from ports.generation import GatewayHealth
from ports.leader import LeaderLock
from ports.media import MediaReader
from ports.storage import Storage, StorageUnavailableError
from ports.trace import correlation_id

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query", "pre_checkout_query", "my_chat_member"]
PUMP_SECONDS = 1.0  # the active instance picks up updates other instances stored
RESUME_SECONDS = 60.0  # and re-drives jobs whose delivery or refund is still pending
JOB_SWEEP_SECONDS = 5.0  # with PostgreSQL: the leader starts the jobs nobody drives (their driver died)


StorageOpener = Callable[[], Any]  # async () -> Storage, called once the instance may open it


class Instance:
    def __init__(
        self,
        settings: Settings,
        bot: Bot,
        *,
        messenger: Messenger,
        media: MediaReader,
        lock: LeaderLock,
        open_storage: StorageOpener,
        shared_inbox: bool,
        runner_settings: Any = None,
        poll_updates: Callable[[UpdatePoller, Dispatcher], Any] | None = None,
        name: str = "",
        cluster_settings: ClusterSettings | None = None,
        metrics: PrometheusMetrics | None = None,
    ) -> None:
        self.settings, self.bot, self.lock = settings, bot, lock
        self._messenger, self._media, self._open_storage = messenger, media, open_storage
        self._shared_inbox = shared_inbox
        self._runner_settings = runner_settings
        self._poll_updates = poll_updates
        self.name = name or settings.INSTANCE_ID or "instance"
        self._cluster_settings = cluster_settings
        self.cluster: Cluster | None = None  # PostgreSQL: every instance processes
        self._stack = AsyncExitStack()
        self.app: App | None = None
        self.dispatcher: Dispatcher | None = None
        self.inbox_gauge: InboxGauge | None = None
        self._gauge_task: asyncio.Task[None] | None = None
        self.job_gauge: JobGauge | None = None
        self._job_gauge_task: asyncio.Task[None] | None = None
        self.outbox_gauge: InboxGauge | None = None
        self._outbox_gauge_task: asyncio.Task[None] | None = None
        self.health = HealthState(
            bot_mode=settings.BOT_MODE, storage="postgres" if shared_inbox else "json", active=False, lock_acquired=False,
            jobs_in_flight=lambda: self.app.runner.in_flight if self.app else 0,
            inbox_depth=lambda: self.inbox_gauge.value if self.inbox_gauge else 0,
            updates_shed=lambda: self.dispatcher.shed if self.dispatcher else 0,
            generator=lambda: self.app.services.gateway.health() if self.app else GatewayHealth(),
            kie_mode=settings.KIE_MODE,
            leader=lambda: getattr(self.lock, "holder", None) or (self.name if self.lock.held else None),
        )
        self.metrics = metrics or PrometheusMetrics(settings.INSTANCE_ID or "-")
        self._read_gauges(self.metrics)
        self._site: web.AppRunner | None = None
        self._leading: asyncio.Task[None] | None = None
        self._active_tasks: list[asyncio.Task[None]] = []
        self.port: int | None = None

    def _read_gauges(self, metrics: PrometheusMetrics) -> None:
        """/metrics' gauges read what /health reads (outbox depth and queue length: wired where they live)."""
        readings = metrics.readings
        readings.inbox_depth = lambda: self.inbox_gauge.value if self.inbox_gauge else None
        readings.jobs = lambda: self.job_gauge.value if self.job_gauge else None
        readings.jobs_in_flight = self.health.jobs_in_flight
        readings.leader = lambda: self.health.lock_acquired
        readings.processing = lambda: self.health.active
        readings.outbox_depth = lambda: self.outbox_gauge.value if self.outbox_gauge else None
        readings.queue_length = lambda: (self.app.runner.queue.global_length
                                         if self.app and self.app.runner.queue is not None else None)

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self, host: str = "0.0.0.0") -> None:
        if self._shared_inbox:
            await self._build(await self._open_storage())  # processing works from the first second
            self._start_processing()
        await self._start_http(host)
        await self._try_lead()
        self._leading = asyncio.create_task(self._lead_forever(), name="leadership")
        log.info("BOT_STARTED", extra={"bot_mode": self.settings.BOT_MODE, "port": self.port, "storage": self.health.storage,
                                       "mode": "active" if self.health.active else "passive", "kie_mode": self.settings.KIE_MODE})
        if self.settings.KIE_MODE == "fake":
            log.warning("KIE_MODE_FAKE the fake generator answers every order: users are charged for made-up results")

    async def stop(self, grace: float) -> None:
        if self._leading is not None:
            self._leading.cancel()
            await asyncio.gather(self._leading, return_exceptions=True)
        await self._stand_down(grace)
        await self._stop_processing(grace)
        for gauge in (self._gauge_task, self._job_gauge_task, self._outbox_gauge_task):
            if gauge is not None:
                gauge.cancel()
                await asyncio.gather(gauge, return_exceptions=True)
        await self.lock.release()
        self.health.lock_acquired = False
        if self._site is not None:
            await self._site.cleanup()
        await self._stack.aclose()
        close_messenger = getattr(self._messenger, "aclose", None)  # the Telegram messenger's HTTP client
        if close_messenger is not None:
            await close_messenger()
        log.info("BOT_STOPPED")

    # --- leadership ---------------------------------------------------------------------------

    async def _lead_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.LOCK_RETRY_SECONDS)
            try:
                await self._try_lead()
            except Exception as error:  # the leadership loop must survive anything
                exception_caught(error, stage="leadership")

    async def _try_lead(self) -> None:
        if not self.lock.held:
            if await self.lock.try_acquire():
                await self._take_over()
        elif not await self.lock.heartbeat():
            log.warning("LEADER_LOST processing stops", extra={"instance": self.settings.INSTANCE_ID})
            await self._stand_down(grace=5.0)

    def _start_processing(self) -> None:
        """PostgreSQL: claim updates and drive jobs alongside the other instances, leader or not."""
        assert self.cluster is not None and self.dispatcher is not None and self.app is not None
        runner = self.app.runner
        assert isinstance(runner, SharedJobRunner)
        self.cluster.start(self.dispatcher, self.settings.WORKERS, runner.wake)
        self.health.active = True
        log.info("INSTANCE_PROCESSING", extra={"instance": self.name, "owner": self.cluster.owner})

    async def _stop_processing(self, grace: float) -> None:
        if self.cluster is None:
            return
        self.health.active = False
        await self.cluster.stop_claiming()
        if self.dispatcher is not None:
            await self.dispatcher.stop(grace)
        await self.cluster.release()
        if self.app is not None:
            await self.app.runner.stop(grace)

    async def _take_over(self) -> None:
        if self.app is None:
            await self._build(await self._open_storage())
        assert self.app is not None and self.dispatcher is not None
        self.health.active = self.health.lock_acquired = True
        await reload_overrides(self.app.services)  # what admins changed while another instance led
        queued = 0 if self.cluster is not None else await self.dispatcher.start()
        jobs = await self.app.runner.resume()
        broadcasts = await self.app.broadcaster.resume()
        log.info("INSTANCE_ACTIVE",
                 extra={"inbox_pending": queued, "jobs_resumed": jobs, "broadcasts_resumed": broadcasts})
        if self.settings.BOT_MODE == "webhook":
            token = self.settings.WEBHOOK_SECRET_TOKEN
            assert token is not None
            await set_webhook(self.bot, self.settings.webhook_url(), token.get_secret_value(), ALLOWED_UPDATES)
        elif self._poll_updates is not None:
            poller = UpdatePoller(self.bot, allowed_updates=ALLOWED_UPDATES)
            self._active_tasks.append(asyncio.create_task(self._poll_updates(poller, self.dispatcher), name="polling"))
        self._active_tasks.append(asyncio.create_task(self._sweep(), name="sweeper"))
        self._active_tasks.append(asyncio.create_task(self.app.sender.run(PUMP_SECONDS), name="outbox"))

    async def _stand_down(self, grace: float) -> None:
        """Stop what the leader does; with JSON files that is all processing."""
        self.health.lock_acquired = self.lock.held
        for task in self._active_tasks:
            task.cancel()
        await asyncio.gather(*self._active_tasks, return_exceptions=True)
        self._active_tasks.clear()
        if self.cluster is not None:  # processing goes on (stopped by stop())
            if self.app is not None:
                await self.app.broadcaster.stop()
            return
        self.health.active = False
        if self.dispatcher is not None:
            await self.dispatcher.stop(grace)
        if self.app is not None:
            await self.app.runner.stop(grace)
            await self.app.broadcaster.stop()

    async def _sweep(self) -> None:
        """Leader only: pick up updates stored by other instances (JSON; with PostgreSQL the claimers do);
        re-drive stuck deliveries/refunds (with PostgreSQL: the jobs no instance drives)."""
        assert self.app is not None and self.dispatcher is not None
        since_resume = 0.0
        resume_every = JOB_SWEEP_SECONDS if self.cluster is not None else RESUME_SECONDS
        while True:
            await asyncio.sleep(PUMP_SECONDS)
            since_resume += PUMP_SECONDS
            try:
                if self.cluster is None:
                    await self.dispatcher.load_pending()
                if since_resume >= resume_every:
                    since_resume = 0.0
                    await self.app.runner.resume()
            except StorageUnavailableError as error:
                exception_caught(error, stage="sweeper")

    # --- building -----------------------------------------------------------------------------

    async def _build(self, storage: Storage) -> None:
        self._stack.push_async_callback(storage.close)
        settings = self.settings
        if self._shared_inbox:
            assert isinstance(storage, PostgresStorage) and settings.DATABASE_URL is not None
            self.cluster = Cluster(storage, settings.DATABASE_URL.get_secret_value(), lease_owner(self.name),
                                   self._cluster_settings)
        self.app = await self._stack.enter_async_context(build_app(
            self.settings, messenger=self._messenger, media=self._media, storage=storage,
            runner_settings=self._runner_settings, resume=False, stars=TelegramStars(self.bot),
            bot_username=_username(self.bot), metrics=self.metrics,
            job_leases=self.cluster.job_leases if self.cluster else None,
        ))
        self.dispatcher = Dispatcher(
            inbox=storage.inbox, users=storage.users, core=self.app.core, parse=parse_update, chat_of=update_chat_id,
            clock=self.app.services.clock, workers=settings.WORKERS,
            limiter=RateLimiter(settings.RATE_LIMIT_BURST, settings.RATE_LIMIT_PER_SECOND),
            backlog_max=settings.CHAT_BACKLOG_MAX, metrics=self.metrics,
            wake=self.cluster.wake if self.cluster else None,
        )
        self.inbox_gauge = InboxGauge(storage.inbox, settings.INBOX_DEPTH_EVERY_S)
        self._gauge_task = asyncio.create_task(self.inbox_gauge.run(), name="inbox-depth")
        self.outbox_gauge = InboxGauge(storage.outbox, settings.INBOX_DEPTH_EVERY_S, name="OUTBOX")
        self._outbox_gauge_task = asyncio.create_task(self.outbox_gauge.run(), name="outbox-depth")
        app = self.app
        assert app is not None
        self.job_gauge = JobGauge(storage.jobs, lambda: app.services.catalog, settings.INBOX_DEPTH_EVERY_S)
        self._job_gauge_task = asyncio.create_task(self.job_gauge.run(), name="job-count")

    async def _start_http(self, host: str) -> None:
        settings = self.settings
        token = settings.WEBHOOK_SECRET_TOKEN.get_secret_value() if settings.WEBHOOK_SECRET_TOKEN else None
        callback_token = settings.KIE_CALLBACK_TOKEN.get_secret_value() if settings.KIE_CALLBACK_TOKEN else None
        metrics_token = settings.METRICS_TOKEN.get_secret_value() if settings.METRICS_TOKEN else None
        http = make_http_app(
            health=self.health, accept=self.accept,
            webhook_path=settings.WEBHOOK_SECRET_PATH, webhook_token=token,
            kie_callback_path=settings.KIE_CALLBACK_PATH, kie_callback_token=callback_token,
            on_task_event=self.confirm_task, metrics=self.metrics.exposition, metrics_token=metrics_token,
        )
        self._site = web.AppRunner(http, access_log=None)
        await self._site.setup()
        site = web.TCPSite(self._site, host, settings.PORT)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # the real port when PORT=0 (tests)

    # --- intake -------------------------------------------------------------------------------

    async def accept(self, payload: Mapping[str, Any], text: str | None = None) -> bool:
        """The webhook's intake: store durably (any instance with a shared inbox), or refuse politely."""
        if self.dispatcher is not None:
            return await self.dispatcher.accept(payload, text)
        await self._passive_answer(payload)
        raise UpdateNotAcceptedError("passive instance without a shared inbox")

    async def _passive_answer(self, payload: Mapping[str, Any]) -> None:
        token = correlation_id.set(new_cid())  # its own cid: the reply's lines and PASSIVE_REJECT share it
        try:
            try:
                event = parse_update(payload)
            except ValueError:
                event = None
            query = payload.get("callback_query")
            data = query.get("data") if isinstance(query, dict) else None
            passive_reject("callback_query" if data is not None else "update", data, update_id=payload.get("update_id"))
            if event is None:
                return
            try:
                await self._messenger.apply(passive_reply(event, self.settings.DEFAULT_LANGUAGE))
            except Exception as error:  # a courtesy message; the update itself is redelivered by Telegram
                exception_caught(error, stage="passive_reply")
        finally:
            correlation_id.reset(token)

    async def confirm_task(self, task_id: str) -> bool:
        """A KIE callback. Only an active instance acts on it (with PostgreSQL every instance is: the job's
        driver settles it, see JobRunner.on_task_event)."""
        if self.app is None or not self.health.active:
            log.info("KIE_CALLBACK_IGNORED_PASSIVE", extra={"task": task_id})
            return False
        try:
            return await self.app.runner.on_task_event(task_id)
        except Exception as error:  # a background callback: logged with its cid, never lost silently
            exception_caught(error, stage="kie_callback", task_id=task_id)
            return False


def _username(bot: Bot) -> str | None:
    """The bot's @username for invite links (known once the Bot is initialised)."""
    try:
        return bot.username
    except RuntimeError:
        return None
