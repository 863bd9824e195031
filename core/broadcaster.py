"""Sends a confirmed broadcast to every user who has not blocked the bot, in batches, within Telegram's
limits (the messenger paces sends). The cursor and counts are stored after each batch, so a restart
resumes where it stopped (at most one batch may be sent twice). The admin sees progress.

A broadcast is bulk traffic (``ports.budgets.bulk_sending``): the pace gives it only what interactive traffic
leaves, never the burst, so users' replies and results keep their share. Up to ``PARALLEL`` sends of a batch
are in flight at once, so the Bot API's latency does not keep a broadcast below the configured pace."""

from __future__ import annotations

import asyncio
import logging

from core.context import Services
from core.i18n import Fmt
from core.views.admin import render_broadcast_progress
from ports.admin import Broadcast, BroadcastState
from ports.budgets import bulk_sending
from ports.effects import (
    EditScreen,
    Effect,
    Messenger,
    MessengerUnavailableError,
    RecipientBlockedError,
    ResultKind,
    SendFile,
    SendScreen,
)
from ports.screens import Screen

log = logging.getLogger(__name__)

BATCH = 25
PARALLEL = 4


class Broadcaster:
    def __init__(self, services: Services, messenger: Messenger, batch: int = BATCH) -> None:
        self._services, self._messenger, self._batch = services, messenger, batch
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, broadcast_id: str, progress: tuple[int, int] | None = None) -> None:
        """``progress``: (chat, message) of the admin's message to edit as batches go out."""
        running = self._tasks.get(broadcast_id)
        if running is None or running.done():
            self._tasks[broadcast_id] = asyncio.create_task(self._run(broadcast_id, progress), name=f"bc-{broadcast_id}")

    async def resume(self) -> int:
        sending = await self._services.storage.broadcasts.sending()
        for broadcast in sending:
            self.start(broadcast.id)
        return len(sending)

    async def stop(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()

    async def wait_idle(self) -> None:
        await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def _run(self, broadcast_id: str, progress: tuple[int, int] | None) -> None:
        storage, clock = self._services.storage, self._services.clock
        bulk_sending.set(True)  # this task's context only
        try:
            while True:
                broadcast = await storage.broadcasts.get(broadcast_id)
                if broadcast is None or broadcast.state is not BroadcastState.SENDING:
                    return
                recipients = await storage.broadcasts.recipients(broadcast.cursor, self._batch)
                if not recipients:
                    await storage.broadcasts.finish(broadcast_id, BroadcastState.DONE, clock.now())
                    await self._report(broadcast_id, progress, final=True)
                    log.info("BROADCAST_DONE", extra={"broadcast": broadcast_id})
                    return
                counts = await self._send_batch(broadcast, recipients)
                await storage.broadcasts.advance(broadcast_id, recipients[-1], *counts, clock.now())
                await self._report(broadcast_id, progress, final=False)
        except asyncio.CancelledError:
            raise
        except Exception:  # worker loop boundary: the next resume continues from the stored cursor
            log.exception("EXCEPTION_CAUGHT", extra={"broadcast": broadcast_id, "error_type": "broadcaster"})

    async def _send_batch(self, broadcast: Broadcast, recipients: list[int]) -> tuple[int, int, int]:
        outcomes: list[str] = []
        slots = asyncio.Semaphore(PARALLEL)

        async def send(user_id: int) -> None:
            async with slots:
                try:
                    await self._messenger.apply([self._message(broadcast, user_id)])
                    outcomes.append("delivered")
                except RecipientBlockedError:
                    outcomes.append("blocked")
                    await self._services.storage.users.set_blocked(user_id, True)
                except MessengerUnavailableError:
                    outcomes.append("failed")

        await asyncio.gather(*(send(user_id) for user_id in recipients))
        return outcomes.count("delivered"), outcomes.count("failed"), outcomes.count("blocked")

    @staticmethod
    def _message(broadcast: Broadcast, user_id: int) -> Effect:
        if broadcast.photo_file_id:
            return SendFile(user_id, ResultKind.PHOTO, broadcast.photo_file_id, broadcast.text)
        return SendScreen(user_id, Screen(broadcast.text, (), "broadcast"))

    async def _report(self, broadcast_id: str, progress: tuple[int, int] | None, final: bool) -> None:
        broadcast = await self._services.storage.broadcasts.get(broadcast_id)
        if broadcast is None:
            return
        settings = self._services.settings
        screen = render_broadcast_progress(Fmt(settings.default_language, settings.prices.currency), broadcast)
        effect: Effect | None = None
        if progress is not None:
            effect = EditScreen(progress[0], progress[1], screen)
        elif final:
            effect = SendScreen(broadcast.admin_id, screen)
        if effect is None:
            return
        try:
            await self._messenger.apply([effect])
        except (MessengerUnavailableError, RecipientBlockedError) as error:
            log.info("BROADCAST_PROGRESS_NOT_SHOWN", extra={"broadcast": broadcast_id, "error": type(error).__name__})
