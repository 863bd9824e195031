"""ports.claims on PostgreSQL: leases on inbox rows and jobs (``claimed_by``, ``lease_until``, migration 0011).

Lease times come from the database server's clock (``clock_timestamp()``), so instances whose host clocks
disagree never cut each other's leases short.

Inbox. ``claim`` is one statement: the head of every chat's pending updates (DISTINCT ON chat_id; an update
without a chat is its own head), kept only when nobody holds a live lease on it, locked ``FOR UPDATE SKIP
LOCKED`` (two instances claiming at once take different rows, never the same one) and stamped with our name
and a lease. A row locked by a concurrent claim is skipped; one whose lease was renewed or which was done
since our snapshot is re-checked under its lock (PostgreSQL re-evaluates the conditions on the newest row
version) and dropped. Because only heads are claimable, a chat's second update cannot be claimed until its
first is done: one chat's updates are processed one at a time and in order across every instance.

A lease ends in one of two ways: its time runs out (``lease_until``: a hung instance, alive but not renewing),
or its holder is gone: no session of the database carries the owner's name as its ``application_name`` (each
instance's LISTEN connection does, listener.py) and the lease was not renewed for ``stale_after`` seconds (a
little over the renewal period). A process killed with -9 loses its sessions at once, so its work is taken over
within seconds rather than after the whole lease; an instance whose LISTEN connection is only reconnecting
keeps renewing through its pool and keeps its work.

Order holds for updates in the order they were stored: two updates of one chat committed by different
instances in the reverse of their update ids are seen in commit order (Telegram sends one update at a
time per chat in practice, waiting for each acknowledgement).
"""

from __future__ import annotations

from collections.abc import Collection

from adapters.storage.postgres import codec
from adapters.storage.postgres.db import Database
from ports.storage import InboxUpdate, JobState

INBOX_CHANNEL = "trt_inbox"  # migration 0011's trigger notifies it after every stored update
JOBS_CHANNEL = "trt_jobs"  # payload: a job id whose driver should look at it now

_LEASE = "clock_timestamp() + make_interval(secs => $2::float8)"
# $2: the lease's length, $4: stale_after (both seconds). Not renewed for stale_after = lease_until before now + $2 - $4.
_ENDED = """(
    claimed_by IS NULL OR lease_until IS NULL OR lease_until < clock_timestamp()
    OR (lease_until < clock_timestamp() + make_interval(secs => $2::float8 - $4::float8)
        AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = claimed_by))
)"""

CLAIM_INBOX = f"""
    WITH heads AS (
        SELECT DISTINCT ON (chat_id) update_id FROM inbox
        WHERE done_at IS NULL AND chat_id IS NOT NULL
        ORDER BY chat_id, update_id
    ), free AS (
        SELECT update_id FROM inbox
        WHERE done_at IS NULL AND {_ENDED}
          AND (chat_id IS NULL OR update_id IN (SELECT update_id FROM heads))
        ORDER BY update_id
        LIMIT $3
        FOR UPDATE SKIP LOCKED
    )
    UPDATE inbox i SET claimed_by = $1, lease_until = {_LEASE}
    FROM free WHERE i.update_id = free.update_id
    RETURNING i.update_id, i.payload, i.received_at, i.chat_id, i.cid
"""
RENEW_INBOX = f"UPDATE inbox SET lease_until = {_LEASE} WHERE claimed_by = $1 AND done_at IS NULL"
RELEASE_INBOX = "UPDATE inbox SET claimed_by = NULL, lease_until = NULL WHERE claimed_by = $1 AND done_at IS NULL"
NOTIFY = "SELECT pg_notify($1, $2)"

ACQUIRE_JOB = f"""
    UPDATE jobs SET claimed_by = $1, lease_until = {_LEASE}
    WHERE id = $3 AND (claimed_by = $1 OR {_ENDED})
    RETURNING id
"""
RENEW_JOBS = f"UPDATE jobs SET lease_until = {_LEASE} WHERE claimed_by = $1 AND id = ANY($3::text[]) RETURNING id"
RELEASE_JOB = "UPDATE jobs SET claimed_by = NULL, lease_until = NULL WHERE id = $2 AND claimed_by = $1"
ORPHAN_JOBS = f"""
    SELECT id FROM jobs WHERE state = ANY($1::text[]) AND {_ENDED}
    ORDER BY created_at, seq LIMIT $3
"""


