"""ports.storage.Users on PostgreSQL (the ``users`` table; ``balance`` and ``debt`` are the account, written
only in a unit of work, uow.py). Users are created in a unit of work too (core/cashier.ensure_user)."""

from __future__ import annotations

from adapters.storage.postgres import codec
from adapters.storage.postgres.db import Database
from ports.storage import UnknownUserError, User

SELECT = f"SELECT {codec.USER_COLUMNS} FROM users WHERE id = $1"
SET_LANGUAGE = "UPDATE users SET language = $2 WHERE id = $1"
SET_ACTIVE_DRAFT = "UPDATE users SET active_draft_id = $2 WHERE id = $1"
SET_BLOCKED = "UPDATE users SET blocked = $2 WHERE id = $1 AND blocked <> $2"  # unknown user: no-op
SET_BANNED = "UPDATE users SET banned = $2 WHERE id = $1"



class PostgresUsers:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, user_id: int) -> User | None:
        async with self._db.connection() as conn:
            row = await conn.fetchrow(SELECT, codec.user_id(user_id))
        return None if row is None else codec.user(row)

    async def set_language(self, user_id: int, language: str) -> None:
        await self._set(SET_LANGUAGE, user_id, codec.validated_field(User, "language", language))

    async def set_active_draft(self, user_id: int, draft_id: str | None) -> None:
        await self._set(SET_ACTIVE_DRAFT, user_id, codec.validated_field(User, "active_draft_id", draft_id))

    async def set_blocked(self, user_id: int, blocked: bool) -> None:
        blocked = codec.validated_field(User, "blocked", blocked)
        async with self._db.connection() as conn:
            await conn.execute(SET_BLOCKED, codec.user_id(user_id), blocked)

    async def set_banned(self, user_id: int, banned: bool) -> bool:
        banned = codec.validated_field(User, "banned", banned)
        async with self._db.connection() as conn:
            status = await conn.execute(SET_BANNED, codec.user_id(user_id), banned)
        return status != "UPDATE 0"

    async def _set(self, sql: str, user_id: int, value: object) -> None:
        async with self._db.connection() as conn:
            status = await conn.execute(sql, codec.user_id(user_id), value)
        if status == "UPDATE 0":
            raise UnknownUserError(f"unknown user {user_id}")
