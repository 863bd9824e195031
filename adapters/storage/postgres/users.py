"""ports.storage.Users on PostgreSQL (the ``users`` table; its ``balance`` column belongs to money.py)."""

from __future__ import annotations

from datetime import datetime

from adapters.storage.postgres import codec
from adapters.storage.postgres.db import Database
from adapters.storage.postgres.money import move
from ports.events import UserRef
from ports.storage import UnknownUserError, User

SELECT = f"SELECT {codec.USER_COLUMNS} FROM users WHERE id = $1"
INSERT = (
    "INSERT INTO users (id, created_at, language_code, username, first_name) VALUES ($1, $2, $3, $4, $5) "
    f"ON CONFLICT (id) DO NOTHING RETURNING {codec.USER_COLUMNS}"
)
REFRESH = (
    "UPDATE users SET language_code = $2, username = $3, first_name = $4 WHERE id = $1 "
    f"RETURNING {codec.USER_COLUMNS}"
)
SET_LANGUAGE = "UPDATE users SET language = $2 WHERE id = $1"
SET_ACTIVE_DRAFT = "UPDATE users SET active_draft_id = $2 WHERE id = $1"
SET_BLOCKED = "UPDATE users SET blocked = $2 WHERE id = $1 AND blocked <> $2"  # unknown user: no-op
SET_BANNED = "UPDATE users SET banned = $2 WHERE id = $1"

_REFRESHED = ("language_code", "username", "first_name")


class PostgresUsers:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def ensure(self, ref: UserRef, welcome_amount: int, now: datetime) -> tuple[User, bool]:
        if type(welcome_amount) is not int or welcome_amount < 0:
            raise ValueError(f"welcome_amount must be an int >= 0, got {welcome_amount!r}")
        user_id, now = codec.user_id(ref.id), codec.aware(now)
        fresh = tuple(codec.validated_field(User, name, getattr(ref, name)) for name in _REFRESHED)
        async with self._db.connection() as conn:
            row = await conn.fetchrow(SELECT, user_id)
            if row is None:
                async with conn.transaction():
                    row = await conn.fetchrow(INSERT, user_id, now, *fresh)
                    if row is not None:  # created here: the welcome credit commits with the user, or neither
                        if welcome_amount > 0:
                            await move(conn, user_id, welcome_amount, f"welcome:{user_id}", "welcome", now)
                        return codec.user(row), True
                row = await conn.fetchrow(SELECT, user_id)  # a concurrent ensure created it first
            if tuple(row[name] for name in _REFRESHED) != fresh:
                row = await conn.fetchrow(REFRESH, user_id, *fresh)
        return codec.user(row), False

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
