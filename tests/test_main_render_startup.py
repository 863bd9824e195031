"""``python main_render.py`` starting up as an operator meets it: webhook mode against a local Bot API server
(http://, any port) with updates delivered to it, and every start-up failure as one line naming the setting
or file, exit code 2, never a traceback."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import aiohttp
import pytest

from adapters.telegram.fake_bot_api import FakeBotApi
from entrypoints.smoke_checks import message_update
from tests.test_main_render import ROOT, free_port, start_bot, wait_healthy

TOKEN = "123456789:TEST-fake-bot-token"


def bot_env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DATA_DIR": str(tmp_path / "data"),
            "PORT": str(free_port()), **values}


async def finished(env: dict[str, str]) -> tuple[int, list[str]]:
    process = await start_bot(env)
    async with asyncio.timeout(30):
        _, stderr = await process.communicate()
    assert process.returncode is not None
    return process.returncode, stderr.decode().strip().splitlines()


@pytest.mark.slow
async def test_webhook_mode_runs_against_a_local_bot_api_server_over_http(tmp_path):
    async with FakeBotApi(local=True, deliver_webhooks=True) as api:
        port = free_port()
        env = bot_env(
            tmp_path, TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_BASE_URL=api.base_url, BOT_MODE="webhook",
            PORT=str(port), WEBHOOK_BASE_URL=f"http://127.0.0.1:{port}", WEBHOOK_SECRET_PATH="localpath42",
            WEBHOOK_SECRET_TOKEN="local_token_42", KIE_MODE="fake",
        )
        process = await start_bot(env)
        base = f"http://127.0.0.1:{port}"
        try:
            await wait_healthy(base, process)
            async with asyncio.timeout(10):
                while api.webhook is None:
                    await asyncio.sleep(0.05)
            update = api.push_update(message_update(777, "/start"))  # Telegram's side: it POSTs it to the webhook
            async with asyncio.timeout(15):
                while not [m for m in api.messages(777) if m.from_bot]:
                    await asyncio.sleep(0.05)
            async with aiohttp.ClientSession() as http, http.get(f"{base}/health") as response:
                health = await response.json()
        finally:
            process.terminate()
            async with asyncio.timeout(30):
                _, stderr = await process.communicate()
    logs = stderr.decode()
    assert process.returncode == 0, logs[-2000:]
    assert api.calls("setWebhook")[0].params["url"] == f"http://127.0.0.1:{port}/webhook/localpath42"
    assert api.delivered == [update] and api.pending_updates == []
    assert health["kie_mode"] == "fake" and "KIE_MODE_FAKE" in logs  # the operator sees it at every start


@pytest.mark.slow
async def test_a_webhook_url_telegram_refuses_stops_the_start_with_one_line_naming_it(tmp_path):
    async with FakeBotApi() as api:  # like api.telegram.org: https only
        code, lines = await finished(bot_env(
            tmp_path, TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_BASE_URL=api.base_url, BOT_MODE="webhook",
            WEBHOOK_BASE_URL="http://127.0.0.1:9", WEBHOOK_SECRET_PATH="localpath42",
            WEBHOOK_SECRET_TOKEN="local_token_42", KIE_MODE="fake",
        ))
    assert code == 2, lines
    failures = [line for line in lines if "STARTUP_FAILED" in line]
    assert len(failures) == 1 and "WEBHOOK_BASE_URL" in failures[0] and "https url must be provided" in failures[0].lower()
    assert not any("Traceback" in line for line in lines)


async def test_a_database_url_that_is_not_postgresql_stops_before_any_bot_api_call(tmp_path):
    async with FakeBotApi() as api:
        code, lines = await finished(bot_env(
            tmp_path, TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_BASE_URL=api.base_url, KIE_MODE="fake",
            DATABASE_URL="mysql://x",
        ))
        assert api.calls() == []
    assert code == 2
    assert len(lines) == 1 and "DATABASE_URL" in lines[0] and "mysql://x" not in lines[0]


async def test_a_missing_catalog_file_stops_the_start_with_one_line_naming_it(tmp_path):
    missing = tmp_path / "nowhere" / "models.yaml"
    code, lines = await finished(bot_env(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, KIE_MODE="fake", CATALOG_PATH=str(missing)))
    assert code == 2
    assert len(lines) == 1 and "CATALOG_PATH" in lines[0] and str(missing) in lines[0]


async def test_a_catalog_with_an_invalid_default_stops_the_start_with_one_line_naming_the_model(tmp_path):
    source = (ROOT / "catalog" / "models.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "models.yaml"
    good = 'values: ["1K", "2K", "4K"], default: "1K"}'
    assert good in source
    broken.write_text(source.replace(good, 'values: ["1K", "2K", "4K"], default: "8K"}', 1), encoding="utf-8")
    code, lines = await finished(bot_env(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, KIE_MODE="fake", CATALOG_PATH=str(broken)))
    assert code == 2
    assert len(lines) == 1 and "CATALOG_PATH" in lines[0] and "default" in lines[0] and "'8K'" in lines[0]


async def test_without_a_kie_key_the_bot_refuses_to_start_unless_the_fake_is_asked_for(tmp_path):
    code, lines = await finished(bot_env(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN))
    assert code == 2
    assert len(lines) == 1 and "KIE_API_KEY" in lines[0] and "KIE_MODE=fake" in lines[0]


def test_health_names_the_generator_mode():
    from entrypoints.http_app import HealthState

    assert HealthState("polling", "json", kie_mode="fake").body()["kie_mode"] == "fake"
    assert json.dumps(HealthState("webhook", "json").body()["kie_mode"]) == '"real"'


async def test_an_unreachable_database_stops_the_start_with_one_line_naming_it(tmp_path):
    async with FakeBotApi() as api:
        code, lines = await finished(bot_env(
            tmp_path, TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_BASE_URL=api.base_url, KIE_MODE="fake",
            DATABASE_URL="postgresql://nobody:pw@127.0.0.1:1/nothing",
        ))
    assert code == 2
    failures = [line for line in lines if "STARTUP_FAILED" in line]
    assert len(failures) == 1 and "DATABASE_URL" in failures[0] and ":pw@" not in "\n".join(lines)
    assert not any("Traceback" in line for line in lines)
