"""ports.uow.UnitOfWork on PostgreSQL: one pooled connection, one transaction, row statements only.

The connection is borrowed at the unit's first statement (a unit that reads nothing costs nothing) and the
transaction begins with it; ``commit`` commits, leaving the block without it rolls back. ``get_for_update``
is ``SELECT ... FOR UPDATE``; ``add`` is ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` (a concurrent add of
the same key waits for the other transaction, then finds the row and returns False). The schema's
constraints stay the backstop: the ledger key is UNIQUE, ``users.balance`` has ``CHECK (balance >= 0)``;
their violations become ConstraintViolationError (db.py) and the transaction rolls back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import fields
from enum import Enum
from contextlib import AbstractAsyncContextManager
from typing import Any

import asyncpg

from adapters.storage.postgres import codec
from adapters.storage.postgres.db import Database
from adapters.storage.postgres.drafts import UPSERT, upsert_arguments
from adapters.storage.postgres.jobs import insert_arguments, transition_sql
from adapters.storage.postgres.payments import stars_payment
from adapters.storage.postgres.row_sql import (  # noqa: F401 - the statements, one per method
    ACCOUNT,
    ADD_AUDIT,
    ADD_ENTRY,
    ADD_FREE_TRY,
    ADD_JOB,
    ADD_PAYMENT,
    ADD_REFERRAL,
    ADD_TOPUP,
    ADD_USER,
    DRAFT,
    ENTRY,
    FREE_TRY,
    FREE_USED,
    LOCK_DAY,
    JOB,
    PAYMENT,
    PUT_ACCOUNT,
    PUT_FREE_TRY,
    PUT_PAYMENT,
    PUT_REFERRAL,
    PUT_TOPUP,
    PUT_USER,
    REFERRAL,
    TOPUP,
    USER,
    USER_WITH_ACCOUNT,
)
from adapters.storage.postgres.topups import manual_topup
from ports.model import (
    JOB_MUTABLE_FIELDS,
    Account,
    AuditEntry,
    Draft,
    FreeTry,
    Job,
    JobState,
    LedgerEntry,
    Referral,
    User,
)
from ports.storage import StorageError, UnknownUserError


class PostgresUnitOfWork:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._connection: AbstractAsyncContextManager[asyncpg.Connection] | None = None
        self._conn: asyncpg.Connection | None = None
        self._transaction: Any = None
        self._done = False
        self.users = _Users(self, USER, ADD_USER, PUT_USER, codec.user, "user", codec.user_id)
        self.accounts = _Accounts(self)
        self.ledger = _Ledger(self)
        self.drafts = _Drafts(self)
        self.jobs = _Jobs(self)
        self.payments = _Rows(self, PAYMENT, ADD_PAYMENT, PUT_PAYMENT, stars_payment, "payment")
        self.topups = _Rows(self, TOPUP, ADD_TOPUP, PUT_TOPUP, manual_topup, "top-up")
        self.free_tries = _FreeTries(self, FREE_TRY, ADD_FREE_TRY, PUT_FREE_TRY, _free_try, "free try")
        self.referrals = _Rows(self, REFERRAL, ADD_REFERRAL, PUT_REFERRAL, _referral, "referral", codec.user_id)
        self.audit = _Audit(self)

    async def __aenter__(self) -> PostgresUnitOfWork:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._done = True
        if self._connection is None:
            return
        connection, self._connection = self._connection, None
        self._conn = None
        try:
            if self._transaction is not None:
                transaction, self._transaction = self._transaction, None
                try:
                    await transaction.rollback()
                except Exception as error:  # the connection is gone: the server rolled back already
                    if exc_info[0] is None:
                        self._db.reraise(error)
        finally:
            await connection.__aexit__(None, None, None)

    async def commit(self) -> None:
        self._usable()
        self._done = True
        if self._transaction is not None:
            transaction, self._transaction = self._transaction, None
            try:
                await transaction.commit()
            except Exception as error:
                self._db.reraise(error)

    # --- statements -----------------------------------------------------------------------------

    def _usable(self) -> None:
        if self._done:
            raise StorageError("this unit of work is finished; open a new one")

    async def _begin(self, sql: str) -> asyncpg.Connection:
        """The unit's connection; its transaction begins with the first statement that locks or writes (plain
        reads before it need none: each sees the latest committed rows, as it would inside the transaction
        under READ COMMITTED), so a unit that only reads costs its statements and nothing more."""
        self._usable()
        if self._conn is None:
            connection = self._db.connection()
            self._conn = await connection.__aenter__()
            self._connection = connection
        if self._transaction is None and not (sql.startswith("SELECT") and not sql.endswith("FOR UPDATE")
                                              and "pg_advisory_xact_lock" not in sql):
            transaction = self._conn.transaction()
            try:
                await transaction.start()
            except Exception as error:
                self._db.reraise(error)
            self._transaction = transaction
        return self._conn

    async def row(self, sql: str, *args: Any) -> Any:
        conn = await self._begin(sql)
        try:
            return await conn.fetchrow(sql, *args)
        except asyncpg.ForeignKeyViolationError:
            raise UnknownUserError(f"a row names an unknown user: {args[:2]!r}") from None
        except Exception as error:
            self._db.reraise(error)

    async def value(self, sql: str, *args: Any) -> Any:
        row = await self.row(sql, *args)
        return None if row is None else row[0]

    async def execute(self, sql: str, *args: Any) -> str:
        conn = await self._begin(sql)
        try:
            return await conn.execute(sql, *args)
        except asyncpg.ForeignKeyViolationError:
            raise UnknownUserError(f"a row names an unknown user: {args[:2]!r}") from None
        except Exception as error:
            self._db.reraise(error)

    async def update(self, sql: str, *args: Any, what: str) -> None:
        if await self.execute(sql, *args) == "UPDATE 0":
            raise (UnknownUserError if what.startswith("user") else StorageError)(f"{what} does not exist")


def _locked(sql: str, lock: bool) -> str:
    return f"{sql} FOR UPDATE" if lock else sql


class _Accounts:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    async def get(self, user_id: int, *, lock: bool = False) -> Account | None:
        row = await self._uow.row(_locked(ACCOUNT, lock), codec.user_id(user_id))
        return None if row is None else Account(row["id"], row["balance"], row["debt"])

    async def get_for_update(self, user_id: int) -> Account | None:
        return await self.get(user_id, lock=True)

    async def put(self, account: Account) -> None:
        codec.validated(account)
        await self._uow.update(PUT_ACCOUNT, account.user_id, account.balance, account.debt,
                               what=f"user {account.user_id}")


class _Ledger:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    async def get(self, key: str) -> LedgerEntry | None:
        row = await self._uow.row(ENTRY, key)
        return None if row is None else codec.entry(row)

    async def add(self, entry: LedgerEntry) -> bool:
        codec.validated(entry)
        return await self._uow.value(
            ADD_ENTRY, entry.key, entry.user_id, entry.amount, entry.balance_after, entry.reason, entry.created_at
        ) is not None


class _Drafts:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    async def get(self, draft_id: str) -> Draft | None:
        row = await self._uow.row(DRAFT, draft_id)
        return None if row is None else codec.draft(row)

    async def put(self, draft: Draft) -> None:
        await self._uow.execute(UPSERT, *upsert_arguments(draft))


class _Jobs:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    async def get(self, job_id: str, *, lock: bool = False) -> Job | None:
        row = await self._uow.row(_locked(JOB, lock), job_id)
        return None if row is None else codec.job(row)

    async def get_for_update(self, job_id: str) -> Job | None:
        return await self.get(job_id, lock=True)

    async def add(self, job: Job) -> bool:
        record = codec.validated(job)
        return await self._uow.value(ADD_JOB, *insert_arguments(job, record)) is not None

    async def compare_and_set(
        self, job_id: str, allowed_from: Collection[JobState], to: JobState, changes: dict[str, Any]
    ) -> Job | None:
        unknown = set(changes) - JOB_MUTABLE_FIELDS
        if unknown:
            raise ValueError(f"a transition cannot change {sorted(unknown)}; it may change {sorted(JOB_MUTABLE_FIELDS)}")
        allowed = sorted({JobState(state).value for state in allowed_from})
        names = tuple(sorted(changes))
        values = [_job_value(name, changes[name]) for name in names]
        row = await self._uow.row(transition_sql(names), job_id, allowed, JobState(to).value, *values)
        return None if row is None else codec.job(row)


def _job_value(name: str, value: Any) -> Any:
    codec.validated_field(Job, name, value)
    return list(value) if name == "result_urls" else value


class _Rows:
    """get / get_for_update / add / put over a table whose columns are the entity's fields, in field order."""

    def __init__(self, uow: PostgresUnitOfWork, select: str, add: str, put: str, from_row: Callable[[Any], Any],
                 what: str, key: Callable[[Any], Any] = lambda key: key) -> None:
        self._uow, self._select, self._add, self._put = uow, select, add, put
        self._from_row, self._what, self._key = from_row, what, key

    async def get(self, key: Any, *, lock: bool = False) -> Any:
        row = await self._uow.row(_locked(self._select, lock), self._key(key))
        return None if row is None else self._from_row(row)

    async def get_for_update(self, key: Any) -> Any:
        return await self.get(key, lock=True)

    async def add(self, entity: Any) -> bool:
        return await self._uow.value(self._add, *_arguments(entity)) is not None

    async def put(self, entity: Any) -> None:
        arguments = _arguments(entity)
        await self._uow.update(self._put, *arguments, what=f"{self._what} {arguments[0]}")


