"""ports.storage.Drafts on PostgreSQL: one row per draft, replaced whole by ``put``."""

from __future__ import annotations

from adapters.storage.postgres import codec
from adapters.storage.postgres.db import Database
from ports.storage import Draft

UPSERT = (
    "INSERT INTO drafts (id, user_id, chat_id, model_id, created_at, media, prompt, options, message_id, "
    "source_job_id) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8::jsonb, $9, $10) ON CONFLICT (id) DO UPDATE SET "
    "user_id = EXCLUDED.user_id, chat_id = EXCLUDED.chat_id, model_id = EXCLUDED.model_id, "
    "created_at = EXCLUDED.created_at, media = EXCLUDED.media, prompt = EXCLUDED.prompt, "
    "options = EXCLUDED.options, message_id = EXCLUDED.message_id, "
    "source_job_id = EXCLUDED.source_job_id"
)
SELECT = f"SELECT {codec.DRAFT_COLUMNS} FROM drafts WHERE id = $1"


class PostgresDrafts:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def put(self, draft: Draft) -> None:
        async with self._db.connection() as conn:
            await conn.execute(UPSERT, *upsert_arguments(draft))

    async def get(self, draft_id: str) -> Draft | None:
        async with self._db.connection() as conn:
            row = await conn.fetchrow(SELECT, draft_id)
        return None if row is None else codec.draft(row)


def upsert_arguments(draft: Draft) -> tuple[object, ...]:
    record = codec.validated(draft)
    return (draft.id, draft.user_id, draft.chat_id, draft.model_id, draft.created_at, codec.dump(record["media"]),
            draft.prompt, codec.dump(record["options"]), draft.message_id, draft.source_job_id)
