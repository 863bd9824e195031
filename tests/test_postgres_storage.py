"""PostgresStorage beyond the contract suite: races between processes (two pools on one database), the
schema's own guards, migrations, and how it behaves when the database is busy, slow or refusing connections.

Runs on the server tests/pg.py finds (skipped with the reason when there is none). Every test is bounded in
time by ``bounded``.
"""

from __future__ import annotations

from core import cashier
import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest

from tests.fakes import bounded

from adapters.storage.postgres import PostgresStorage, migrate
from adapters.storage.postgres.migrations import load_migrations
from ports.events import UserRef
from ports.storage import (
    ACTIVE_JOB_STATES,
    InboxUpdate,
    InsufficientBalanceError,
    Job,
    JobState,
    StorageUnavailableError,
    UnknownUserError,
)
from tests import pg

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
USER = 42

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])




@pytest.fixture
async def storage() -> AsyncIterator[PostgresStorage]:
    async with pg.open_pg() as opened:
        yield opened


@pytest.fixture
async def other(storage: PostgresStorage) -> AsyncIterator[PostgresStorage]:
    """A second PostgresStorage on the same (emptied) database: another process, as far as PostgreSQL knows."""
    opened = await pg.open_storage()
    try:
        yield opened
    finally:
        await opened.close()


async def user_with_balance(storage: PostgresStorage, balance: int, user_id: int = USER) -> None:
    await cashier.ensure_user(storage, UserRef(id=user_id), welcome_amount=balance, now=NOW)


def make_job(job_id: str, price: int = 30) -> Job:
    return Job(
        id=job_id,
        user_id=USER,
        chat_id=USER,
        model_id="flux-kontext",
        input={"prompt": "a cat"},
        price=price,
        state=JobState.CREATED,
        created_at=NOW,
        updated_at=NOW,
        deadline_at=NOW + timedelta(minutes=10),
    )


async def sql(storage: PostgresStorage, query: str, *args: Any) -> list[asyncpg.Record]:
    async with storage.pool.acquire() as conn:
        return await conn.fetch(query, *args)


async def stuck_sessions(storage: PostgresStorage) -> list[asyncpg.Record]:
    """The runbook's query, limited to this test database."""
    return await sql(
        storage,
        "SELECT * FROM pg_stat_activity WHERE state = 'idle in transaction' AND datname = current_database()",
    )


# --- money races between two processes ----------------------------------------------------------


@bounded(30)
async def test_fifty_concurrent_debits_from_two_pools_against_25_succeed_exactly_25_times(storage, other) -> None:
    await user_with_balance(storage, 25)

    results = await asyncio.gather(
        *(cashier.debit(storage if i % 2 else other, USER, 1, f"spend:{i}", "launch", NOW) for i in range(50)),
        return_exceptions=True,
    )

    assert sum(1 for r in results if isinstance(r, InsufficientBalanceError)) == 25
    assert sum(1 for r in results if not isinstance(r, BaseException)) == 25
    assert await storage.ledger.balance(USER) == 0 == await other.ledger.balance(USER)
    entries = await storage.ledger.entries(USER, limit=1000)
    assert len(entries) == 26 and sum(entry.amount for entry in entries) == 0
    assert all(entry.balance_after >= 0 for entry in entries)
    assert sorted(entry.balance_after for entry in entries if entry.amount < 0) == list(range(25))
    [[total, lowest]] = await sql(storage, "SELECT sum(amount), min(balance_after) FROM ledger")
    assert (total, lowest) == (0, 0)


@bounded(10)
async def test_the_schema_refuses_a_negative_balance_even_from_direct_sql(storage) -> None:
    await user_with_balance(storage, 5)

    with pytest.raises(asyncpg.CheckViolationError, match="users_balance_not_negative"):
        await sql(storage, "UPDATE users SET balance = balance - 6 WHERE id = $1", USER)
    with pytest.raises(asyncpg.UniqueViolationError):
        await sql(storage, "INSERT INTO ledger (key, user_id, amount, balance_after, reason, created_at) "
                  "VALUES ($1, $2, 1, 6, 'x', now())", f"welcome:{USER}", USER)

    assert await storage.ledger.balance(USER) == 5


