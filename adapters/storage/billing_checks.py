"""The rules both storages apply alike to ports.billing and ports.admin arguments (JSON and PostgreSQL
import them, so both refuse the same values with the same errors and read a query the same way).

Pure and synchronous: no storage, no I/O. Every check returns the value it accepted.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from adapters.storage.json_codec import encode
from ports.billing import ManualTopup, StarsPayment, TopupState

# ports.admin.StatsSummary: users_active and revenue are given for these windows (days back from ``now``).
STATS_DAYS = (1, 7, 30)
# UserDirectory.touch writes last_seen_at only when the stored one is at least this old.
TOUCH_EVERY = timedelta(minutes=10)

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMERIC_ID = re.compile(r"^-?\d+$")
_BIGINT = 2**63


def amount(value: Any, what: str = "an amount") -> int:
    """An int of the smallest unit, > 0 (a bool is refused)."""
    if type(value) is not int:
        raise TypeError(f"{what} must be an int of the smallest unit, got {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{what} must be > 0, got {value}")
    return value


def bonus(value: Any, what: str) -> int:
    """An int >= 0 (0: nothing to credit)."""
    if type(value) is not int or value < 0:
        raise ValueError(f"{what} must be an int >= 0, got {value!r}")
    return value


def count(value: Any, what: str = "a count") -> int:
    if type(value) is not int or value < 0:
        raise ValueError(f"{what} must be an int >= 0, got {value!r}")
    return value


def text_id(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    return value


def day(value: Any) -> str:
    """A free-tier day, YYYY-MM-DD."""
    if not isinstance(value, str) or not _DAY.match(value):
        raise ValueError(f"a day is YYYY-MM-DD text, got {value!r}")
    return value


def stars_payment(payment: StarsPayment) -> dict[str, Any]:
    """The payment's JSON form (types checked by the codec) once its amounts and ids are valid."""
    record = encode(payment)
    text_id(payment.charge_id, "a charge id")
    amount(payment.stars, "stars")
    amount(payment.amount, "a payment amount")
    if payment.refunded_at is not None:
        raise ValueError(f"payment {payment.charge_id}: a payment is recorded before any refund")
    return record


def new_topup(topup: ManualTopup) -> dict[str, Any]:
    """A top-up to create: valid amount and id, still PENDING and undecided."""
    record = encode(topup)
    text_id(topup.id, "a top-up id")
    amount(topup.amount, "a top-up amount")
    if topup.state is not TopupState.PENDING or topup.decided_by is not None or topup.decided_at is not None:
        raise ValueError(f"top-up {topup.id}: a new top-up is PENDING and undecided, got {topup.state.value}")
    return record


def directory_query(query: Any) -> int | str | None:
    """What UserDirectory.find looks for: a user id (int), a lower-case username (str), or None."""
    if not isinstance(query, str):
        raise TypeError(f"a directory query is a string, got {type(query).__name__}")
    query = query.strip()
    if _NUMERIC_ID.match(query):
        user_id = int(query)
        return user_id if -_BIGINT <= user_id < _BIGINT else None  # beyond any stored id
    name = query.removeprefix("@")
    return name.lower() if name and not name.startswith("@") and not any(c.isspace() for c in name) else None
