"""What every storage's unit of work (ports/uow.py) must do: all or nothing, rows locked for update until the
unit ends, keyed adds once, constraints as the backstop. Runs on each storage of conftest.STORAGE_IMPLEMENTATIONS."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from core import cashier
from ports.events import UserRef
from ports.model import Account, AuditEntry, Job, JobState, LedgerEntry, User
from ports.storage import ConstraintViolationError, Storage, StorageError

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


async def add_user(storage: Storage, user_id: int = 1, balance: int = 0) -> None:
    async with storage.unit_of_work() as uow:
        assert await uow.users.add(User(user_id, NOW))
        if balance:
            assert await uow.ledger.add(LedgerEntry(f"seed:{user_id}", user_id, balance, balance, "seed", NOW))
            await uow.accounts.put(Account(user_id, balance))
        await uow.commit()


async def test_commit_writes_every_row_of_the_unit(storage):
    await add_user(storage, 1, balance=10)
    assert await storage.ledger.balance(1) == 10
    assert [entry.key for entry in await storage.ledger.entries(1)] == ["seed:1"]
    async with storage.unit_of_work() as uow:
        assert await uow.accounts.get(1) == Account(1, 10, 0)
        assert (await uow.users.get(1)).id == 1


async def test_a_user_is_read_with_the_account_in_one_call(storage):
    await add_user(storage, 1, balance=10)
    async with storage.unit_of_work() as uow:
        user, account = await uow.users.get_with_account(1)
        assert (user, account) == (await uow.users.get(1), Account(1, 10, 0))
        assert await uow.users.get_with_account(2) is None
        await uow.users.add(User(3, NOW))
        assert await uow.users.get_with_account(3) == (User(3, NOW), Account(3, 0, 0))  # its own writes


async def test_arriving_gives_the_balance_read_with_the_user(storage):
    user, balance, created = await cashier.arrive(storage, UserRef(5), 100, NOW)
    assert (balance, created, user.last_seen_at) == (100, True, NOW)  # created seen: no stamp of its own
    await cashier.credit(storage, 5, 30, "pay:5", "payment", NOW)
    user, balance, created = await cashier.arrive(storage, UserRef(5, username="new"), 100, NOW)
    assert (balance, created, user.username) == (130, False, "new")
    assert (await cashier.ensure_user(storage, UserRef(6), 0, NOW))[0].last_seen_at is None


async def test_leaving_without_commit_changes_nothing(storage):
    async with storage.unit_of_work() as uow:
        await uow.users.add(User(1, NOW))
    async with storage.unit_of_work() as uow:
        assert await uow.users.get(1) is None


async def test_an_exception_rolls_the_unit_back(storage):
    await add_user(storage, 1, balance=10)
    with pytest.raises(RuntimeError):
        async with storage.unit_of_work() as uow:
            await uow.ledger.add(LedgerEntry("spend", 1, -4, 6, "test", NOW))
            await uow.accounts.put(Account(1, 6))
            raise RuntimeError("boom")
    assert await storage.ledger.balance(1) == 10
    assert [entry.key for entry in await storage.ledger.entries(1)] == ["seed:1"]


async def test_a_unit_sees_its_own_writes(storage):
    async with storage.unit_of_work() as uow:
        await uow.users.add(User(1, NOW))
        assert (await uow.users.get(1)).id == 1
        assert await uow.accounts.get(1) == Account(1, 0, 0)
        await uow.commit()


async def test_a_ledger_key_is_added_once(storage):
    await add_user(storage, 1, balance=10)
    async with storage.unit_of_work() as uow:
        assert not await uow.ledger.add(LedgerEntry("seed:1", 1, 10, 20, "seed", NOW))
        assert await uow.ledger.get("seed:1") == LedgerEntry("seed:1", 1, 10, 10, "seed", NOW)


async def test_a_negative_balance_is_refused_by_the_storage(storage):
    await add_user(storage, 1, balance=3)
    with pytest.raises(ConstraintViolationError):
        async with storage.unit_of_work() as uow:
            await uow.ledger.add(LedgerEntry("spend", 1, -5, -2, "test", NOW))
            await uow.accounts.put(Account(1, -2))
            await uow.commit()
    assert await storage.ledger.balance(1) == 3


async def test_get_for_update_serialises_units_on_the_same_account(storage):
    """Ten units each take 1 from a balance of 5 after reading it under the lock: exactly five do."""
    await add_user(storage, 1, balance=5)

    async def spend(number: int) -> bool:
        async with storage.unit_of_work() as uow:
            account = await uow.accounts.get_for_update(1)
            await asyncio.sleep(0)  # let the others run into the lock
            if account.balance < 1:
                return False
            await uow.ledger.add(LedgerEntry(f"spend:{number}", 1, -1, account.balance - 1, "test", NOW))
            await uow.accounts.put(replace(account, balance=account.balance - 1))
            await uow.commit()
            return True

    results = await asyncio.gather(*(spend(number) for number in range(10)))
    assert results.count(True) == 5
    assert await storage.ledger.balance(1) == 0
    assert sum(entry.amount for entry in await storage.ledger.entries(1, 100)) == 0


async def test_a_job_is_added_once_and_moved_by_compare_and_set(storage):
    await add_user(storage, 1)
    job = Job("j1", 1, 1, "m", {"prompt": "x"}, 0, JobState.CREATED, NOW, NOW, NOW)
    async with storage.unit_of_work() as uow:
        assert await uow.jobs.add(job)
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert not await uow.jobs.add(job)
        moved = await uow.jobs.compare_and_set("j1", {JobState.CREATED}, JobState.SUBMITTED, {"task_id": "t1"})
        assert moved == replace(job, state=JobState.SUBMITTED, task_id="t1")
        assert await uow.jobs.compare_and_set("j1", {JobState.CREATED}, JobState.FAILED, {}) is None
        await uow.commit()
    assert (await storage.jobs.get("j1")).state is JobState.SUBMITTED


async def test_concurrent_adds_of_one_key_let_one_through(storage):
    await add_user(storage, 1)
    job = Job("j1", 1, 1, "m", {}, 0, JobState.CREATED, NOW, NOW, NOW)

    async def add() -> bool:
        async with storage.unit_of_work() as uow:
            added = await uow.jobs.add(job)
            await asyncio.sleep(0)
            await uow.commit()
            return added

    assert sorted(await asyncio.gather(*(add() for _ in range(5)))) == [False] * 4 + [True]


async def test_an_audit_entry_commits_with_the_unit(storage):
    await add_user(storage, 1)
    async with storage.unit_of_work() as uow:
        await uow.audit.add(AuditEntry(NOW, 900, "credit", {"user": 1}))
        await uow.commit()
    assert await storage.audit.recent(5) == [AuditEntry(NOW, 900, "credit", {"user": 1})]


async def test_a_finished_unit_takes_no_more_writes(storage):
    async with storage.unit_of_work() as uow:
        await uow.users.add(User(1, NOW))
        await uow.commit()
        with pytest.raises(StorageError):
            await uow.users.add(User(2, NOW))
