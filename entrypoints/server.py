"""The bot on Telegram: ``python main_render.py`` (webhook or polling, per BOT_MODE).

One aiohttp server on 0.0.0.0:$PORT serves /health, the webhook and the KIE callback in both modes.
Several instances may run against one database: the one holding the leader lock processes, the others
take webhooks into the shared inbox (entrypoints/instance.py). SIGTERM/SIGINT: stop taking updates into
processing, let running ones finish (SHUTDOWN_GRACE_S), release the lock, close. A second signal exits
at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
from typing import Any, Awaitable, Callable

from telegram import Bot
from telegram.error import InvalidToken, TelegramError

from adapters.storage.file_leader_lock import FileLeaderLock
from adapters.storage.json_storage import JsonStorage
from adapters.storage.pg_leader_lock import PostgresLeaderLock, lock_key_for
from adapters.storage.postgres import PostgresStorage
from adapters.telegram.aiohttp_request import aiohttp_bot
from adapters.telegram.files import TelegramMediaReader
from adapters.telegram.messenger import TelegramMessenger
from adapters.catalog.yaml_catalog import load_catalog
from adapters.telegram.polling import UpdatePoller, WebhookRefusedError
from adapters.telegram.result_links import ResultLinks, parse_origins
from entrypoints.cluster import ClusterSettings
from entrypoints.dispatcher import Dispatcher
from entrypoints.http_app import VERSION
from entrypoints.instance import Instance
from entrypoints.metrics import PrometheusMetrics
from entrypoints.settings import Settings, SettingsError, load_settings, read_environment, require_telegram
from entrypoints.telemetry import configure_logging, exception_caught
from ports.catalog import CatalogError
from ports.effects import Messenger
from ports.leader import LeaderLock
from ports.metrics import NO_METRICS, Metrics
from ports.storage import Storage, StorageUnavailableError

log = logging.getLogger(__name__)

STORE_RETRY_S = 2.0


def make_bot(settings: Settings, metrics: Metrics = NO_METRICS) -> Bot:
    """``metrics``: where the Bot API answers are counted (by method and status; 429s among them)."""
    assert settings.TELEGRAM_BOT_TOKEN is not None
    root = settings.TELEGRAM_API_BASE_URL.rstrip("/")
    return aiohttp_bot(settings.TELEGRAM_BOT_TOKEN.get_secret_value(), f"{root}/bot", f"{root}/file/bot",
                       metrics=metrics)


def make_metrics(settings: Settings) -> PrometheusMetrics:
    """The instance's /metrics registry, every series labelled with its ``instance_id``."""
    return PrometheusMetrics(instance_id(settings), version=VERSION, bot_mode=settings.BOT_MODE,
                             storage="postgres" if settings.DATABASE_URL is not None else "json")


async def poll_updates(poller: UpdatePoller, dispatcher: Dispatcher) -> None:
    """getUpdates long polling; the offset moves past an update only once it is stored."""
    await poller.start()
    while True:
        for update in await poller.fetch():
            update_id = update.get("update_id")
            if not isinstance(update_id, int):
                log.warning("POLL_SKIPPED an update without update_id")
                continue
            try:
                await dispatcher.accept(update)
            except StorageUnavailableError as error:
                exception_caught(error, update_id=update_id, stage="poll_store")
                await asyncio.sleep(STORE_RETRY_S)
                break  # not committed: Telegram gives it (and the rest) again
            poller.commit(update_id)


def make_lock(settings: Settings) -> LeaderLock:
    """PostgreSQL advisory lock keyed by the bot token when DATABASE_URL is set; else a file lock on DATA_DIR."""
    if settings.DATABASE_URL is not None:
        assert settings.TELEGRAM_BOT_TOKEN is not None
        key = lock_key_for(settings.TELEGRAM_BOT_TOKEN.get_secret_value())
        return PostgresLeaderLock(
            settings.DATABASE_URL.get_secret_value(), key, instance_id=instance_id(settings),
            stale_after=settings.LOCK_STALE_SECONDS,
        )
    return FileLeaderLock(settings.DATA_DIR)


def instance_id(settings: Settings) -> str:
    return settings.INSTANCE_ID or f"{socket.gethostname()}-{os.getpid()}"


