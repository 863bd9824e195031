"""The job runner of an instance sharing its database with others (entrypoints/cluster.py).

A job is driven (submitted, polled, delivered or refunded) only by the instance holding its lease
(core/job_leases.py), so two instances never submit it twice or finish it side by side. The lease is
checked again right before a result is sent: a job is sent twice only when its driver dies between
sending and marking it delivered (the same crash window as one process restarting). A refund is a
compare-and-set with an idempotency key, so it happens at most once whoever tries. A KIE callback that
reaches an instance not driving the job nudges the driver (NOTIFY) instead of settling it there; when
nobody drives the job, the instance that heard the callback takes it on.
"""

from __future__ import annotations

import logging

from core.context import Services
from core.job_leases import LeaseKeeper
from core.job_runner import FINISHING_STATES, JobRunner, RunnerSettings
from ports.outbox import OutboxWaker
from ports.effects import Messenger
from ports.model import ACTIVE_JOB_STATES, Job

log = logging.getLogger(__name__)


class SharedJobRunner(JobRunner):
    def __init__(
        self, services: Services, messenger: Messenger, settings: RunnerSettings | None, leases: LeaseKeeper, *,
        sender: OutboxWaker,
    ) -> None:
        super().__init__(services, messenger, settings, sender=sender)
        self.leases = leases
        leases.on_lost = self._lease_lost

    async def resume(self) -> int:
        """Drive the unfinished jobs no instance drives (their driver died or gave them back)."""
        ids = await self.leases.orphans(ACTIVE_JOB_STATES | FINISHING_STATES) or []
        for job_id in ids:
            self.start(job_id)
        return len(ids)

    async def on_task_event(self, task_id: str) -> bool:
        job = await self._services.storage.jobs.find_by_task(task_id)
        if job is None:
            return False
        if job.id in self._tasks:
            self._wake(job.id)  # driven here: its poller looks now
        else:
            self.start(job.id)  # driven here from now on, or the driver elsewhere is nudged (_drive)
        return True

    def wake(self, job_id: str) -> None:
        """Another instance heard KIE's callback for a job driven here: look at it now."""
        self._wake(job_id)

    async def stop(self, grace: float = 0.0) -> None:
        await super().stop(grace)
        await self.leases.stop()  # whatever is still held goes back at once

    async def _drive(self, job_id: str) -> None:
        try:
            taken = await self.leases.take(job_id)
            if not taken:
                await self.leases.nudge(job_id)  # another instance drives it: make it look now
        except Exception:  # worker loop boundary: the next sweep tries again
            log.exception("EXCEPTION_CAUGHT", extra={"job": job_id, "error_type": "job_lease"})
            return
        if not taken:
            return
        try:
            await super()._drive(job_id)
        finally:
            await self.leases.give_back(job_id)

    async def _deliver(self, job: Job) -> None:
        if not await self.leases.still_ours(job.id):
            return  # another instance took the job over and delivers it
        await super()._deliver(job)

    def _lease_lost(self, job_id: str) -> None:
        """Another instance drives the job now: stop here, unless a delivery is under way (cutting it between
        "sent" and "marked delivered" would send the result twice)."""
        task = self._tasks.get(job_id)
        if task is not None and job_id not in self._finishing:
            task.cancel()
