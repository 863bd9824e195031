"""ports.billing.Payments on PostgreSQL: the ``payments`` table (Telegram Stars), one row per charge id.

- record_stars: one transaction inserting the payment (``ON CONFLICT (charge_id) DO NOTHING``: a twin, even
  from another process, waits on the unique index for the first insert, then finds the row) and, only when
  the insert made the row, crediting the amount (money.move, key ``stars:<charge_id>``).
- refund_stars: one transaction with a compare-and-set ``UPDATE ... WHERE refunded_at IS NULL`` (of two
  racing refunds one wins; the other waits on the row lock, then misses) and money.take_back, which debits
  what the balance holds and adds the rest to the user's debt (key ``stars_refund:<charge_id>``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from adapters.storage import billing_checks as checks
from adapters.storage.postgres import codec
from adapters.storage.postgres.db import Database
from adapters.storage.postgres.money import move, take_back
from ports.billing import StarsPayment
from ports.storage import UnknownUserError

COLUMNS = "charge_id, user_id, stars, amount, payload, created_at, refunded_at"
INSERT = (
    "INSERT INTO payments (charge_id, user_id, stars, amount, currency, payload, created_at) "
    f"VALUES ($1, $2, $3, $4, 'XTR', $5, $6) ON CONFLICT (charge_id) DO NOTHING RETURNING {COLUMNS}"
)
SELECT = f"SELECT {COLUMNS} FROM payments WHERE charge_id = $1"
REFUND = f"UPDATE payments SET refunded_at = $2 WHERE charge_id = $1 AND refunded_at IS NULL RETURNING {COLUMNS}"
FOR_USER = f"SELECT {COLUMNS} FROM payments WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"


class PostgresPayments:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record_stars(self, payment: StarsPayment) -> tuple[StarsPayment, bool]:
        checks.stars_payment(payment)
        key = f"stars:{payment.charge_id}"
        async with self._db.transaction() as conn:
            try:
                row = await conn.fetchrow(
                    INSERT,
                    payment.charge_id,
                    payment.user_id,
                    payment.stars,
                    payment.amount,
                    payment.payload,
                    payment.created_at,
                )
            except asyncpg.ForeignKeyViolationError:
                raise UnknownUserError(f"unknown user {payment.user_id}") from None
            if row is None:  # recorded before (or by a twin that committed while we waited)
                return stars_payment(await conn.fetchrow(SELECT, payment.charge_id)), False
            await move(conn, payment.user_id, payment.amount, key, "topup", payment.created_at)
        return stars_payment(row), True

    async def refund_stars(self, charge_id: str, now: datetime) -> tuple[StarsPayment | None, bool]:
        charge_id, now = checks.text_id(charge_id, "a charge id"), codec.aware(now)
        async with self._db.transaction() as conn:
            row = await conn.fetchrow(REFUND, charge_id, now)  # locks the payment row: a twin waits, then misses
            if row is None:
                existing = await conn.fetchrow(SELECT, charge_id)
                return (None if existing is None else stars_payment(existing)), False
            key = f"stars_refund:{charge_id}"
            await take_back(conn, row["user_id"], row["amount"], key, "refund_stars", now)
        return stars_payment(row), True

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
