"""ports.storage.Jobs on PostgreSQL: the ``jobs`` table, every state change a compare-and-set UPDATE.

- launch: one transaction inserting the job (``ON CONFLICT (id) DO NOTHING``: a double tap, even from another
  process, waits for the first insert and then finds the job) and debiting the price (money.move, key
  ``launch:<id>``); an insufficient balance rolls both back.
- transition: ``UPDATE ... WHERE id = $1 AND state = ANY($2) RETURNING``: of two racing events one wins.
- refund: one transaction moving FAILED/TIMED_OUT -> REFUNDED (the same CAS) and crediting the price back
  (key ``refund:<id>``); a second refund, from anywhere, finds the job REFUNDED and gets None.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from functools import lru_cache
from typing import Any

import asyncpg

from adapters.storage.postgres import codec
from adapters.storage.postgres.db import Database
from adapters.storage.postgres.money import move
from ports.storage import JOB_MUTABLE_FIELDS, Job, JobState, UnknownUserError

INSERT = (
    "INSERT INTO jobs (id, user_id, chat_id, model_id, input, price, state, created_at, updated_at, deadline_at, "
    "language, options, progress_message_id, task_id, result_urls, result_text, error, error_message, cid, free, "
    "source_job_id) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10, $11, $12::jsonb, $13, $14, $15, $16, "
    "$17, $18, $19, $20, $21) "
    f"ON CONFLICT (id) DO NOTHING RETURNING {codec.JOB_COLUMNS}"
)
SELECT = f"SELECT {codec.JOB_COLUMNS} FROM jobs WHERE id = $1"
BY_TASK = f"SELECT {codec.JOB_COLUMNS} FROM jobs WHERE task_id = $1"
REFUND = (
    "UPDATE jobs SET state = 'refunded', updated_at = $2 WHERE id = $1 AND state IN ('failed', 'timed_out') "
    f"RETURNING {codec.JOB_COLUMNS}"
)
IN_STATES = f"SELECT {codec.JOB_COLUMNS} FROM jobs WHERE state = ANY($1::text[]) ORDER BY created_at, seq LIMIT $2"
FOR_USER = (
    f"SELECT {codec.JOB_COLUMNS} FROM jobs WHERE user_id = $1 ORDER BY created_at DESC, seq DESC LIMIT $2 OFFSET $3"
)

_COLUMN_OF_FIELD = {name: name for name in JOB_MUTABLE_FIELDS}  # the field names are the column names


class PostgresJobs:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def launch(self, job: Job) -> tuple[Job, bool]:
        record = codec.validated(job)
        if job.price < 0:
            raise ValueError(f"job {job.id}: negative price {job.price}")
        async with self._db.transaction() as conn:
            try:
                row = await conn.fetchrow(INSERT, *insert_arguments(job, record))
            except asyncpg.ForeignKeyViolationError:
                raise UnknownUserError(f"unknown user {job.user_id}") from None  # zero-price jobs too
            if row is None:  # this id exists (committed, or committed while we waited on its insert)
                return codec.job(await conn.fetchrow(SELECT, job.id)), False
            if job.price > 0:
                await move(conn, job.user_id, -job.price, f"launch:{job.id}", "launch", job.created_at)
        return codec.job(row), True

    async def get(self, job_id: str) -> Job | None:
        return await self._one(SELECT, job_id)

    async def find_by_task(self, task_id: str) -> Job | None:
        return await self._one(BY_TASK, task_id)

    async def transition(
        self, job_id: str, allowed_from: Collection[JobState], to: JobState, **changes: Any
    ) -> Job | None:
        unknown = set(changes) - JOB_MUTABLE_FIELDS
        if unknown:
            raise ValueError(
                f"a transition cannot change {sorted(unknown)}; it may change {sorted(JOB_MUTABLE_FIELDS)}"
            )
        allowed = sorted({JobState(state).value for state in allowed_from})
        names = tuple(sorted(changes))
        values = [_column_value(name, changes[name]) for name in names]
        return await self._one(transition_sql(names), job_id, allowed, JobState(to).value, *values)

    async def refund(self, job_id: str, now: datetime) -> Job | None:
        now = codec.aware(now)
        async with self._db.transaction() as conn:
            row = await conn.fetchrow(REFUND, job_id, now)  # locks the job row: a twin refund waits, then misses
            if row is None:
                return None
            if row["price"] > 0:
                await move(conn, row["user_id"], row["price"], f"refund:{job_id}", "refund", now)
        return codec.job(row)

    async def in_states(self, states: Collection[JobState], limit: int = 1000) -> list[Job]:
        wanted = sorted({JobState(state).value for state in states})
        return await self._many(IN_STATES, wanted, codec.count(limit))

    async def for_user(self, user_id: int, limit: int = 10, offset: int = 0) -> list[Job]:
        return await self._many(FOR_USER, codec.user_id(user_id), codec.count(limit), codec.count(offset))

    async def _one(self, sql: str, *args: Any) -> Job | None:
        async with self._db.connection() as conn:
            row = await conn.fetchrow(sql, *args)
        return None if row is None else codec.job(row)

    async def _many(self, sql: str, *args: Any) -> list[Job]:
        async with self._db.connection() as conn:
            rows = await conn.fetch(sql, *args)
        return [codec.job(row) for row in rows]


def insert_arguments(job: Job, record: dict[str, Any]) -> tuple[Any, ...]:
    return (
        job.id,
        job.user_id,
        job.chat_id,
        job.model_id,
        codec.dump(record["input"]),
        job.price,
        record["state"],
        job.created_at,
        job.updated_at,
        job.deadline_at,
        job.language,
        codec.dump(record["options"]),
        job.progress_message_id,
        job.task_id,
        list(job.result_urls),
        job.result_text,
        job.error,
        job.error_message,
        job.cid,
        job.free,
        job.source_job_id,
    )


def _column_value(name: str, value: Any) -> Any:
    codec.validated_field(Job, name, value)  # the same TypeError/ValueError as the JSON storage
    return list(value) if name == "result_urls" else value


@lru_cache(maxsize=128)
def transition_sql(names: tuple[str, ...]) -> str:
    """``UPDATE jobs SET state = $3, <name> = $4, ... WHERE id = $1 AND state = ANY($2)``; the names come from
    JOB_MUTABLE_FIELDS only (checked by the caller), never from outside."""
    sets = "".join(f", {_COLUMN_OF_FIELD[name]} = ${number}" for number, name in enumerate(names, start=4))
    return (
        f"UPDATE jobs SET state = $3{sets} WHERE id = $1 AND state = ANY($2::text[]) RETURNING {codec.JOB_COLUMNS}"
    )
