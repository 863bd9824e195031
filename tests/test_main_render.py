"""`python main_render.py` as the operator runs it: a real process, configured by environment variables,
checked with the black-box smoke script, stopped with SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import pytest

from adapters.telegram.fake_bot_api import FakeBotApi
from entrypoints.smoke_checks import message_update, post_update
from scripts import smoke

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def wait_healthy(base: str, process: asyncio.subprocess.Process, timeout: float = 20.0) -> None:
    async with aiohttp.ClientSession() as http, asyncio.timeout(timeout):
        while True:
            assert process.returncode is None, "the bot exited during start-up"
            try:
                async with http.get(f"{base}/health") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)


async def start_bot(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "main_render.py", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )


@pytest.mark.slow
async def test_main_render_serves_the_runbook_checks_and_stops_cleanly_on_sigterm(tmp_path):
    async with FakeBotApi() as api:
        port = free_port()
        env = {
            "PATH": os.environ["PATH"], "HOME": str(tmp_path), "TELEGRAM_BOT_TOKEN": api.token,
            "TELEGRAM_API_BASE_URL": api.base_url, "BOT_MODE": "webhook", "PORT": str(port),
            "WEBHOOK_BASE_URL": "https://bot.example", "WEBHOOK_SECRET_PATH": "smokepath42",
            "WEBHOOK_SECRET_TOKEN": "smoke_token_42", "DATA_DIR": str(tmp_path / "data"), "KIE_MODE": "fake",
        }
        process = await start_bot(env)
        base = f"http://127.0.0.1:{port}"
        try:
            await wait_healthy(base, process)
            checks = await smoke.run(base, "smokepath42", "smoke_token_42", 10)
            assert [c.line() for c in checks if not c.ok] == []
            async with aiohttp.ClientSession() as http:
                assert await post_update(http, base, "smokepath42", "smoke_token_42", message_update(555, "/start")) == 200
            async with asyncio.timeout(10):
                while not api.messages(555):
                    await asyncio.sleep(0.05)
        finally:
            process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                _, stderr = await process.communicate()
        logs = stderr.decode()
        assert process.returncode == 0, logs[-2000:]
        assert "BOT_STARTED bot_mode=webhook" in logs and "BOT_STOPPED" in logs
        assert "[TELEMETRY] UPDATE_RECEIVED cid=" in logs and "DISPATCH_OK" in logs
        assert api.token not in logs and "smoke_token_42" not in logs and "smokepath42" not in logs
        assert api.calls("setWebhook")[0].params["url"] == "https://bot.example/webhook/smokepath42"


async def test_a_missing_token_stops_the_start_with_one_line_naming_it(tmp_path):
    process = await start_bot({"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DATA_DIR": str(tmp_path)})
    async with asyncio.timeout(20):
        _, stderr = await process.communicate()
    assert process.returncode == 2
    assert stderr.decode().strip().splitlines() == [
        "cannot start: missing setting TELEGRAM_BOT_TOKEN: required when BOT_MODE=polling"
    ]


async def test_a_rejected_token_is_reported_without_printing_it(tmp_path):
    async with FakeBotApi() as api:
        wrong = "42:WRONG_token_value"
        env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "TELEGRAM_BOT_TOKEN": wrong,
               "TELEGRAM_API_BASE_URL": api.base_url, "PORT": str(free_port()), "DATA_DIR": str(tmp_path),
               "KIE_MODE": "fake"}
        process = await start_bot(env)
        async with asyncio.timeout(20):
            _, stderr = await process.communicate()
    logs = stderr.decode()
    assert process.returncode == 2
    assert "STARTUP_FAILED TELEGRAM_BOT_TOKEN was rejected by Telegram" in logs
    assert wrong not in logs
