"""The one way a balance changes: ``move`` inside the caller's transaction (ledger, welcome, launch, refund).

No read-modify-write: the balance is changed by a single guarded UPDATE that PostgreSQL evaluates on the
latest row version under the row lock (``balance >= $2`` for a debit), and ``users.balance`` has
``CHECK (balance >= 0)`` besides. The ledger entry is inserted in the same transaction with
``ON CONFLICT (key) DO NOTHING``; the UNIQUE key makes a second movement with the same key impossible,
even from another process. When the insert finds the key taken (a repeat, or a twin that committed first),
the UPDATE is undone in the same transaction, still under the row lock, and the existing entry decides:
same user and amount -> it is returned unchanged; anything else -> IdempotencyConflictError.

A credit to a user with a debt (``users.debt``: what a Stars refund could not take back) settles it in the
same transaction, still under the row lock: one guarded UPDATE moves ``LEAST(debt, amount)`` from the balance
to the debt, and the entry ``settle:<key>`` (reason "debt") records it, so the ledger still sums to the
balance. ``take_back`` is the refund side: it debits what the balance holds and adds the rest to the debt.

Locks are always taken in the order job row (or payment, top-up, referral row) -> user row(s), in ascending
id -> ledger key, so transactions never deadlock.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from adapters.storage.postgres import codec
from ports.storage import (
    MAX_BALANCE,
    BalanceLimitError,
    IdempotencyConflictError,
    InsufficientBalanceError,
    LedgerEntry,
    UnknownUserError,
)

DEBIT = "UPDATE users SET balance = balance - $2 WHERE id = $1 AND balance >= $2 RETURNING balance"
# Guarded like DEBIT: a credit that would take the balance beyond BIGINT changes nothing (BalanceLimitError).
CREDIT = f"UPDATE users SET balance = balance + $2 WHERE id = $1 AND balance <= {MAX_BALANCE} - $2 RETURNING balance"
INSERT_ENTRY = (
    "INSERT INTO ledger (key, user_id, amount, balance_after, reason, created_at) VALUES ($1, $2, $3, $4, $5, $6) "
    f"ON CONFLICT (key) DO NOTHING RETURNING {codec.ENTRY_COLUMNS}"
)
ENTRY_BY_KEY = f"SELECT {codec.ENTRY_COLUMNS} FROM ledger WHERE key = $1"
# Both LEAST()s read the row as it was before this UPDATE; the caller knows the balance before (it holds the lock).
SETTLE = (
    "UPDATE users SET balance = balance - LEAST(debt, $2), debt = debt - LEAST(debt, $2) "
    "WHERE id = $1 AND debt > 0 RETURNING balance"
)
TAKE_BACK = (
    "WITH old AS (SELECT id, LEAST(balance, $2) AS taken FROM users WHERE id = $1 FOR UPDATE) "
    "UPDATE users SET balance = balance - old.taken, debt = debt + ($2 - old.taken) FROM old "
    "WHERE users.id = old.id RETURNING users.balance, old.taken"
)
BALANCE = "SELECT balance FROM users WHERE id = $1"


async def move(
    conn: asyncpg.Connection, user_id: int, amount: int, key: str, reason: str, now: datetime
) -> tuple[LedgerEntry, bool]:
    """Move ``amount`` (signed: > 0 credit, < 0 debit) for the user; the entry, and whether it is new.

    Must run inside a transaction. Raises UnknownUserError, InsufficientBalanceError or BalanceLimitError (nothing
    changed) or IdempotencyConflictError; the caller's transaction then rolls back whatever else it did.
    """
    change, undo = (CREDIT, DEBIT) if amount > 0 else (DEBIT, CREDIT)
    # An amount beyond BIGINT cannot be a parameter: it is refused as the guarded UPDATEs would refuse it.
    balance = await conn.fetchval(change, user_id, abs(amount)) if abs(amount) <= MAX_BALANCE else None
    if balance is None:  # unknown user, a debit beyond the balance or a credit beyond BIGINT: unless this key moved
        current = await conn.fetchval(BALANCE, user_id)
        if current is None:
            raise UnknownUserError(f"unknown user {user_id}")
        existing = await _existing(conn, key, user_id, amount)
        if existing is not None:
            return existing, False
        if amount > 0:
            raise BalanceLimitError(current, amount)
        raise InsufficientBalanceError(current, -amount)
    row = await conn.fetchrow(INSERT_ENTRY, key, user_id, amount, balance, reason, now)
    if row is not None:
        if amount > 0:
            await _settle(conn, user_id, amount, balance, key, now)
        return codec.entry(row), True
    existing = await _existing(conn, key, user_id, amount)
    if existing is None:  # the key vanished between the two statements: only a manual DELETE does that
        raise IdempotencyConflictError(f"key {key!r} is taken and gone again; refusing to move money")
    await conn.fetchval(undo, user_id, abs(amount))  # exact: this transaction holds the row lock
    return existing, False


async def take_back(conn: asyncpg.Connection, user_id: int, amount: int, key: str, reason: str, now: datetime) -> int:
    """Debit ``min(amount, balance)`` (entry ``key``) and add the rest to the user's debt; what was debited.

    Must run inside a transaction; IdempotencyConflictError (rolling the caller back) when ``key`` is taken."""
    row = await conn.fetchrow(TAKE_BACK, user_id, amount)
    if row is None:
        raise UnknownUserError(f"unknown user {user_id}")
    if row["taken"] > 0:
        await _insert_new(conn, key, user_id, -row["taken"], row["balance"], reason, now)
    return row["taken"]


async def _settle(conn: asyncpg.Connection, user_id: int, credited: int, balance: int, key: str, now: datetime) -> None:
    """Pay the user's debt out of the credit just made (``balance``: the balance after it, under our row lock)."""
    after = await conn.fetchval(SETTLE, user_id, credited)
    if after is not None:
        await _insert_new(conn, f"settle:{key}", user_id, after - balance, after, "debt", now)


async def _insert_new(
    conn: asyncpg.Connection, key: str, user_id: int, amount: int, balance: int, reason: str, now: datetime
) -> None:
    if await conn.fetchrow(INSERT_ENTRY, key, user_id, amount, balance, reason, now) is None:
        raise IdempotencyConflictError(f"key {key!r} is taken; refusing to move {amount} for user {user_id}")


async def _existing(conn: asyncpg.Connection, key: str, user_id: int, amount: int) -> LedgerEntry | None:
    row = await conn.fetchrow(ENTRY_BY_KEY, key)
    if row is None:
        return None
    if row["user_id"] != user_id or row["amount"] != amount:
        raise IdempotencyConflictError(
            f"key {key!r} already moved {row['amount']} for user {row['user_id']}, not {amount} for user {user_id}"
        )
    return codec.entry(row)
