"""ports.storage.Jobs on PostgreSQL: the ``jobs`` table. ``transition`` is one compare-and-set
``UPDATE ... WHERE id = $1 AND state = ANY($2) RETURNING`` (of two racing events one wins); which moves are
allowed is the core's table (core/job_states.py). Jobs are created, and refunded, in a unit of work (uow.py)."""

from __future__ import annotations

from collections.abc import Collection

from functools import lru_cache
from typing import Any

from adapters.storage.postgres import codec
from adapters.storage.postgres.db import Database
from ports.storage import JOB_MUTABLE_FIELDS, Job, JobState

SELECT = f"SELECT {codec.JOB_COLUMNS} FROM jobs WHERE id = $1"
BY_TASK = f"SELECT {codec.JOB_COLUMNS} FROM jobs WHERE task_id = $1"
IN_STATES = f"SELECT {codec.JOB_COLUMNS} FROM jobs WHERE state = ANY($1::text[]) ORDER BY created_at, seq LIMIT $2"
FOR_USER = (
    f"SELECT {codec.JOB_COLUMNS} FROM jobs WHERE user_id = $1 ORDER BY created_at DESC, seq DESC LIMIT $2 OFFSET $3"
)

_COLUMN_OF_FIELD = {name: name for name in JOB_MUTABLE_FIELDS}  # the field names are the column names


class PostgresJobs:
    def __init__(self, db: Database) -> None:
        self._db = db

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
