"""The generation job's life, decided once: which state may follow which. The job runner moves jobs only
through ``transition``, which the storage applies as a compare-and-set (ports.storage.Jobs.transition):
of two racing events on one job, one wins and the other gets None.

    CREATED ─▶ SUBMITTED ─▶ RUNNING ─▶ SUCCEEDED ─▶ DELIVERED
       │           │           │           │
       └───────────┴─────┬─────┴───────────┘ (a success whose result can never be delivered fails)
                         ▼
               FAILED | TIMED_OUT ─▶ REFUNDED (core/cashier.refund_job: the price back, exactly once)
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from ports.model import Job, JobState
from ports.storage import Storage

S = JobState
TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    S.CREATED: frozenset({S.SUBMITTED, S.FAILED}),
    S.SUBMITTED: frozenset({S.RUNNING, S.SUCCEEDED, S.FAILED, S.TIMED_OUT}),
    S.RUNNING: frozenset({S.SUCCEEDED, S.FAILED, S.TIMED_OUT}),
    S.SUCCEEDED: frozenset({S.DELIVERED, S.FAILED}),
    S.FAILED: frozenset({S.REFUNDED}),
    S.TIMED_OUT: frozenset({S.REFUNDED}),
    S.DELIVERED: frozenset(),
    S.REFUNDED: frozenset(),
}


def sources(to: JobState) -> frozenset[JobState]:
    """The states a job may come to ``to`` from."""
    return frozenset(state for state, following in TRANSITIONS.items() if to in following)


def allowed(to: JobState, from_: Collection[JobState] | None = None) -> frozenset[JobState]:
    """``from_`` (default: every source of ``to``), refused when it names a move the table does not allow."""
    everything = sources(to)
    if from_ is None:
        return everything
    wanted = frozenset(JobState(state) for state in from_)
    if not wanted <= everything:
        moves = ", ".join(sorted(f"{state.value} -> {to.value}" for state in wanted - everything))
        raise ValueError(f"not a job transition: {moves}")
    return wanted


async def transition(
    storage: Storage, job_id: str, to: JobState, from_: Collection[JobState] | None = None, **changes: Any
) -> Job | None:
    """Move the job to ``to`` from ``from_`` (checked against TRANSITIONS), changing ``changes``; the new
    job, or None when it is in another state (a duplicate or late event)."""
    return await storage.jobs.transition(job_id, allowed(to, from_), to, **changes)
