"""ports.billing.ManualTopups on PostgreSQL: the ``manual_topups`` table.

approve and reject are one compare-and-set ``UPDATE ... WHERE state = 'pending'``: however many admins press
at once, from however many processes, the row lock lets one through and the others find it decided. approve
credits the amount (money.move, key ``manual:<id>``) in the same transaction as its UPDATE.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from adapters.storage import billing_checks as checks
from adapters.storage.postgres import codec
from adapters.storage.postgres.db import Database
from adapters.storage.postgres.money import move
from ports.billing import ManualTopup, TopupState
from ports.storage import UnknownUserError

COLUMNS = "id, user_id, amount, receipt_file_id, receipt_kind, created_at, state, decided_by, decided_at"
INSERT = (
    "INSERT INTO manual_topups (id, user_id, amount, receipt_file_id, receipt_kind, created_at) "
    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING"
)
SELECT = f"SELECT {COLUMNS} FROM manual_topups WHERE id = $1"
DECIDE = (
    "UPDATE manual_topups SET state = $2, decided_by = $3, decided_at = $4 WHERE id = $1 AND state = 'pending' "
    f"RETURNING {COLUMNS}"
)


class PostgresTopups:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, topup: ManualTopup) -> None:
        record = checks.new_topup(topup)
        async with self._db.connection() as conn:
            try:
                await conn.execute(
                    INSERT,
                    topup.id,
                    topup.user_id,
                    topup.amount,
                    record["receipt_file_id"],
                    record["receipt_kind"],
                    topup.created_at,
                )
            except asyncpg.ForeignKeyViolationError:
                raise UnknownUserError(f"unknown user {topup.user_id}") from None

    async def get(self, topup_id: str) -> ManualTopup | None:
        async with self._db.connection() as conn:
            row = await conn.fetchrow(SELECT, topup_id)
        return None if row is None else manual_topup(row)

    async def approve(self, topup_id: str, admin_id: int, now: datetime) -> tuple[ManualTopup | None, bool]:
        return await self._decide(topup_id, TopupState.APPROVED, admin_id, now)

    async def reject(self, topup_id: str, admin_id: int, now: datetime) -> tuple[ManualTopup | None, bool]:
        return await self._decide(topup_id, TopupState.REJECTED, admin_id, now)

    async def _decide(
        self, topup_id: str, state: TopupState, admin_id: int, now: datetime
    ) -> tuple[ManualTopup | None, bool]:
        admin_id = codec.validated_field(ManualTopup, "decided_by", admin_id)
        now = codec.aware(now)
        async with self._db.transaction() as conn:
            row = await conn.fetchrow(DECIDE, topup_id, state.value, admin_id, now)  # the row lock decides
            if row is None:
                existing = await conn.fetchrow(SELECT, topup_id)
                return (None if existing is None else manual_topup(existing)), False
            if state is TopupState.APPROVED:
                await move(conn, row["user_id"], row["amount"], f"manual:{topup_id}", "topup", now)
        return manual_topup(row), True


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