@bounded(30)
async def test_concurrent_launches_of_one_job_from_two_pools_charge_once(storage, other) -> None:
    await user_with_balance(storage, 100)
    job = make_job("j1", price=30)

    results = await asyncio.gather(*(cashier.launch(storage if i % 2 else other, job) for i in range(10)))

    assert all(stored == job for stored, _ in results)
    assert sorted(created for _, created in results) == [False] * 9 + [True]
    assert await other.ledger.balance(USER) == 70
    assert [e.key for e in await storage.ledger.entries(USER)] == ["launch:j1", f"welcome:{USER}"]


@bounded(30)
async def test_concurrent_refunds_from_two_pools_credit_once(storage, other) -> None:
    await user_with_balance(storage, 100)
    await cashier.launch(storage, make_job("j1", price=30))
    await storage.jobs.transition("j1", ACTIVE_JOB_STATES, JobState.FAILED, error="rejected")

    results = await asyncio.gather(
        *(cashier.refund_job(storage if i % 2 else other, "j1", NOW + timedelta(seconds=9)) for i in range(10))
    )

    assert [job.state for job in results if job is not None] == [JobState.REFUNDED]
    assert await storage.ledger.balance(USER) == 100
    [[refunds]] = await sql(storage, "SELECT count(*) FROM ledger WHERE key = 'refund:j1'")
    assert refunds == 1


@bounded(20)
async def test_a_debit_blocked_past_statement_timeout_is_unavailable_and_moves_nothing(storage) -> None:
    await user_with_balance(storage, 10)
    slow = await pg.open_storage(statement_timeout_ms=300)
    try:
        async with storage.pool.acquire() as locker, locker.transaction():
            await locker.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", USER)  # holds the row lock
            with pytest.raises(StorageUnavailableError, match="statement_timeout") as raised:
                await cashier.debit(slow, USER, 1, "spend:1", "launch", NOW)
        assert isinstance(raised.value.__cause__, asyncpg.QueryCanceledError)
        assert await slow.ledger.balance(USER) == 10
        assert (await cashier.debit(slow, USER, 1, "spend:1", "launch", NOW)).balance_after == 9
    finally:
        await slow.close()


@bounded(10)
async def test_a_launch_for_an_unknown_user_raises_unknown_user_even_when_free(storage) -> None:
    for price in (0, 30):
        with pytest.raises(UnknownUserError):
            await cashier.launch(storage, make_job(f"j{price}", price=price))

    assert await storage.jobs.in_states(set(JobState)) == []


# --- datetimes, inbox retention -----------------------------------------------------------------


@bounded(10)
async def test_datetimes_come_back_aware_in_utc(storage) -> None:
    moscow = timezone(timedelta(hours=3))
    await cashier.ensure_user(storage, UserRef(id=USER), welcome_amount=0, now=NOW.astimezone(moscow))

    user = await storage.users.get(USER)

    assert user is not None and user.created_at == NOW and user.created_at.tzinfo == timezone.utc
    with pytest.raises(ValueError, match="naive"):
        await cashier.credit(storage, USER, 1, "pay:1", "payment", NOW.replace(tzinfo=None))


def update(update_id: int) -> InboxUpdate:
    return InboxUpdate(update_id=update_id, payload={"update_id": update_id}, received_at=NOW, chat_id=USER)


@bounded(10)
async def test_done_ids_are_remembered_24_hours_then_pruned(storage) -> None:
    for update_id in (1, 2, 3):
        await storage.inbox.put(update(update_id))
    await storage.inbox.done(1, NOW)
    await storage.inbox.done(2, NOW + timedelta(hours=1))

    assert await storage.inbox.prune(NOW + timedelta(hours=24)) == 0  # not yet *more* than 24 h
    assert await storage.inbox.put(update(1)) is False
    assert await storage.inbox.prune(NOW + timedelta(hours=24, seconds=1)) == 1

    assert await storage.inbox.put(update(1)) is True  # forgotten: taken in again
    assert await storage.inbox.put(update(2)) is False
    assert [u.update_id for u in await storage.inbox.pending()] == [1, 3]
    [[payload]] = await sql(storage, "SELECT payload FROM inbox WHERE update_id = 2")
    assert payload is None  # a done row keeps only its id


