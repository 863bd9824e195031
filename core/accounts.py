"""The money rules, decided once: pure functions on an Account that return the ledger entries to add and the
account after them. No storage, no I/O; core/cashier.py runs them inside a unit of work.

- Money is an int of the smallest unit; an amount moved is > 0 (a bool is not an int here).
- A debit never takes a balance below 0 (InsufficientBalanceError); a credit never takes it above
  MAX_BALANCE, PostgreSQL's BIGINT (BalanceLimitError). Either way nothing changes.
- Every movement has an idempotency key (the names below). The same key again for the same user and amount
  is a no-op returning the first entry; for anything else it is IdempotencyConflictError.
- A credit to a user with a debt settles it first: a second entry ``settle:<key>`` (reason "debt") takes
  ``min(debt, amount)`` back, so the ledger still sums to the balance.
- A take-back (a Stars refund) debits what the balance holds; the rest becomes the user's debt.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ports.model import Account, LedgerEntry, ManualTopup, Referral, StarsPayment, TopupState
from ports.storage import MAX_BALANCE, BalanceLimitError, IdempotencyConflictError, InsufficientBalanceError
from ports.values import bonus as bonus, count as count, day as day, text_id as text_id  # re-exported: ports/values.py

# --- key naming: one movement per key, forever --------------------------------------------------


def launch_key(job_id: str) -> str:
    return f"launch:{job_id}"


def refund_key(job_id: str) -> str:
    return f"refund:{job_id}"


def stars_key(charge_id: str) -> str:
    return f"stars:{charge_id}"


def stars_refund_key(charge_id: str) -> str:
    return f"stars_refund:{charge_id}"


def manual_key(topup_id: str) -> str:
    return f"manual:{topup_id}"


def referral_key(invitee_id: int, side: str) -> str:
    return f"ref:{invitee_id}:{side}"  # side: "inviter" | "invitee"


def welcome_key(user_id: int) -> str:
    return f"welcome:{user_id}"


def settle_key(key: str) -> str:
    return f"settle:{key}"


# --- values -------------------------------------------------------------------------------------


def amount(value: Any, what: str = "an amount") -> int:
    """An int of the smallest unit, > 0."""
    if type(value) is not int:
        raise TypeError(f"{what} must be an int of the smallest unit, got {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{what} must be > 0, got {value}")
    return value


def user_id(value: Any) -> int:
    if type(value) is not int:
        raise TypeError(f"a user id must be an int, got {type(value).__name__}")
    return value


# --- movements ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Movement:
    """What one movement writes: its entries (the first is the movement itself) and the account after."""

    entries: tuple[LedgerEntry, ...]
    account: Account

    @property
    def entry(self) -> LedgerEntry:
        return self.entries[0]


def credit(account: Account, value: int, key: str, reason: str, now: datetime) -> Movement:
    """Add ``value``; a debt is settled out of it in the same movement."""
    value = amount(value)
    entry = _entry(account, value, key, reason, now)
    if entry.balance_after > MAX_BALANCE:
        raise BalanceLimitError(account.balance, value)
    settled = min(account.debt, value)
    if not settled:
        return Movement((entry,), replace(account, balance=entry.balance_after))
    settlement = LedgerEntry(settle_key(key), account.user_id, -settled, entry.balance_after - settled, "debt", now)
    return Movement((entry, settlement), replace(account, balance=settlement.balance_after, debt=account.debt - settled))


def debit(account: Account, value: int, key: str, reason: str, now: datetime) -> Movement:
    """Take ``value``; InsufficientBalanceError when the balance is below it."""
    value = amount(value)
    if account.balance < value:
        raise InsufficientBalanceError(account.balance, value)
    entry = _entry(account, -value, key, reason, now)
    return Movement((entry,), replace(account, balance=entry.balance_after))


def take_back(account: Account, value: int, key: str, reason: str, now: datetime) -> Movement:
    """Debit what the balance holds of ``value``; the rest becomes debt (no entry when nothing is taken)."""
    value = amount(value)
    taken = min(value, account.balance)
    entries = (_entry(account, -taken, key, reason, now),) if taken else ()
    return Movement(entries, replace(account, balance=account.balance - taken, debt=account.debt + value - taken))


def check_repeat(existing: LedgerEntry, user: int, signed_amount: int) -> LedgerEntry:
    """A key used before: the same movement is a no-op returning the first entry; anything else is a bug."""
    if existing.user_id != user or existing.amount != signed_amount:
        raise IdempotencyConflictError(
            f"key {existing.key!r} already moved {existing.amount} for user {existing.user_id}, "
            f"not {signed_amount} for user {user}"
        )
    return existing


def _entry(account: Account, signed_amount: int, key: str, reason: str, now: datetime) -> LedgerEntry:
    text_id(key, "an idempotency key")
    if not isinstance(reason, str):
        raise TypeError(f"a reason is a string, got {type(reason).__name__}")
    return LedgerEntry(key, account.user_id, signed_amount, account.balance + signed_amount, reason, now)


# --- what justifies a movement ------------------------------------------------------------------


def valid_payment(payment: StarsPayment) -> StarsPayment:
    text_id(payment.charge_id, "a charge id")
    amount(payment.stars, "stars")
    amount(payment.amount, "a payment amount")
    if payment.refunded_at is not None:
        raise ValueError(f"payment {payment.charge_id}: a payment is recorded before any refund")
    return payment


def valid_new_topup(topup: ManualTopup) -> ManualTopup:
    text_id(topup.id, "a top-up id")
    amount(topup.amount, "a top-up amount")
    if topup.state is not TopupState.PENDING or topup.decided_by is not None or topup.decided_at is not None:
        raise ValueError(f"top-up {topup.id}: a new top-up is PENDING and undecided, got {topup.state.value}")
    return topup


def decided(topup: ManualTopup, approve: bool, admin_id: int, now: datetime) -> ManualTopup | None:
    """The top-up decided by ``admin_id``; None when it was decided before (only a PENDING one moves)."""
    if topup.state is not TopupState.PENDING:
        return None
    state = TopupState.APPROVED if approve else TopupState.REJECTED
    return replace(topup, state=state, decided_by=user_id(admin_id), decided_at=now)


def may_link(invitee_id: int, inviter_id: int) -> bool:
    """A user is invited once (checked by the caller against the stored link), never by themself."""
    return user_id(invitee_id) != user_id(inviter_id)


def rewardable(referral: Referral | None) -> bool:
    """The pair's bonus is paid once, after the invitee's first paid top-up."""
    return referral is not None and referral.rewarded_at is None


def free_try_taken(used: int, limit: int) -> bool:
    """A free try is taken when fewer than ``limit`` of the day's are (and stay) taken."""
    return used < count(limit, "limit")
