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
_EXPIRED = "(lease_until IS NULL OR lease_until < clock_timestamp())"

CLAIM_INBOX = f"""
    WITH heads AS (
        SELECT DISTINCT ON (chat_id) update_id FROM inbox
        WHERE done_at IS NULL AND chat_id IS NOT NULL
        ORDER BY chat_id, update_id
    ), free AS (
        SELECT update_id FROM inbox
        WHERE done_at IS NULL AND {_EXPIRED}
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
    WHERE id = $3 AND (claimed_by IS NULL OR claimed_by = $1 OR lease_until < clock_timestamp())
    RETURNING id
"""
RENEW_JOBS = f"UPDATE jobs SET lease_until = {_LEASE} WHERE claimed_by = $1 AND id = ANY($3::text[]) RETURNING id"
RELEASE_JOB = "UPDATE jobs SET claimed_by = NULL, lease_until = NULL WHERE id = $2 AND claimed_by = $1"
ORPHAN_JOBS = f"""
    SELECT id FROM jobs WHERE state = ANY($1::text[]) AND (claimed_by IS NULL OR lease_until < clock_timestamp())
    ORDER BY created_at, seq LIMIT $2
"""


def _affected(status: str) -> int:
    return int(status.split()[-1])


def _checked(owner: str, lease_seconds: float) -> None:
    if not owner:
        raise ValueError("a lease owner needs a name")
    if lease_seconds <= 0:
        raise ValueError("a lease lasts a positive number of seconds")


class PostgresInboxClaims:
    """ports.claims.InboxClaims for ``owner`` (one per process); leases last ``lease_seconds``."""

    def __init__(self, db: Database, owner: str, lease_seconds: float = 10.0) -> None:
        _checked(owner, lease_seconds)
        self._db, self.owner, self.lease_seconds = db, owner, float(lease_seconds)

    async def claim(self, limit: int) -> list[InboxUpdate]:
        async with self._db.connection() as conn:
            rows = await conn.fetch(CLAIM_INBOX, self.owner, self.lease_seconds, codec.count(limit))
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
    """ports.claims.JobLeases for ``owner`` (one per process); leases last ``lease_seconds``."""

    def __init__(self, db: Database, owner: str, lease_seconds: float = 30.0) -> None:
        _checked(owner, lease_seconds)
        self._db, self.owner, self.lease_seconds = db, owner, float(lease_seconds)

    async def acquire(self, job_id: str) -> bool:
        async with self._db.connection() as conn:
            return await conn.fetchval(ACQUIRE_JOB, self.owner, self.lease_seconds, job_id) is not None

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
            rows = await conn.fetch(ORPHAN_JOBS, [state.value for state in states], codec.count(limit))
        return [row["id"] for row in rows]


class PostgresWakeups:
    """ports.claims.Wakeups over NOTIFY on JOBS_CHANNEL (heard by adapters/storage/postgres/listener.py)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def wake_job(self, job_id: str) -> None:
        async with self._db.connection() as conn:
            await conn.execute(NOTIFY, JOBS_CHANNEL, job_id)
