"""ports.admin.Broadcasts on PostgreSQL: the ``broadcasts`` table of migration 0003; recipients read ``users``.

Every change is one guarded UPDATE, so racing callers (two confirms, a cancel beside the last batch, two
processes) each see the outcome of the other:

- start: ``... SET state = 'sending' WHERE state = 'draft' RETURNING``: of two confirms one gets the row;
- advance: only when the cursor moves forward (``WHERE cursor < $2``), so a batch counted twice (a retry
  after a lost answer) adds nothing the second time;
- finish: only from draft or sending: the first finish stays.

A repeated ``create`` of an existing id changes nothing (the first one stays), as in the JSON storage.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from adapters.storage.checks import count, counts, finished_state, user_cursor
from adapters.storage.entity_codec import encode, utc_text
from adapters.storage.postgres import codec
from adapters.storage.postgres.db import Database
from ports.admin import Broadcast, BroadcastState

COLUMNS = 'id, admin_id, text, photo_file_id, state, "cursor", delivered, failed, blocked, created_at, updated_at'
INSERT = (
    f"INSERT INTO broadcasts ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
    "ON CONFLICT (id) DO NOTHING"
)
SELECT = f"SELECT {COLUMNS} FROM broadcasts WHERE id = $1"
START = f"UPDATE broadcasts SET state = 'sending', updated_at = $2 WHERE id = $1 AND state = 'draft' RETURNING {COLUMNS}"
RECIPIENTS = "SELECT id FROM users WHERE id > $1 AND NOT blocked ORDER BY id LIMIT $2"
ADVANCE = (
    'UPDATE broadcasts SET "cursor" = $2, delivered = delivered + $3, failed = failed + $4, blocked = blocked + $5, '
    'updated_at = $6 WHERE id = $1 AND "cursor" < $2'
)
FINISH = "UPDATE broadcasts SET state = $2, updated_at = $3 WHERE id = $1 AND state IN ('draft', 'sending')"
SENDING = f"SELECT {COLUMNS} FROM broadcasts WHERE state = 'sending' ORDER BY created_at, id"


class PostgresBroadcasts:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, broadcast: Broadcast) -> None:
        encode(broadcast)  # the values the JSON storage refuses are refused here too
        async with self._db.connection() as conn:
            await conn.execute(
                INSERT,
                broadcast.id,
                broadcast.admin_id,
                broadcast.text,
                broadcast.photo_file_id,
                BroadcastState(broadcast.state).value,
                broadcast.cursor,
                broadcast.delivered,
                broadcast.failed,
                broadcast.blocked,
                broadcast.created_at,
                broadcast.updated_at,
            )

    async def get(self, broadcast_id: str) -> Broadcast | None:
        async with self._db.connection() as conn:
            row = await conn.fetchrow(SELECT, broadcast_id)
        return None if row is None else _broadcast(row)

    async def start(self, broadcast_id: str, now: datetime) -> Broadcast | None:
        utc_text(now)  # refuses a naive datetime
        async with self._db.connection() as conn:
            row = await conn.fetchrow(START, broadcast_id, now)
        return None if row is None else _broadcast(row)

    async def recipients(self, after_user_id: int, limit: int) -> list[int]:
        if type(after_user_id) is not int:
            raise TypeError(f"after_user_id is an int, got {type(after_user_id).__name__}")
        limit = count(limit)
        async with self._db.connection() as conn:
            rows = await conn.fetch(RECIPIENTS, after_user_id, limit)
        return [row["id"] for row in rows]

    async def advance(
        self, broadcast_id: str, cursor: int, delivered: int, failed: int, blocked: int, now: datetime
    ) -> None:
        cursor, added = user_cursor(cursor), counts(delivered, failed, blocked)
        utc_text(now)
        async with self._db.connection() as conn:
            await conn.execute(ADVANCE, broadcast_id, cursor, *added, now)

    async def finish(self, broadcast_id: str, state: BroadcastState, now: datetime) -> None:
        state = finished_state(state)
        utc_text(now)
        async with self._db.connection() as conn:
            await conn.execute(FINISH, broadcast_id, state.value, now)

    async def sending(self) -> list[Broadcast]:
        async with self._db.connection() as conn:
            rows = await conn.fetch(SENDING)
        return [_broadcast(row) for row in rows]


def _broadcast(row: Mapping[str, Any]) -> Broadcast:
    updated_at = row["updated_at"]
    return Broadcast(
        id=row["id"],
        admin_id=row["admin_id"],
        text=row["text"],
        created_at=codec.utc(row["created_at"]),
        photo_file_id=row["photo_file_id"],
        state=BroadcastState(row["state"]),
        cursor=row["cursor"],
        delivered=row["delivered"],
        failed=row["failed"],
        blocked=row["blocked"],
        updated_at=codec.utc_or_none(updated_at),
    )
