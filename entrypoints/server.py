"""The bot on Telegram: ``python main_render.py`` (webhook or polling, per BOT_MODE).

One aiohttp server on 0.0.0.0:$PORT serves /health, the webhook and the KIE callback in both modes.
Updates go to the durable inbox first, then to the dispatcher's workers; jobs run in the JobRunner.
SIGTERM/SIGINT: stop taking updates into processing, let running ones finish (grace period), close.
A second signal exits at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from contextlib import AsyncExitStack

from aiohttp import web
from telegram import Bot
from telegram.error import InvalidToken, TelegramError

from adapters.telegram.files import TelegramMediaReader
from adapters.telegram.messenger import TelegramMessenger
from adapters.telegram.polling import UpdatePoller, set_webhook
from adapters.telegram.updates import parse_update, update_chat_id
from core.rate_limit import RateLimiter
from entrypoints.dispatcher import Dispatcher
from entrypoints.http_app import HealthState, make_http_app
from entrypoints.settings import Settings, SettingsError, load_settings, read_environment, require_telegram
from entrypoints.telemetry import configure_logging, exception_caught
from entrypoints.wiring import App, build_app
from ports.storage import StorageUnavailableError

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query", "pre_checkout_query", "my_chat_member"]
SHUTDOWN_GRACE_S = 20.0
STORE_RETRY_S = 2.0


def make_bot(settings: Settings) -> Bot:
    assert settings.TELEGRAM_BOT_TOKEN is not None
    root = settings.TELEGRAM_API_BASE_URL.rstrip("/")
    return Bot(settings.TELEGRAM_BOT_TOKEN.get_secret_value(), base_url=f"{root}/bot", base_file_url=f"{root}/file/bot")


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


class Server:
    """A running bot: its app, dispatcher, HTTP site and (in polling mode) the poller."""

    def __init__(self, settings: Settings, app: App, bot: Bot) -> None:
        self.settings, self.app, self.bot = settings, app, bot
        self.dispatcher = Dispatcher(
            inbox=app.storage.inbox, users=app.storage.users, core=app.core, parse=parse_update,
            chat_of=update_chat_id, clock=app.services.clock, workers=settings.WORKERS,
            limiter=RateLimiter(settings.RATE_LIMIT_BURST, settings.RATE_LIMIT_PER_SECOND),
        )
        self.health = HealthState(
            bot_mode=settings.BOT_MODE, storage="json",
            jobs_in_flight=lambda: app.runner.in_flight, inbox_depth=lambda: self.dispatcher.pending,
            generator=lambda: app.services.gateway.health(),
        )
        self.site_runner: web.AppRunner | None = None
        self.port: int | None = None
        self._background: list[asyncio.Task[None]] = []

    async def confirm_task(self, task_id: str) -> bool:
        try:
            return await self.app.runner.on_task_event(task_id)
        except Exception as error:  # a background callback: logged with its cid, never lost silently
            exception_caught(error, stage="kie_callback", task_id=task_id)
            return False

    async def start(self, host: str = "0.0.0.0") -> None:
        settings = self.settings
        token = settings.WEBHOOK_SECRET_TOKEN.get_secret_value() if settings.WEBHOOK_SECRET_TOKEN else None
        callback_token = settings.KIE_CALLBACK_TOKEN.get_secret_value() if settings.KIE_CALLBACK_TOKEN else None
        http = make_http_app(
            health=self.health, dispatcher=self.dispatcher,
            webhook_path=settings.WEBHOOK_SECRET_PATH, webhook_token=token,
            kie_callback_path=settings.KIE_CALLBACK_PATH, kie_callback_token=callback_token,
            on_task_event=self.confirm_task,
        )
        self.site_runner = web.AppRunner(http, access_log=None)
        await self.site_runner.setup()
        site = web.TCPSite(self.site_runner, host, settings.PORT)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # the real port when PORT=0 (tests)
        await self.dispatcher.start()
        if settings.BOT_MODE == "webhook":
            assert token is not None
            await set_webhook(self.bot, settings.webhook_url(), token, ALLOWED_UPDATES)
        else:
            poller = UpdatePoller(self.bot, allowed_updates=ALLOWED_UPDATES)
            self._background.append(asyncio.create_task(poll_updates(poller, self.dispatcher), name="polling"))
        log.info("BOT_STARTED bot_mode=%s port=%s storage=%s", settings.BOT_MODE, self.port, self.health.storage)

    async def stop(self, grace: float = SHUTDOWN_GRACE_S) -> None:
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.dispatcher.stop(grace)
        if self.site_runner is not None:
            await self.site_runner.cleanup()
        log.info("BOT_STOPPED")


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> int:
    stop = stop or asyncio.Event()
    bot = make_bot(settings)
    try:
        await bot.initialize()
    except InvalidToken:
        log.error("STARTUP_FAILED TELEGRAM_BOT_TOKEN was rejected by Telegram (check it with @BotFather)")
        return 2
    except TelegramError as error:
        log.error("STARTUP_FAILED cannot reach the Bot API at %s: %s", settings.TELEGRAM_API_BASE_URL, type(error).__name__)
        return 2
    async with AsyncExitStack() as stack:
        stack.push_async_callback(bot.shutdown)
        app = await stack.enter_async_context(build_app(settings, messenger=TelegramMessenger(bot), media=TelegramMediaReader(bot)))
        server = Server(settings, app, bot)
        await server.start()
        stack.push_async_callback(server.stop)
        await stop.wait()
    return 0


def install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        if stop.is_set():
            log.warning("SHUTDOWN_FORCED second signal %s", signal.Signals(signum).name)
            os._exit(1)
        log.info("SHUTDOWN_REQUESTED signal=%s grace_s=%s", signal.Signals(signum).name, SHUTDOWN_GRACE_S)
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
    except SettingsError as error:
        print(f"cannot start: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.LOG_LEVEL, settings.LOG_FORMAT, settings.secrets())
    if settings.DATABASE_URL is not None:
        log.warning("DATABASE_URL is set, but this build stores data in JSON files under DATA_DIR=%s", settings.DATA_DIR)
    try:
        return asyncio.run(_main(settings))
    except StorageUnavailableError as error:
        log.error("STARTUP_FAILED %s", error)
        return 2
