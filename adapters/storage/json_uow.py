"""ports.uow.UnitOfWork over the state file: reads from the live document, writes buffered, one journal record.

Reads go to the in-memory document (json_state.State), seen through the unit's own writes. Writes are kept
as rows, ``(table, kind, value)``, and ``commit`` hands the whole list to ``State.apply`` as ONE durable
change (``file.change("apply", rows)``): one journal line, replayed by calling ``apply`` with the same rows,
so it is deterministic by construction (the core computed every value, times included, before commit).
``apply`` re-checks the constraints (a key added twice, a negative balance, an account that does not equal
its ledger) and refuses the whole list, changing nothing, when one fails.

Locking: ``get_for_update``, ``add`` and ``compare_and_set`` take an in-process lock on the row's key,
held until the unit ends; a second unit asking for the same row waits. The core locks in one order
(ports/uow.py), so units never wait on each other in a circle. Reads made without a lock see the document
as it is at that moment, as on PostgreSQL under READ COMMITTED.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import replace
from typing import Any, Hashable

from adapters.storage.entity_codec import encode
from adapters.storage.json_file import DurableFile
from adapters.storage.json_ops import JsonData
from adapters.storage.json_state import State
from ports.model import (
    JOB_MUTABLE_FIELDS,
    Account,
    AuditEntry,
    Draft,
    FreeTry,
    Job,
    JobState,
    User,
)
from ports.storage import StorageError, UnknownUserError

Row = tuple[str, str, Any]
_MISSING = object()


class RowLocks:
    """One asyncio.Lock per locked row key, forgotten once nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    async def acquire(self, key: Hashable) -> None:
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            await lock.acquire()
        except BaseException:
            self._drop(key)
            raise

    def release(self, key: Hashable) -> None:
        lock, _ = self._locks[key]
        lock.release()
        self._drop(key)

    def _drop(self, key: Hashable) -> None:
        lock, users = self._locks[key]
        if users <= 1:
            del self._locks[key]
        else:
            self._locks[key] = (lock, users - 1)


class JsonUnitOfWork:
    def __init__(self, file: DurableFile[State], locks: RowLocks) -> None:
        self._file, self._locks = file, locks
        self._held: list[Hashable] = []
        self._seen: dict[tuple[str, Hashable], Any] = {}  # this unit's writes, by (table, key)
        self._rows: list[Row] = []
        self._done = False
        self.users = _Users(self)
        self.accounts = _Accounts(self)
        self.ledger = _Ledger(self)
        self.drafts = _Drafts(self)
        self.jobs = _Jobs(self)
        self.payments = _Keyed(self, "payments", "charge_id", State.payment)
        self.topups = _Keyed(self, "topups", "id", State.topup)
        self.free_tries = _FreeTries(self)
        self.referrals = _Keyed(self, "referrals", "invitee_id", State.referral)
        self.audit = _Audit(self)

    async def __aenter__(self) -> JsonUnitOfWork:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._done = True
        self._rows.clear()
        self._release()

    def _release(self) -> None:
        for key in reversed(self._held):
            self._locks.release(key)
        self._held.clear()

    async def commit(self) -> None:
        self._usable()
        rows, self._rows = self._rows, []
        self._done = True
        if not rows:
            await self._file.read(lambda state: None)  # what this unit read is durable before it answers
            return
        records = [[table, kind, JsonData(list(encode(value).values()))] for table, kind, value in rows]
        _, durable = await self._file.apply("apply", records)
        self._release()  # applied in memory: the next unit on these rows may go on and join the same fsync
        await durable

    # --- used by the repositories ---------------------------------------------------------------

    def _usable(self) -> None:
        if self._done:
            raise StorageError("this unit of work is finished; open a new one")

    async def lock(self, table: str, key: Hashable) -> None:
        self._usable()
        if (table, key) not in self._held:
            await self._locks.acquire((table, key))
            self._held.append((table, key))

    async def read(self, table: str, key: Hashable, query: Any) -> Any:
        self._usable()
        found = self._seen.get((table, key), _MISSING)
        if found is not _MISSING:
            return found
        state = await self._file.document()
        return query(state, key)

    def write(self, table: str, kind: str, key: Hashable, value: Any) -> None:
        self._usable()
        self._seen[(table, key)] = value
        self._rows.append((table, kind, value))

    async def state(self) -> State:
        return await self._file.document()