def storage_opener(settings: Settings, lock: LeaderLock) -> Callable[[], Awaitable[Storage]]:
    async def open_storage() -> Storage:
        if settings.DATABASE_URL is not None:
            return await PostgresStorage.open(settings.DATABASE_URL.get_secret_value(), max_size=settings.DB_POOL_MAX)
        assert isinstance(lock, FileLeaderLock)
        return await JsonStorage.open(settings.DATA_DIR, lock=lock)

    return open_storage


def result_links(settings: Settings) -> ResultLinks:
    """file:// results only from the in-process fake generator's directory; loopback only for the origins
    configured."""
    files = (settings.DATA_DIR / "files") if settings.KIE_MODE == "fake" else None  # where the fake generator writes
    return ResultLinks(file_root=files,
                       trusted_origins=parse_origins(settings.KIE_TRUSTED_RESULT_ORIGINS))


def make_instance(
    settings: Settings,
    bot: Bot,
    lock: LeaderLock | None = None,
    runner_settings: Any = None,
    messenger: Messenger | None = None,
    cluster_settings: ClusterSettings | None = None,
    metrics: PrometheusMetrics | None = None,
) -> Instance:
    """``metrics``: the registry ``bot`` reports to (make_bot); a new one when not given."""
    lock = lock or make_lock(settings)
    return Instance(
        settings, bot, messenger=messenger or TelegramMessenger(bot, links=result_links(settings)),
        media=TelegramMediaReader(bot), lock=lock,
        open_storage=storage_opener(settings, lock), shared_inbox=settings.DATABASE_URL is not None,
        runner_settings=runner_settings, poll_updates=poll_updates, name=instance_id(settings),
        cluster_settings=cluster_settings, metrics=metrics or make_metrics(settings),
    )


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> int:
    stop = stop or asyncio.Event()
    metrics = make_metrics(settings)
    bot = make_bot(settings, metrics)
    try:
        await bot.initialize()
    except InvalidToken:
        log.error("STARTUP_FAILED TELEGRAM_BOT_TOKEN was rejected by Telegram (check it with @BotFather)")
        return 2
    except TelegramError as error:
        log.error("STARTUP_FAILED cannot reach the Bot API at %s: %s", settings.TELEGRAM_API_BASE_URL, type(error).__name__)
        return 2
    try:
        await run_instance(make_instance(settings, bot, metrics=metrics), settings, stop)
    except WebhookRefusedError as error:
        hint = " (api.telegram.org needs https://; a local Bot API server accepts http://)" if "https" in str(error).lower() else ""
        log.error("STARTUP_FAILED WEBHOOK_BASE_URL was refused by the Bot API: %s%s", error, hint)
        return 2
    except OSError as error:
        log.error("STARTUP_FAILED PORT=%s: cannot listen: %s", settings.PORT, error.strerror or error)
        return 2
    finally:
        await bot.shutdown()
    return 0


async def run_instance(instance: Instance, settings: Settings, stop: asyncio.Event, host: str = "0.0.0.0") -> None:
    """Start, serve until ``stop`` is set (SIGTERM), then stop gracefully."""
    try:
        await instance.start(host)
    except BaseException:
        await instance.stop(0)  # a failed start still releases the lock and closes what it opened
        raise
    try:
        await stop.wait()
    finally:
        await instance.stop(settings.SHUTDOWN_GRACE_S)


def install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        if stop.is_set():
            log.warning("SHUTDOWN_FORCED second signal %s", signal.Signals(signum).name)
            os._exit(1)
        log.info("SHUTDOWN_REQUESTED signal=%s", signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)


async def _main(settings: Settings) -> int:
    stop = asyncio.Event()
    install_signal_handlers(stop)
    return await serve(settings, stop)


def main() -> int:
    # python-telegram-bot 22: opt in to RetryAfter.retry_after as a timedelta (the messenger reads both).
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    try:
        settings = load_settings(read_environment())
        require_telegram(settings)
        load_catalog(settings.CATALOG_PATH)  # checked before anything starts; the instance loads it again
    except SettingsError as error:
        print(f"cannot start: {error}", file=sys.stderr)
        return 2
    except CatalogError as error:
        print(f"cannot start: CATALOG_PATH {error}", file=sys.stderr)
        return 2
    configure_logging(settings.LOG_LEVEL, settings.LOG_FORMAT, settings.secrets())
    try:
        return asyncio.run(_main(settings))
    except StorageUnavailableError as error:
        log.error("STARTUP_FAILED %s: %s", "DATABASE_URL" if settings.DATABASE_URL else "DATA_DIR", error)
        return 2
