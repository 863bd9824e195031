"""ports.billing.ManualTopups on PostgreSQL, as read: the ``manual_topups`` table. A top-up is created and
decided in a unit of work (uow.py), as the core decides (core/cashier.py)."""

from __future__ import annotations

from typing import Any

from adapters.storage.postgres import codec
from adapters.storage.postgres.db import Database
from ports.billing import ManualTopup, TopupState


COLUMNS = "id, user_id, amount, receipt_file_id, receipt_kind, created_at, state, decided_by, decided_at"
SELECT = f"SELECT {COLUMNS} FROM manual_topups WHERE id = $1"


class PostgresTopups:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, topup_id: str) -> ManualTopup | None:
        async with self._db.connection() as conn:
            row = await conn.fetchrow(SELECT, topup_id)
        return None if row is None else manual_topup(row)

def manual_topup(row: Any) -> ManualTopup:
    decided_at = row["decided_at"]
    return ManualTopup(
        id=row["id"],
        user_id=row["user_id"],
        amount=row["amount"],
        receipt_file_id=row["receipt_file_id"],
        receipt_kind=row["receipt_kind"],
        created_at=codec.utc(row["created_at"]),
        state=TopupState(row["state"]),
        decided_by=row["decided_by"],
        decided_at=codec.utc_or_none(decided_at),
    )