@bounded(10)
async def test_done_prunes_by_itself_every_prune_every_calls(storage) -> None:
    storage.inbox.prune_every = 2
    for update_id in (1, 2, 3):
        await storage.inbox.put(update(update_id))
    await storage.inbox.done(1, NOW)
    await storage.inbox.done(2, NOW + timedelta(days=2))  # the second call prunes: id 1 is 2 days old

    [[rows]] = await sql(storage, "SELECT count(*) FROM inbox")
    assert rows == 2


# --- migrations ---------------------------------------------------------------------------------


@bounded(30)
async def test_migrations_are_recorded_and_applying_them_again_changes_nothing(storage) -> None:
    dsn = await pg.session_database()

    assert await migrate(dsn) == []
    records = await sql(storage, "SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
    assert [row["name"] for row in records] == [migration.name for migration in load_migrations()]
    record = records[0]
    assert (record["version"], record["name"]) == (1, "0001_initial")
    assert record["applied_at"].tzinfo is not None
    tables = {row["tablename"] for row in await sql(storage, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert tables >= {"users", "ledger", "drafts", "jobs", "inbox", "payments", "referrals", "audit_log"}


@bounded(60)
async def test_concurrent_migrations_of_an_empty_database_apply_once() -> None:
    async with pg.scratch_database() as dsn:
        results = await asyncio.gather(*(migrate(dsn) for _ in range(3)))

        assert sorted(results) == [[], [], [migration.name for migration in load_migrations()]]
        storage = await PostgresStorage.open(dsn)  # migrate=True: nothing left to apply, opens fine
        await storage.close()


def run_migrate(database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "entrypoints.migrate"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


@bounded(120)
async def test_the_migrate_command_applies_once_then_nothing() -> None:
    async with pg.scratch_database() as dsn:
        first = await asyncio.to_thread(run_migrate, dsn)
        second = await asyncio.to_thread(run_migrate, dsn)

    assert first.returncode == 0, first.stderr
    assert "0001_initial" in first.stdout
    assert second.returncode == 0, second.stderr
    assert "nothing to apply" in second.stdout and "0001_initial" not in second.stdout


@bounded(60)
async def test_the_migrate_command_fails_in_one_line_without_the_password() -> None:
    result = await asyncio.to_thread(run_migrate, "postgresql://bot:s3cret-pw@127.0.0.1:1/trt")

    assert result.returncode == 1
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1
    assert "127.0.0.1:1/trt" in result.stderr and "s3cret-pw" not in result.stderr


@bounded(20)
async def test_opening_an_unreachable_server_raises_unavailable_from_the_original() -> None:
    with pytest.raises(StorageUnavailableError) as raised:
        await PostgresStorage.open("postgresql://postgres@127.0.0.1:1/postgres", connect_timeout=5)

    assert isinstance(raised.value.__cause__, OSError)


# --- a busy or unwell database ------------------------------------------------------------------


@bounded(20)
async def test_an_operation_waits_for_a_free_connection_of_an_exhausted_pool(storage) -> None:
    await user_with_balance(storage, 10)
    small = await pg.open_storage(min_size=2, max_size=2, acquire_timeout=10)
    try:
        held = [await small.pool.acquire() for _ in range(2)]
        waiting = asyncio.create_task(cashier.debit(small, USER, 1, "spend:1", "launch", NOW))
        await asyncio.sleep(0.3)
        assert not waiting.done()

        await small.pool.release(held.pop())
        entry = await asyncio.wait_for(waiting, 5)

        assert entry.balance_after == 9
        await small.pool.release(held.pop())
    finally:
        await small.close()


@bounded(20)
async def test_an_exhausted_pool_times_out_into_unavailable_then_recovers(storage) -> None:
    await user_with_balance(storage, 10)
    small = await pg.open_storage(min_size=2, max_size=2, acquire_timeout=0.3)
    try:
        held = [await small.pool.acquire() for _ in range(2)]
        with pytest.raises(StorageUnavailableError, match="max_size=2"):
            await cashier.debit(small, USER, 1, "spend:1", "launch", NOW)
        for conn in held:
            await small.pool.release(conn)

        assert (await cashier.debit(small, USER, 1, "spend:1", "launch", NOW)).balance_after == 9
    finally:
        await small.close()


@bounded(20)
async def test_a_session_idle_in_transaction_is_killed_by_the_server_and_the_storage_recovers(storage) -> None:
    await user_with_balance(storage, 10)
    short = await pg.open_storage(max_size=1, idle_in_transaction_timeout_ms=300)
    try:
        conn = await short.pool.acquire()
        forgotten = conn.transaction()
        await forgotten.start()
        await conn.execute("UPDATE users SET blocked = true WHERE id = $1", USER)
        await asyncio.sleep(1.5)

        with pytest.raises((asyncpg.InterfaceError, asyncpg.PostgresError)):
            await conn.fetchval("SELECT 1")
        await short.pool.release(conn)  # already given back by asyncpg when the server closed it: a no-op

        user = await short.users.get(USER)  # a new connection: the storage goes on
        assert user is not None and user.blocked is False  # the forgotten transaction was rolled back
        assert await short.ledger.balance(USER) == 10
        assert await stuck_sessions(storage) == []
    finally:
        await short.close()


@bounded(30)
async def test_too_many_connections_is_unavailable_with_a_pool_size_hint(storage) -> None:
    role = pg.random_name("_limited")
    try:
        await sql(storage, f'CREATE ROLE "{role}" LOGIN NOSUPERUSER CONNECTION LIMIT 2')
    except asyncpg.InsufficientPrivilegeError:
        pytest.skip("the test server's role may not CREATE ROLE (needed: superusers ignore connection limits)")
    try:
        await sql(storage, f'GRANT SELECT ON users TO "{role}"')
        limited = await pg.open_storage(pg.with_user(await pg.session_database(), role), min_size=1, max_size=5)
        try:
            held = [await limited.pool.acquire() for _ in range(2)]  # the role's limit
            with pytest.raises(StorageUnavailableError, match="max_size=5") as raised:
                await limited.users.get(USER)
            assert "max_connections" in str(raised.value)
            assert isinstance(raised.value.__cause__, asyncpg.TooManyConnectionsError)
            await limited.pool.release(held.pop())

            assert await limited.users.get(USER) is None  # below the limit again: it works
            await limited.pool.release(held.pop())
        finally:
            await limited.close()
    finally:
        await sql(storage, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", role)
        await sql(storage, f'DROP OWNED BY "{role}"')
        await sql(storage, f'DROP ROLE "{role}"')


@bounded(30)
async def test_no_session_is_left_idle_in_transaction_after_normal_and_refused_operations(storage, other) -> None:
    await user_with_balance(storage, 50)
    await cashier.launch(storage, make_job("j1", price=30))
    with pytest.raises(InsufficientBalanceError):
        await cashier.launch(other, make_job("j2", price=30))
    with pytest.raises(ValueError):
        await other.jobs.transition("j1", {JobState.CREATED}, JobState.SUBMITTED, price=0)
    await other.jobs.transition("j1", ACTIVE_JOB_STATES, JobState.FAILED)
    await asyncio.gather(cashier.refund_job(storage, "j1", NOW), cashier.refund_job(other, "j1", NOW))
    await other.inbox.put(update(1))
    await storage.inbox.done(1, NOW)

    assert await stuck_sessions(storage) == []
    assert await storage.ledger.balance(USER) == 50
