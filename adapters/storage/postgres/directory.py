"""ports.admin.UserDirectory on PostgreSQL: the ``users`` table.

find: by id, or by ``lower(username)`` (indexed); a stale duplicate username answers with the user seen last,
then the highest id, as in the JSON storage. touch: one guarded UPDATE that writes ``last_seen_at`` only when
it is unset or at least checks.TOUCH_EVERY old, so most calls change no row at all.
"""

from __future__ import annotations

from datetime import datetime

from adapters.storage import checks
from adapters.storage.postgres import codec
from adapters.storage.postgres.db import Database
from ports.storage import User

BY_ID = f"SELECT {codec.USER_COLUMNS} FROM users WHERE id = $1"
BY_USERNAME = (
    f"SELECT {codec.USER_COLUMNS} FROM users WHERE lower(username) = $1 "
    "ORDER BY last_seen_at DESC NULLS LAST, id DESC LIMIT 1"
)
TOUCH = "UPDATE users SET last_seen_at = $2 WHERE id = $1 AND (last_seen_at IS NULL OR last_seen_at <= $3)"


class PostgresDirectory:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def find(self, query: str) -> User | None:
        wanted = checks.directory_query(query)
        if wanted is None:
            return None
        async with self._db.connection() as conn:
            row = await conn.fetchrow(BY_ID if isinstance(wanted, int) else BY_USERNAME, wanted)
        return None if row is None else codec.user(row)

    async def touch(self, user_id: int, now: datetime) -> None:
        """Unknown users are a no-op (activity may be reported before the user is stored)."""
        user_id, now = codec.user_id(user_id), codec.aware(now)
        async with self._db.connection() as conn:
            await conn.execute(TOUCH, user_id, now, now - checks.TOUCH_EVERY)
