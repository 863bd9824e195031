"""The whole bot in-process on real HTTP: the aiohttp server (webhook or polling) against FakeBotApi on
loopback, the fake generator and JSON storage in a given directory, and a client that talks to it as
Telegram does (a user who types and presses buttons). Used by scripts/smoke_webhook.py and the tests."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp

from core.job_runner import RunnerSettings
from entrypoints.instance import Instance
from entrypoints.server import make_bot, make_instance, make_metrics
from entrypoints.settings import Settings, load_settings
from entrypoints.smoke_checks import SECRET_HEADER, callback_update, message_update
from adapters.telegram.fake_bot_api import FakeBotApi, SentMessage

SECRET_PATH = "test-secret-path"
SECRET_TOKEN = "test_secret_token"
FAST_RUNNER = RunnerSettings(poll_first=0.05, poll_max=0.2, submit_backoff=0.05)


def server_settings(directory: Path, api: FakeBotApi, **env: str) -> Settings:
    values = {
        "TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_API_BASE_URL": api.base_url, "BOT_MODE": "webhook", "PORT": "0",
        "WEBHOOK_BASE_URL": "https://bot.example", "WEBHOOK_SECRET_PATH": SECRET_PATH,
        "WEBHOOK_SECRET_TOKEN": SECRET_TOKEN, "DATA_DIR": str(directory / "data"), "WELCOME_BALANCE": "100",
        "FAKE_KIE_SPEED": "40", "FREE_DAILY_LIMIT": "0",
    }
    values.update(env)
    return load_settings(values)


class Client:
    """Talks to a running server as Telegram does, and reads what the user got."""

    def __init__(self, server: Instance, api: FakeBotApi, http: aiohttp.ClientSession) -> None:
        self.server, self.api, self.http = server, api, http
        self.base = f"http://127.0.0.1:{server.port}"

    async def post_update(self, update: dict[str, Any], *, token: str = SECRET_TOKEN, path: str = SECRET_PATH) -> int:
        if self.server.settings.BOT_MODE == "polling":
            self.api.push_update(update)
            return 200
        self.api.register_update(update)
        async with self.http.post(
            f"{self.base}/webhook/{path}", json=update, headers={SECRET_HEADER: token}
        ) as response:
            return response.status

    def _quiet(self) -> bool:
        # In polling mode an update pushed to the fake Bot API is not stored until the poller fetches it.
        return (
            not self.api.pending_updates
            and self.server.dispatcher.pending == 0
            and self.server.app.runner.in_flight == 0
        )

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until every update is fetched, stored and processed, and every job has finished."""
        async with asyncio.timeout(timeout):
            while True:
                await asyncio.sleep(0.02)
                if self._quiet():
                    await self.server.dispatcher.wait_idle()
                    # With PostgreSQL a stored update is processed once claimed: until then only storage knows it.
                    if self._quiet() and await self.server.app.storage.inbox.depth() == 0:
                        return

    def last_with_buttons(self, chat_id: int) -> SentMessage:
        return [m for m in self.api.messages(chat_id) if m.from_bot and m.buttons][-1]

    async def say(self, chat_id: int, text: str, language: str = "ru") -> None:
        assert await self.post_update(message_update(chat_id, text, language)) == 200
        await self.settle()

    async def press(self, chat_id: int, label_part: str) -> None:
        message = self.last_with_buttons(chat_id)
        found = [d for row in message.buttons for label, d in row if label_part in label]
        if not found:
            raise LookupError(f"no button with {label_part!r} among {[label for row in message.buttons for label, _ in row]}")
        data = found[0]
        assert await self.post_update(callback_update(chat_id, data, message.message_id)) == 200
        await self.settle()


@asynccontextmanager
async def running_server(directory: Path, runner: RunnerSettings = FAST_RUNNER, **env: str) -> AsyncIterator[Client]:
    """``runner``: job polling for the test (its callback URL is filled in from the settings)."""
    async with FakeBotApi() as api:
        settings = server_settings(directory, api, **env)
        metrics = make_metrics(settings)
        async with make_bot(settings, metrics) as bot:
            instance = make_instance(settings, bot, runner_settings=replace(runner, callback_url=settings.kie_callback_url()),
                                     metrics=metrics)
            await instance.start(host="127.0.0.1")
            try:
                async with aiohttp.ClientSession() as http:
                    yield Client(instance, api, http)
            finally:
                await instance.stop(grace=5)