def _arguments(entity: Any) -> tuple[Any, ...]:
    codec.validated(entity)  # the same TypeError/ValueError as the JSON storage
    values = (getattr(entity, field.name) for field in fields(entity))
    return tuple(value.value if isinstance(value, Enum) else value for value in values)


class _Users(_Rows):
    async def get_with_account(self, user_id: int) -> tuple[User, Account] | None:
        row = await self._uow.row(USER_WITH_ACCOUNT, codec.user_id(user_id))
        return None if row is None else (codec.user(row), Account(row["id"], row["balance"], row["debt"]))


class _FreeTries(_Rows):
    async def lock_day(self, user_id: int, day: str) -> None:
        await self._uow.execute(LOCK_DAY, codec.user_id(user_id), day)

    async def used(self, user_id: int, day: str) -> int:
        return await self._uow.value(FREE_USED, codec.user_id(user_id), day)


def _free_try(row: Any) -> FreeTry:
    return FreeTry(row["job_id"], row["user_id"], row["day"], row["taken"], row["released"])


def _referral(row: Any) -> Referral:
    return Referral(row["invitee_id"], row["inviter_id"], codec.utc(row["created_at"]),
                    codec.utc_or_none(row["rewarded_at"]), row["inviter_bonus"], row["invitee_bonus"])


class _Audit:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    async def add(self, entry: AuditEntry) -> None:
        record = codec.validated(entry)
        details = json.dumps(record["details"], ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        await self._uow.execute(ADD_AUDIT, entry.at, str(entry.actor), entry.action, details)
