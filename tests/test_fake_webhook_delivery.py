"""FakeBotApi delivers queued updates to a set webhook as Telegram does: POSTed in order with the secret token
header, kept and tried again until the webhook answers 2xx; http:// only on a local server."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from telegram.error import BadRequest

from adapters.telegram.fake_bot_api import FakeBotApi
from tests.conftest import make_bot


async def receiver(answers: list[int]) -> tuple[web.AppRunner, str, list[tuple[dict, str | None]]]:
    got: list[tuple[dict, str | None]] = []

    async def take(request: web.Request) -> web.Response:
        got.append((await request.json(), request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        return web.Response(status=answers.pop(0) if answers else 200)

    app = web.Application()
    app.router.add_post("/hook", take)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/hook", got


async def test_updates_reach_the_webhook_in_order_with_the_secret_and_failed_ones_are_retried():
    runner, url, got = await receiver([500])
    try:
        async with FakeBotApi(local=True, deliver_webhooks=True) as api, make_bot(api) as bot:
            first = api.push_update({"message": {"text": "one"}})
            second = api.push_update({"message": {"text": "two"}})
            await bot.set_webhook(url, secret_token="s3cret")
            async with asyncio.timeout(10):
                while len(api.delivered) < 2:
                    await asyncio.sleep(0.02)
            info = await bot.get_webhook_info()
    finally:
        await runner.cleanup()
    assert [update for update, _ in got] == [first, first, second]  # the 500 kept it, then it went through
    assert {secret for _, secret in got} == {"s3cret"}
    assert api.delivered == [first, second] and info.pending_update_count == 0


async def test_telegram_itself_refuses_an_http_webhook():
    async with FakeBotApi() as api, make_bot(api) as bot:
        with pytest.raises(BadRequest, match="(?i)https url must be provided"):
            await bot.set_webhook("http://127.0.0.1:9/hook")
