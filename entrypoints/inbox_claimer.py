"""Brings inbox updates claimed in storage into this instance's dispatcher (several instances, one database).

One loop claims: it sleeps until woken (``wake``: an update stored here, a NOTIFY from another instance's
insert, an update done here, the listener reconnected) or until ``poll_seconds`` pass (the slow fallback, which
also takes over the updates of an instance that died: their leases expire). Wakes that come while a claim is
running are folded into one more claim. It claims no more than ``room()`` updates (what this instance is ready
to take on), so a busy instance leaves new chats to the others. A second loop renews the leases of the updates
claimed here, every ``renew_seconds``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Callable

from entrypoints.telemetry import exception_caught
from ports.claims import InboxClaims
from ports.storage import InboxUpdate, StorageError

log = logging.getLogger(__name__)


class InboxClaimer:
    def __init__(
        self,
        claims: InboxClaims,
        take: Callable[[list[InboxUpdate]], None],
        room: Callable[[], int],
        *,
        poll_seconds: float = 2.0,
        renew_seconds: float = 3.0,
    ) -> None:
        self._claims, self._take, self._room = claims, take, room
        self.poll_seconds, self.renew_seconds = poll_seconds, renew_seconds
        self._woken = asyncio.Event()
        self.wakes: Counter[str] = Counter()  # why the claimer was woken: intake, notify, done, connect, poll
        self.claimed = 0  # updates claimed by this instance since start

    def wake(self, reason: str = "notify") -> None:
        self.wakes[reason] += 1
        self._woken.set()

    async def run(self) -> None:
        """Claim whenever woken or every ``poll_seconds``, until cancelled."""
        while True:
            try:
                await asyncio.wait_for(self._woken.wait(), self.poll_seconds)
            except TimeoutError:
                self.wakes["poll"] += 1
            self._woken.clear()
            room = self._room()
            if room <= 0:
                continue  # woken again when an update is done here
            try:
                items = await self._claims.claim(room)
            except StorageError as error:  # the worker loop survives; the poll tries again
                exception_caught(error, stage="inbox_claim")
                continue
            if items:
                self.claimed += len(items)
                self._take(items)
                if len(items) == room:
                    self._woken.set()  # there may be more: look again once room is made

    async def keep_leases(self) -> None:
        while True:
            await asyncio.sleep(self.renew_seconds)
            try:
                await self._claims.renew()
            except StorageError as error:
                exception_caught(error, stage="inbox_lease_renew")

    async def release(self) -> None:
        """Give back what was claimed here and not done (stopping): the others take it at once."""
        try:
            released = await self._claims.release()
        except StorageError as error:  # the leases expire by themselves
            exception_caught(error, stage="inbox_release")
            return
        if released:
            log.info("INBOX_RELEASED", extra={"updates": released})
