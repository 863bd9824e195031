"""Webhook delivery, as Telegram does it once ``setWebhook`` is set: each queued update is POSTed as JSON to
the webhook URL with the ``X-Telegram-Bot-Api-Secret-Token`` header, one at a time and in order; a 2xx answer
delivers it (it leaves the queue), anything else keeps it and it is tried again after a growing pause
(``last_error_message`` in getWebhookInfo says why). Off unless the server was made with
``deliver_webhooks=True`` (the tests that post to the bot themselves keep it off)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from adapters.telegram.fake_bot_api.state import BotState

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
FIRST_RETRY_S = 0.5
MAX_RETRY_S = 8.0


class WebhookDelivery(BotState):
    async def _deliver_forever(self) -> None:
        retry = FIRST_RETRY_S
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
            while True:
                webhook = self.webhook
                if webhook is None or not self._updates:
                    self._delivery_wakeup.clear()
                    await self._delivery_wakeup.wait()
                    continue
                update = self._updates[0]
                error = await self._post(http, webhook, update)
                if error is None:
                    if self._updates and self._updates[0] is update:
                        self._updates.pop(0)
                    self.delivered.append(update)
                    retry = FIRST_RETRY_S
                    continue
                self.webhook_error = (int(time.time()), error)
                self._delivery_wakeup.clear()
                try:  # a new setWebhook (or a push) tries again at once
                    await asyncio.wait_for(self._delivery_wakeup.wait(), retry)
                except asyncio.TimeoutError:
                    pass
                retry = min(retry * 2, MAX_RETRY_S)

    async def _post(self, http: aiohttp.ClientSession, webhook: dict[str, Any], update: dict[str, Any]) -> str | None:
        """None when the webhook took the update; else the error Telegram would report."""
        headers = {SECRET_HEADER: webhook["secret_token"]} if webhook.get("secret_token") else {}
        try:
            async with http.post(webhook["url"], json=update, headers=headers) as response:
                if 200 <= response.status < 300:
                    return None
                return f"Wrong response from the webhook: {response.status} {response.reason}"
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            return f"Connection failed: {type(error).__name__}"
