"""ports.billing.FreeUsage on PostgreSQL, as read: ``free_tries`` holds one row per job that asked for a free
try (taken or refused); a day's use is the count of its rows taken and not released (index of 0008). Tries
are taken and given back in a unit of work (uow.py), counted under the user's row lock (core/cashier.py)."""

from __future__ import annotations

from adapters.storage import checks
from adapters.storage.postgres import codec
from adapters.storage.postgres.db import Database
from adapters.storage.postgres.row_sql import FREE_USED


class PostgresFreeUsage:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def used(self, user_id: int, day: str) -> int:
        async with self._db.connection() as conn:
            return await conn.fetchval(FREE_USED, codec.user_id(user_id), checks.day(day))
