"""Leases on inbox updates and jobs in PostgreSQL (adapters/storage/postgres/claims.py): what two instances
("owners") on one database may take, and what they may take over."""

from __future__ import annotations

from core import cashier

import asyncio
from datetime import datetime, timedelta, timezone

import asyncpg
import pytest

from adapters.storage.postgres.claims import PostgresInboxClaims, PostgresJobLeases
from ports.events import UserRef
from ports.storage import InboxUpdate, Job, JobState
from tests.pg import open_pg, session_database

NOW = datetime(2026, 1, 14, 7, 0, tzinfo=timezone.utc)


def update(update_id: int, chat_id: int | None) -> InboxUpdate:
    return InboxUpdate(update_id, {"update_id": update_id}, NOW, chat_id, f"cid-{update_id}")


async def put_all(storage, *updates: tuple[int, int | None]) -> None:
    for update_id, chat_id in updates:
        assert await storage.inbox.put(update(update_id, chat_id))


async def expire(storage, table: str) -> None:
    """As if every lease's time had run out (its holder stopped renewing it)."""
    async with storage.pool.acquire() as conn:
        await conn.execute(f"UPDATE {table} SET lease_until = clock_timestamp() - interval '1 second'")


def ids(updates: list[InboxUpdate]) -> list[int]:
    return [u.update_id for u in updates]


async def test_only_the_head_of_each_chat_is_claimed_and_a_claimed_head_is_nobody_elses():
    async with open_pg() as storage:
        a, b = PostgresInboxClaims(storage.database, "a"), PostgresInboxClaims(storage.database, "b")
        await put_all(storage, (1, 100), (2, 100), (3, 200), (4, None), (5, 100), (6, None))
        claimed = await a.claim(10)
        assert ids(claimed) == [1, 3, 4, 6]  # chat 100's second and third updates wait for its first
        assert claimed[0].payload == {"update_id": 1} and claimed[0].chat_id == 100 and claimed[0].cid == "cid-1"
        assert await b.claim(10) == []
        await storage.inbox.done(1, NOW)
        assert ids(await b.claim(10)) == [2]  # chat 100 moves on, whichever instance did update 1
        assert await a.claim(10) == []


async def test_a_claim_takes_no_more_than_its_limit_lowest_first():
    async with open_pg() as storage:
        a = PostgresInboxClaims(storage.database, "a")
        await put_all(storage, (7, 1), (5, 2), (6, 3))
        assert ids(await a.claim(2)) == [5, 6]
        assert ids(await a.claim(2)) == [7]


async def test_instances_claiming_at_once_split_the_chats_between_them():
    async with open_pg() as storage:
        await put_all(storage, *((n, n % 40) for n in range(1, 201)))
        owners = [PostgresInboxClaims(storage.database, f"o{n}") for n in range(4)]
        results = await asyncio.gather(*(owner.claim(15) for owner in owners))
        taken = [update_id for result in results for update_id in ids(result)]
        assert len(taken) == len(set(taken))  # never the same update twice
        assert sorted(taken) == list(range(1, 41))  # every chat's head, and only heads


async def test_an_expired_claim_is_taken_over_and_a_renewed_one_is_not():
    async with open_pg() as storage:
        dead, live, other = (PostgresInboxClaims(storage.database, name) for name in ("dead", "live", "other"))
        await put_all(storage, (1, 10), (2, 20))
        assert ids(await dead.claim(1)) == [1]
        assert ids(await live.claim(1)) == [2]
        await expire(storage, "inbox")
        assert await live.renew() == 1  # the live one renews; the dead one does not
        assert ids(await other.claim(10)) == [1]


async def test_a_claim_whose_owner_has_no_session_left_is_taken_over_once_it_was_not_renewed_for_a_while():
    async with open_pg() as storage:
        ghost = PostgresInboxClaims(storage.database, "ghost-1", lease_seconds=10, stale_after=4)
        other = PostgresInboxClaims(storage.database, "other", lease_seconds=10, stale_after=4)
        await put_all(storage, (1, 10))
        session = await asyncpg.connect(await session_database(), server_settings={"application_name": "ghost-1"})
        try:
            assert ids(await ghost.claim(1)) == [1]
            assert await other.claim(1) == []  # just renewed: alive whatever its sessions
            await unrenewed_for(storage, 5)
            assert await other.claim(1) == []  # its LISTEN session is there: slow, not dead
        finally:
            await session.close()
        assert ids(await other.claim(1)) == [1]  # killed: taken over


