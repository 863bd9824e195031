"""Several instances on one PostgreSQL database, every one of them processing (issue #17).

An instance takes its share of the inbox by claiming updates (adapters/storage/postgres/claims.py: one head
per chat at a time, under a lease), and drives the jobs whose lease it holds (core/job_leases.py). New work
wakes it at once: the inbox's insert trigger NOTIFYs ``trt_inbox`` and a KIE callback heard by another
instance NOTIFYs ``trt_jobs`` with the job's id; one dedicated connection LISTENs to both
(adapters/storage/postgres/listener.py). A slow poll of the inbox is the fallback, and what takes over the
updates of an instance that died (claims.py: its claims end a few seconds after its sessions did).

The leader lock stays for what must run once: getUpdates polling or setting the webhook, the sweeper (jobs
nobody drives, broadcasts) and migrations (entrypoints/instance.py).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass
from typing import Callable

from adapters.storage.postgres import (
    INBOX_CHANNEL, JOBS_CHANNEL, PostgresInboxClaims, PostgresJobLeases, PostgresListener, PostgresStorage,
    PostgresWakeups,
)
from core.job_leases import LeaseKeeper
from entrypoints.dispatcher import Dispatcher
from entrypoints.inbox_claimer import InboxClaimer


@dataclass(frozen=True)
class ClusterSettings:
    # An update's claim is renewed every inbox_renew seconds. It ends when not renewed for inbox_stale seconds
    # while its owner has no session left (a process that died: claims.py), or after inbox_lease seconds without
    # renewal whatever the sessions say (a hung instance). The lease is long so that an instance starved of CPU
    # for a while (sessions open, renewals late) keeps its work rather than have it done twice.
    inbox_lease: float = 30.0
    inbox_renew: float = 2.0
    inbox_stale: float = 4.0
    job_lease: float = 60.0  # the same for a job
    job_renew: float = 10.0
    job_stale: float = 25.0
    poll_seconds: float = 1.0  # the fallback look at the inbox when nothing woke the claimer
    room_per_worker: int = 4  # claim at most WORKERS x this updates ahead of processing them


def lease_owner(instance_id: str) -> str:
    """This process's name on its leases and its LISTEN connection's application_name: the instance id (what
    PostgreSQL keeps of it: printable ASCII, 50 characters) and a random suffix, so a restarted process with
    the same id never mistakes the leases of its dead predecessor for its own."""
    name = re.sub(r"[^A-Za-z0-9._:-]", "_", instance_id)[:50] or "instance"
    return f"{name}/{secrets.token_hex(4)}"


class Cluster:
    def __init__(self, storage: PostgresStorage, dsn: str, owner: str, settings: ClusterSettings | None = None) -> None:
        self.settings = settings = settings or ClusterSettings()
        self.owner = owner
        db = storage.database
        self.inbox_claims = PostgresInboxClaims(db, owner, settings.inbox_lease, settings.inbox_stale)
        self.job_leases = LeaseKeeper(
            PostgresJobLeases(db, owner, settings.job_lease, settings.job_stale), PostgresWakeups(db),
            every=settings.job_renew,
        )
        self._dsn = dsn
        self.claimer: InboxClaimer | None = None
        self.listener: PostgresListener | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def wake(self, reason: str) -> None:
        """The dispatcher's ``wake``: an update was stored or done here."""
        if self.claimer is not None:
            self.claimer.wake(reason)

    def start(self, dispatcher: Dispatcher, workers: int, wake_job: Callable[[str], None]) -> None:
        """Claim into ``dispatcher`` and listen; ``wake_job``: the runner's wake (a callback heard elsewhere)."""
        settings = self.settings
        capacity = workers * settings.room_per_worker
        claimer = self.claimer = InboxClaimer(
            self.inbox_claims, dispatcher.take, lambda: capacity - dispatcher.pending,
            poll_seconds=settings.poll_seconds, renew_seconds=settings.inbox_renew,
        )
        self.listener = PostgresListener(
            self._dsn, {INBOX_CHANNEL: lambda _: claimer.wake("notify"), JOBS_CHANNEL: wake_job},
            on_connect=lambda: claimer.wake("connect"), application_name=self.owner,
        )
        dispatcher.processing = True
        claimer.wake("start")  # whatever is already waiting, at once
        self._tasks = [
            asyncio.create_task(self.listener.run(), name="listen"),
            asyncio.create_task(claimer.run(), name="inbox-claimer"),
            asyncio.create_task(claimer.keep_leases(), name="inbox-leases"),
        ]

    async def stop_claiming(self) -> None:
        """Stop taking new updates (the claims held are kept, and renewed, until ``release``)."""
        for task in self._tasks[:2]:
            task.cancel()
        await asyncio.gather(*self._tasks[:2], return_exceptions=True)

    async def abandon(self) -> None:
        """Stop claiming and renewing, giving nothing back: what a process killed with -9 leaves behind (its
        claims end ``inbox_stale`` seconds after their last renewal, its sessions being gone). For tests."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def release(self) -> None:
        """After the dispatcher stopped: stop renewing and give back what was not done."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self.claimer is not None:
            await self.claimer.release()
