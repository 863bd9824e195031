"""/health's ``inbox_depth``: how many updates the inbox holds unprocessed, read from storage every few
seconds, never kept by counting in memory (a count drifts: updates stored by another instance, a sweeper read
that crossed a "done", a restart).

``Inbox.depth`` is cheap on both storages: PostgreSQL counts on the partial index ``inbox_pending``
(``WHERE done_at IS NULL``), the JSON inbox is a ``len`` of its in-memory document. /health answers the
latest reading from memory, so a slow or unavailable database never slows the health check.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

from ports.storage import Inbox, StorageUnavailableError

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class InboxGauge:
    def __init__(self, inbox: Inbox, every: float = 5.0, sleep: Sleep = asyncio.sleep) -> None:
        self._inbox, self._every, self._sleep = inbox, every, sleep
        self.value = 0  # the latest reading

    async def refresh(self) -> int:
        self.value = await self._inbox.depth()
        return self.value

    async def run(self) -> None:
        """Refresh forever (an owned task, cancelled on shutdown); a failed read keeps the last value."""
        while True:
            try:
                await self.refresh()
            except StorageUnavailableError as error:
                log.warning("INBOX_DEPTH_UNKNOWN error=%s", type(error).__name__)
            await self._sleep(self._every)