async def unrenewed_for(storage, seconds: float) -> None:
    async with storage.pool.acquire() as conn:
        await conn.execute("UPDATE inbox SET lease_until = lease_until - make_interval(secs => $1)", float(seconds))


def test_a_lease_owner_fits_an_application_name():
    for owner in ("", "x" * 64, "инстанс", "a\nb"):
        with pytest.raises(ValueError):
            PostgresInboxClaims(None, owner)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        PostgresInboxClaims(None, "a", lease_seconds=5, stale_after=6)  # type: ignore[arg-type]


async def test_released_claims_go_back_at_once_and_done_ones_stay_done():
    async with open_pg() as storage:
        a, b = PostgresInboxClaims(storage.database, "a"), PostgresInboxClaims(storage.database, "b")
        await put_all(storage, (1, 10), (2, 20))
        assert ids(await a.claim(10)) == [1, 2]
        await storage.inbox.done(1, NOW)
        assert await a.release() == 1
        assert ids(await b.claim(10)) == [2]
        assert await a.renew() == 0


def test_a_lease_needs_an_owner_and_a_positive_length():
    with pytest.raises(ValueError):
        PostgresInboxClaims(None, "", 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        PostgresJobLeases(None, "a", 0)  # type: ignore[arg-type]


# --- jobs ---------------------------------------------------------------------------------------


async def launched(storage, job_id: str, state: JobState = JobState.CREATED) -> Job:
    await cashier.ensure_user(storage, UserRef(7, first_name="T"), 1000, NOW)
    job = Job(job_id, 7, 7, "z-image", {"prompt": "p"}, 10, JobState.CREATED, NOW, NOW, NOW + timedelta(hours=1))
    stored, _ = await cashier.launch(storage, job)
    if state is not JobState.CREATED:
        stored = await storage.jobs.transition(job_id, {JobState.CREATED}, state, updated_at=NOW)
    return stored


async def test_one_job_lease_at_a_time_until_released_or_expired():
    async with open_pg() as storage:
        await launched(storage, "j1")
        a, b = PostgresJobLeases(storage.database, "a"), PostgresJobLeases(storage.database, "b")
        assert await a.acquire("j1") and await a.acquire("j1")  # ours again: still ours
        assert not await b.acquire("j1")
        await b.release("j1")  # not b's: changes nothing
        assert not await b.acquire("j1")
        await a.release("j1")
        assert await b.acquire("j1")
        await expire(storage, "jobs")
        assert await a.acquire("j1")
        assert await b.renew(["j1"]) == set()  # b lost it: the runner stops driving it
        assert await a.renew(["j1", "unknown"]) == {"j1"}


async def test_racing_acquires_of_one_job_have_one_winner():
    async with open_pg() as storage:
        await launched(storage, "j1")
        owners = [PostgresJobLeases(storage.database, f"o{n}") for n in range(6)]
        won = await asyncio.gather(*(owner.acquire("j1") for owner in owners))
        assert won.count(True) == 1


async def test_orphans_are_the_unfinished_jobs_nobody_holds():
    async with open_pg() as storage:
        for job_id in ("held", "free", "expired"):
            await launched(storage, job_id)
        await launched(storage, "delivered", JobState.SUCCEEDED)
        await storage.jobs.transition("delivered", {JobState.SUCCEEDED}, JobState.DELIVERED, updated_at=NOW)
        a, b = PostgresJobLeases(storage.database, "a"), PostgresJobLeases(storage.database, "b")
        assert await b.acquire("expired")
        await expire(storage, "jobs")
        assert await a.acquire("held")
        unfinished = {JobState.CREATED, JobState.SUBMITTED, JobState.RUNNING, JobState.SUCCEEDED}
        assert sorted(await a.orphans(unfinished)) == ["expired", "free"]