class _Keyed:
    """get / get_for_update / add / put for a table of entities with a natural key."""

    def __init__(self, uow: JsonUnitOfWork, table: str, key_field: str, query: Any) -> None:
        self._uow, self._table, self._field, self._query = uow, table, key_field, query

    async def get(self, key: Any) -> Any:
        return await self._uow.read(self._table, key, self._query)

    async def get_for_update(self, key: Any) -> Any:
        await self._uow.lock(self._table, key)
        return await self.get(key)

    async def add(self, entity: Any) -> bool:
        key = getattr(entity, self._field)
        await self._uow.lock(self._table, key)
        if await self.get(key) is not None:
            return False
        self._uow.write(self._table, "add", key, entity)
        return True

    async def put(self, entity: Any) -> None:
        self._uow.write(self._table, "put", getattr(entity, self._field), entity)


class _Users(_Keyed):
    def __init__(self, uow: JsonUnitOfWork) -> None:
        super().__init__(uow, "users", "id", State.user)

    async def add(self, entity: User) -> bool:
        added = await super().add(entity)
        if added:
            self._uow._seen[("accounts", entity.id)] = Account(entity.id)
        return added

    async def get_with_account(self, user_id: int) -> tuple[User, Account] | None:
        user = await self.get(user_id)
        account = await self._uow.read("accounts", user_id, State.account)
        return None if user is None or account is None else (user, account)


class _Accounts(_Keyed):
    def __init__(self, uow: JsonUnitOfWork) -> None:
        super().__init__(uow, "accounts", "user_id", State.account)

    async def add(self, entity: Account) -> bool:  # accounts come with their user (UserRows.add)
        raise StorageError("an account is created by users.add")

    async def put(self, entity: Account) -> None:
        if await self.get(entity.user_id) is None:
            raise UnknownUserError(f"unknown user {entity.user_id}")
        await super().put(entity)


class _Ledger(_Keyed):
    def __init__(self, uow: JsonUnitOfWork) -> None:
        super().__init__(uow, "ledger", "key", State.entry)


class _Drafts(_Keyed):
    def __init__(self, uow: JsonUnitOfWork) -> None:
        super().__init__(uow, "drafts", "id", State.draft)

    async def put(self, entity: Draft) -> None:
        await super().put(entity)


class _Jobs(_Keyed):
    def __init__(self, uow: JsonUnitOfWork) -> None:
        super().__init__(uow, "jobs", "id", State.job)

    async def compare_and_set(
        self, job_id: str, allowed_from: Collection[JobState], to: JobState, changes: dict[str, Any]
    ) -> Job | None:
        unknown = set(changes) - JOB_MUTABLE_FIELDS
        if unknown:
            raise ValueError(f"a transition cannot change {sorted(unknown)}; it may change {sorted(JOB_MUTABLE_FIELDS)}")
        await self._uow.lock("jobs", job_id)
        job = await self.get(job_id)
        if job is None or job.state not in {JobState(state) for state in allowed_from}:
            return None
        updated = replace(job, state=JobState(to), **changes)
        if updated != job:
            self._uow.write("jobs", "put", job_id, updated)
        return updated


class _FreeTries(_Keyed):
    def __init__(self, uow: JsonUnitOfWork) -> None:
        super().__init__(uow, "free_tries", "job_id", State.free_try)

    async def lock_day(self, user_id: int, day: str) -> None:
        await self._uow.lock("free_days", (user_id, day))

    async def used(self, user_id: int, day: str) -> int:
        state = await self._uow.state()
        used = state.free_used(user_id, day)
        for (table, key), mine in self._uow._seen.items():
            if table != "free_tries" or mine.user_id != user_id or mine.day != day:
                continue
            stored = state.free_try(key)
            used += _counts(mine) - (0 if stored is None else _counts(stored))
        return used


def _counts(free_try: FreeTry) -> int:
    return int(free_try.taken and not free_try.released)


class _Audit:
    def __init__(self, uow: JsonUnitOfWork) -> None:
        self._uow = uow

    async def add(self, entry: AuditEntry) -> None:
        self._uow._usable()
        self._uow._rows.append(("audit", "add", entry))

