"""Several instances on one database, all processing: a piece of work (an inbox update, a job) is done by
the instance that holds its lease. A lease is renewed while the work goes on (a heartbeat); one that is not
renewed in time (its holder died or hung) expires, and any instance may take the work over.

The owner (which instance) is bound when an implementation is built, so calls name only the work.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from ports.model import JobState
from ports.storage import InboxUpdate


class InboxClaims(Protocol):
    """Claims on pending inbox updates: one chat's updates one at a time and in order, across instances.

    Only the head of a chat's pending updates (its lowest update id) can be claimed, and only while no live
    lease is on it; so a chat's next update waits until the previous one is done, whoever processed it, and
    different chats go to whichever instances claim them first."""

    async def claim(self, limit: int) -> list[InboxUpdate]:
        """Take up to ``limit`` claimable heads (no lease, or an expired one), lowest update id first."""
        ...

    async def renew(self) -> int:
        """Extend the lease of every pending update this owner holds; how many."""
        ...

    async def release(self) -> int:
        """Give back every pending update this owner holds (graceful stop); how many."""
        ...


class JobLeases(Protocol):
    """Leases on jobs: one instance drives a job (submits, polls, delivers or refunds) at a time."""

    async def acquire(self, job_id: str) -> bool:
        """Take the job's lease if it is free, expired or already ours; False when another instance holds it."""
        ...

    async def renew(self, job_ids: Collection[str]) -> set[str]:
        """Extend the leases still ours among ``job_ids``; the ids renewed (the others were lost)."""
        ...

    async def release(self, job_id: str) -> None:
        """Give the job's lease back (done with it, or stopping). Only ours; idempotent."""
        ...

    async def orphans(self, states: Collection[JobState], limit: int = 1000) -> list[str]:
        """Ids of jobs in ``states`` that nobody holds (no lease, or an expired one), oldest first."""
        ...


class Wakeups(Protocol):
    """Cross-instance nudges: tell the instance that drives a job to look at it now (a KIE callback arrived
    at another instance)."""

    async def wake_job(self, job_id: str) -> None: ...
