"""Getting updates: getUpdates (long polling, offsets, ``allowed_updates``, one poller at a time) and the
webhook methods (setWebhook, deleteWebhook, getWebhookInfo). Updates are queued by
:meth:`FakeBotApi.push_update <adapters.telegram.fake_bot_api.server.FakeBotApi.push_update>`."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from adapters.telegram.fake_bot_api.models import TERMINATED, WEBHOOK_ACTIVE, ApiError, Poll, UploadedFile
from adapters.telegram.fake_bot_api.state import BotState

DEFAULT_EXCLUDED = {"chat_member", "message_reaction", "message_reaction_count"}  # unless allowed_updates asks


class UpdateMethods(BotState):
    async def _set_webhook(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        url = params.get("url", "")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        if "allowed_updates" in params:
            self._allowed = list(params["allowed_updates"] or [])
        if not url:
            self.webhook = None
            return True
        if not url.startswith("https://") and not (self.local and url.startswith("http://")):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook_error = None
        self.webhook = {"url": url, "secret_token": params.get("secret_token"),
                        "max_connections": params.get("max_connections", 40), "allowed_updates": list(self._allowed)}
        self._wake_polls()
        return True

    async def _delete_webhook(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        info: dict[str, Any] = {"url": "", "has_custom_certificate": False, "pending_update_count": len(self._updates)}
        if self.webhook is not None:
            info.update(url=self.webhook["url"], max_connections=self.webhook["max_connections"])
            if self.webhook_error is not None:
                info.update(last_error_date=self.webhook_error[0], last_error_message=self.webhook_error[1])
            if self._allowed:
                info["allowed_updates"] = list(self._allowed)
        return info

    async def _get_updates(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        if self.webhook is not None:
            raise ApiError(409, WEBHOOK_ACTIVE)
        for other in self._polls:  # the newest poll wins, as in Telegram
            other.terminated = True
            other.wakeup.set()
        offset = params.get("offset")
        if isinstance(offset, int) and offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif isinstance(offset, int) and offset < 0:
            self._updates = self._updates[offset:]
        if "allowed_updates" in params:
            self._allowed = list(params["allowed_updates"] or [])
        limit = min(max(int(params.get("limit", 100)), 1), 100)
        deadline = time.monotonic() + max(int(params.get("timeout", 0)), 0)
        poll = Poll()
        self._polls.append(poll)
        try:
            while True:
                if poll.terminated:
                    raise ApiError(409, TERMINATED)
                if self.webhook is not None:
                    raise ApiError(409, WEBHOOK_ACTIVE)
                remaining = deadline - time.monotonic()
                if self._updates or remaining <= 0:
                    return self._updates[:limit]
                poll.wakeup.clear()
                try:
                    await asyncio.wait_for(poll.wakeup.wait(), remaining)
                except asyncio.TimeoutError:
                    pass
        finally:
            self._polls.remove(poll)
