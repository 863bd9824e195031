"""ports.storage.Ledger on PostgreSQL, as read: the balance and the debt are ``users.balance`` / ``users.debt``,
the entries the ``ledger`` table. They change only in a unit of work (uow.py), as the core decides."""

from __future__ import annotations

from adapters.storage.postgres import codec
from adapters.storage.postgres.db import Database
from ports.storage import LedgerEntry, UnknownUserError

BALANCE = "SELECT balance FROM users WHERE id = $1"
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
