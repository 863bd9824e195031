"""The job leases this process holds (ports.claims.JobLeases), renewed together by one heartbeat.

With several instances on one database, a job is driven (submitted, polled, delivered or refunded) only by
the instance holding its lease. The heartbeat renews every held lease each ``every`` seconds; a lease that
could not be renewed (another instance took the job over after this one stalled) is reported to
``on_lost``, and the runner stops driving that job. Without a port (JSON storage: one process) every job is
ours and nothing is stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection

from ports.claims import JobLeases, Wakeups
from ports.clock import Clock
from ports.model import JobState
from ports.storage import StorageError

log = logging.getLogger(__name__)


class LeaseKeeper:
    def __init__(
        self,
        leases: JobLeases | None = None,
        wakeups: Wakeups | None = None,
        *,
        clock: Clock | None = None,
        every: float = 10.0,
    ) -> None:
        self._leases, self._wakeups, self._clock, self._every = leases, wakeups, clock, every
        self.held: set[str] = set()
        self.on_lost: Callable[[str], None] = lambda job_id: None
        self._beat: asyncio.Task[None] | None = None

    @property
    def shared(self) -> bool:
        """Other instances may drive jobs too."""
        return self._leases is not None

    async def take(self, job_id: str) -> bool:
        """True when this process may drive the job (its lease is ours now)."""
        if self._leases is None:
            return True
        if not await self._leases.acquire(job_id):
            return False
        self.held.add(job_id)
        if self._beat is None or self._beat.done():
            self._beat = asyncio.create_task(self._heartbeat(), name="job-leases")
        return True

    async def give_back(self, job_id: str) -> None:
        if self._leases is None or job_id not in self.held:
            return
        self.held.discard(job_id)
        try:
            await self._leases.release(job_id)
        except StorageError as error:  # the lease expires by itself
            log.warning("JOB_LEASE_NOT_RELEASED", extra={"job": job_id, "error": type(error).__name__})

    async def still_ours(self, job_id: str) -> bool:
        """Renew one lease now and say whether it is still ours (checked right before a result is sent)."""
        if self._leases is None:
            return True
        if job_id in await self._leases.renew([job_id]):
            return True
        self._lost(job_id)
        return False

    async def orphans(self, states: Collection[JobState]) -> list[str] | None:
        """Jobs nobody drives (None without a port: the caller reads the jobs itself)."""
        return None if self._leases is None else await self._leases.orphans(states)

    async def nudge(self, job_id: str) -> None:
        """Tell whichever instance drives the job to look at it now."""
        if self._wakeups is not None:
            await self._wakeups.wake_job(job_id)

    async def stop(self) -> None:
        if self._beat is not None:
            self._beat.cancel()
            await asyncio.gather(self._beat, return_exceptions=True)
            self._beat = None
        for job_id in list(self.held):
            await self.give_back(job_id)

    async def _heartbeat(self) -> None:
        assert self._leases is not None
        while self.held:
            await (self._clock.sleep(self._every) if self._clock else asyncio.sleep(self._every))
            asked = set(self.held)
            try:
                renewed = await self._leases.renew(asked)
            except StorageError as error:  # the worker loop survives; leases may expire meanwhile
                log.warning("JOB_LEASE_RENEW_FAILED", extra={"error": type(error).__name__, "held": len(asked)})
                continue
            for job_id in asked - renewed:
                if job_id in self.held:
                    self._lost(job_id)

    def _lost(self, job_id: str) -> None:
        self.held.discard(job_id)
        log.warning("JOB_LEASE_LOST", extra={"job": job_id})
        self.on_lost(job_id)
