"""/health's ``inbox_depth``: how many updates the inbox holds unprocessed, read from storage every few
seconds, never kept by counting in memory (a count drifts: updates stored by another instance, a sweeper read
that crossed a "done", a restart).

``Inbox.depth`` is cheap on both storages: PostgreSQL counts on the partial index ``inbox_pending``
(``WHERE done_at IS NULL``), the JSON inbox is a ``len`` of its in-memory document. /health answers the
latest reading from memory, so a slow or unavailable database never slows the health check. The same gauge
reads the outbox's depth (messages committed and not yet sent) for /metrics.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable, Protocol

from ports.storage import StorageUnavailableError

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class Counted(Protocol):
    """The inbox or the outbox: each counts what waits in it."""

    async def depth(self) -> int: ...


class InboxGauge:
    def __init__(self, inbox: Counted, every: float = 5.0, sleep: Sleep = asyncio.sleep, name: str = "INBOX") -> None:
        self._inbox, self._every, self._sleep, self._name = inbox, every, sleep, name
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
                log.warning("%s_DEPTH_UNKNOWN error=%s", self._name, type(error).__name__)
            await self._sleep(self._every)