def _affected(status: str) -> int:
    return int(status.split()[-1])


OWNER_MAX = 63  # PostgreSQL keeps 63 bytes of an application_name


def _checked(owner: str, lease_seconds: float, stale_after: float | None) -> float:
    """The checked ``stale_after`` (default 0.45 of the lease: just over one renewal, made every third of it)."""
    if not owner or len(owner) > OWNER_MAX or not owner.isascii() or not owner.isprintable():
        raise ValueError(f"a lease owner is named by 1 to {OWNER_MAX} printable ASCII characters")
    if lease_seconds <= 0:
        raise ValueError("a lease lasts a positive number of seconds")
    stale_after = lease_seconds * 0.45 if stale_after is None else stale_after
    if not 0 < stale_after <= lease_seconds:
        raise ValueError("stale_after is positive and no longer than the lease")
    return float(stale_after)


class PostgresInboxClaims:
    """ports.claims.InboxClaims for ``owner`` (one per process); leases last ``lease_seconds`` and are renewed
    more often than every ``stale_after`` seconds (see the module's docstring)."""

    def __init__(self, db: Database, owner: str, lease_seconds: float = 10.0, stale_after: float | None = None) -> None:
        self.stale_after = _checked(owner, lease_seconds, stale_after)
        self._db, self.owner, self.lease_seconds = db, owner, float(lease_seconds)

    async def claim(self, limit: int) -> list[InboxUpdate]:
        async with self._db.connection() as conn:
            rows = await conn.fetch(
                CLAIM_INBOX, self.owner, self.lease_seconds, codec.count(limit), self.stale_after)
        return sorted((codec.update(row) for row in rows), key=lambda update: update.update_id)

    async def renew(self) -> int:
        async with self._db.connection() as conn:
            return _affected(await conn.execute(RENEW_INBOX, self.owner, self.lease_seconds))

    async def release(self) -> int:
        async with self._db.connection() as conn:
            released = _affected(await conn.execute(RELEASE_INBOX, self.owner))
            if released:  # the others take them over now rather than at their next poll
                await conn.execute(NOTIFY, INBOX_CHANNEL, "")
        return released


class PostgresJobLeases:
    """ports.claims.JobLeases for ``owner`` (one per process); leases last ``lease_seconds`` and are renewed
    more often than every ``stale_after`` seconds (see the module's docstring)."""

    def __init__(self, db: Database, owner: str, lease_seconds: float = 30.0, stale_after: float | None = None) -> None:
        self.stale_after = _checked(owner, lease_seconds, stale_after)
        self._db, self.owner, self.lease_seconds = db, owner, float(lease_seconds)

    async def acquire(self, job_id: str) -> bool:
        async with self._db.connection() as conn:
            row = await conn.fetchval(ACQUIRE_JOB, self.owner, self.lease_seconds, job_id, self.stale_after)
        return row is not None

    async def renew(self, job_ids: Collection[str]) -> set[str]:
        if not job_ids:
            return set()
        async with self._db.connection() as conn:
            rows = await conn.fetch(RENEW_JOBS, self.owner, self.lease_seconds, list(job_ids))
        return {row["id"] for row in rows}

    async def release(self, job_id: str) -> None:
        async with self._db.connection() as conn:
            await conn.execute(RELEASE_JOB, self.owner, job_id)

    async def orphans(self, states: Collection[JobState], limit: int = 1000) -> list[str]:
        async with self._db.connection() as conn:
            rows = await conn.fetch(ORPHAN_JOBS, [state.value for state in states], self.lease_seconds,
                                    codec.count(limit), self.stale_after)
        return [row["id"] for row in rows]


class PostgresWakeups:
    """ports.claims.Wakeups over NOTIFY on JOBS_CHANNEL (heard by adapters/storage/postgres/listener.py)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def wake_job(self, job_id: str) -> None:
        async with self._db.connection() as conn:
            await conn.execute(NOTIFY, JOBS_CHANNEL, job_id)
