"""ports.storage.Ledger on PostgreSQL: the balance is ``users.balance``, the entries the ``ledger`` table, the
debt ``users.debt`` (money.py settles it on every credit)."""

from __future__ import annotations

from datetime import datetime

from adapters.storage.postgres import codec
from adapters.storage.postgres.db import Database
from adapters.storage.postgres.money import BALANCE, move
from ports.storage import LedgerEntry, UnknownUserError

DEBT = "SELECT debt FROM users WHERE id = $1"
ENTRIES = f"SELECT {codec.ENTRY_COLUMNS} FROM ledger WHERE user_id = $1 ORDER BY seq DESC LIMIT $2"


class PostgresLedger:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def balance(self, user_id: int) -> int:
        async with self._db.connection() as conn:
            balance = await conn.fetchval(BALANCE, codec.user_id(user_id))
        if balance is None:
            raise UnknownUserError(f"unknown user {user_id}")
        return balance

    async def credit(self, user_id: int, amount: int, key: str, reason: str, now: datetime) -> LedgerEntry:
        return await self._move(user_id, codec.positive(amount), key, reason, now)

    async def debit(self, user_id: int, amount: int, key: str, reason: str, now: datetime) -> LedgerEntry:
        return await self._move(user_id, -codec.positive(amount), key, reason, now)

    async def debt(self, user_id: int) -> int:
        async with self._db.connection() as conn:
            debt = await conn.fetchval(DEBT, codec.user_id(user_id))
        if debt is None:
            raise UnknownUserError(f"unknown user {user_id}")
        return debt

    async def entries(self, user_id: int, limit: int = 20) -> list[LedgerEntry]:
        user_id, limit = codec.user_id(user_id), codec.count(limit)
        async with self._db.connection() as conn:
            rows = await conn.fetch(ENTRIES, user_id, limit)
            if not rows and await conn.fetchval(BALANCE, user_id) is None:
                raise UnknownUserError(f"unknown user {user_id}")
        return [codec.entry(row) for row in rows]

    async def _move(self, user_id: int, amount: int, key: str, reason: str, now: datetime) -> LedgerEntry:
        user_id, key, now = codec.user_id(user_id), codec.idempotency_key(key), codec.aware(now)
        if not isinstance(reason, str):
            raise TypeError(f"a reason is a string, got {type(reason).__name__}")
        async with self._db.transaction() as conn:
            entry, _ = await move(conn, user_id, amount, key, reason, now)
        return entry
