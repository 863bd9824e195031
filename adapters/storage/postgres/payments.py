"""ports.billing.Payments on PostgreSQL, as read: the ``payments`` table (Telegram Stars), one row per charge
id. Payments are recorded and refunded in a unit of work (uow.py), as the core decides (core/cashier.py)."""

from __future__ import annotations

from typing import Any

from adapters.storage import checks
from adapters.storage.postgres import codec
from adapters.storage.postgres.db import Database
from ports.billing import StarsPayment


COLUMNS = "charge_id, user_id, stars, amount, payload, created_at, refunded_at"
SELECT = f"SELECT {COLUMNS} FROM payments WHERE charge_id = $1"
FOR_USER = f"SELECT {COLUMNS} FROM payments WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"


class PostgresPayments:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, charge_id: str) -> StarsPayment | None:
        async with self._db.connection() as conn:
            row = await conn.fetchrow(SELECT, charge_id)
        return None if row is None else stars_payment(row)

    async def for_user(self, user_id: int, limit: int = 20) -> list[StarsPayment]:
        user_id, limit = codec.user_id(user_id), checks.count(limit, "limit")
        async with self._db.connection() as conn:
            rows = await conn.fetch(FOR_USER, user_id, limit)
        return [stars_payment(row) for row in rows]


def stars_payment(row: Any) -> StarsPayment:
    refunded_at = row["refunded_at"]
    return StarsPayment(
        charge_id=row["charge_id"],
        user_id=row["user_id"],
        stars=row["stars"],
        amount=row["amount"],
        payload=row["payload"],
        created_at=codec.utc(row["created_at"]),
        refunded_at=codec.utc_or_none(refunded_at),
    )
