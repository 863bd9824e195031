"""ports.storage.Drafts on PostgreSQL: one row per draft, replaced whole by ``put``."""

from __future__ import annotations

from adapters.storage.postgres import codec
from adapters.storage.postgres.db import Database
from ports.model import Job
from ports.storage import Draft, UnknownUserError

UPSERT = (
    "INSERT INTO drafts (id, user_id, chat_id, model_id, created_at, media, prompt, options, message_id, "
    "source_job_id) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8::jsonb, $9, $10) ON CONFLICT (id) DO UPDATE SET "
    "user_id = EXCLUDED.user_id, chat_id = EXCLUDED.chat_id, model_id = EXCLUDED.model_id, "
    "created_at = EXCLUDED.created_at, media = EXCLUDED.media, prompt = EXCLUDED.prompt, "
    "options = EXCLUDED.options, message_id = EXCLUDED.message_id, "
    "source_job_id = EXCLUDED.source_job_id"
)
PUT_ACTIVE = f"WITH stored AS ({UPSERT}) UPDATE users SET active_draft_id = $1 WHERE id = $2"
SELECT = f"SELECT {codec.DRAFT_COLUMNS} FROM drafts WHERE id = $1"
_DRAFT_NAMES = codec.DRAFT_COLUMNS.split(", ")
_JOB_NAMES = codec.JOB_COLUMNS.split(", ")
WITH_JOB = (
    "SELECT " + ", ".join(f"d.{name}" for name in _DRAFT_NAMES) + ", "
    + ", ".join(f"j.{name} AS job_{name}" for name in _JOB_NAMES)
    + " FROM drafts d LEFT JOIN jobs j ON j.id = d.id WHERE d.id = $1"
)


class PostgresDrafts:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def put(self, draft: Draft) -> None:
        async with self._db.connection() as conn:
            await conn.execute(UPSERT, *upsert_arguments(draft))

    async def put_active(self, draft: Draft) -> None:
        async with self._db.connection() as conn:
            status = await conn.execute(PUT_ACTIVE, *upsert_arguments(draft))
        if status == "UPDATE 0":
            raise UnknownUserError(f"unknown user {draft.user_id}")

    async def get(self, draft_id: str) -> Draft | None:
        async with self._db.connection() as conn:
            row = await conn.fetchrow(SELECT, draft_id)
        return None if row is None else codec.draft(row)

    async def get_with_job(self, draft_id: str) -> tuple[Draft | None, Job | None]:
        async with self._db.connection() as conn:
            row = await conn.fetchrow(WITH_JOB, draft_id)
        if row is None:
            return None, None
        launched = row["job_id"] is not None
        return codec.draft(row), codec.job({name: row[f"job_{name}"] for name in _JOB_NAMES}) if launched else None


def upsert_arguments(draft: Draft) -> tuple[object, ...]:
    record = codec.validated(draft)
    return (draft.id, draft.user_id, draft.chat_id, draft.model_id, draft.created_at, codec.dump(record["media"]),
            draft.prompt, codec.dump(record["options"]), draft.message_id, draft.source_job_id)
