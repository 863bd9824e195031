"""The checks both storages apply alike to the arguments of their read and admin roles (JSON and PostgreSQL
import them, so both refuse the same values with the same errors and read a query the same way).

Pure and synchronous: no storage, no I/O. Every check returns the value it accepted.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

from adapters.storage.entity_codec import decimal_text, encode_field
from ports.admin import Broadcast, BroadcastState
from ports.values import bonus as bonus, count as count, day as day, text_id as text_id  # re-exported: ports/values.py

# ports.admin.StatsSummary: users_active and revenue are given for these windows (days back from ``now``).
STATS_DAYS = (1, 7, 30)
# UserDirectory.touch writes last_seen_at only when the stored one is at least this old.
TOUCH_EVERY = timedelta(minutes=10)

_NUMERIC_ID = re.compile(r"^-?\d+$")
_BIGINT = 2**63


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


# --- ports.admin arguments ------------------------------------------------------------------------

FINISHED = frozenset({BroadcastState.DONE.value, BroadcastState.CANCELLED.value})


def flag(value: bool) -> bool:
    if type(value) is not bool:
        raise TypeError(f"expected a bool, got {type(value).__name__} {value!r}")
    return value


def model_id_of(value: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"a model id is a non-empty string, got {value!r}")
    return value


def markup_text(markup: Decimal) -> str:
    """The plain decimal text of a markup: a finite Decimal > 0 (a float would not be exact)."""
    if not isinstance(markup, Decimal):
        raise TypeError(f"a markup is a Decimal, got {type(markup).__name__} {markup!r}")
    if not markup.is_finite() or markup <= 0:
        raise ValueError(f"a markup must be a finite Decimal > 0, got {markup!r}")
    return format(markup, "f")


def price_text(credits: Decimal) -> str:
    """An operator's price, KIE credits per billed unit: a finite Decimal > 0, as plain text."""
    text = decimal_text(credits, "credits")
    if credits <= 0:
        raise ValueError(f"a price must be > 0 credits, got {credits!r}")
    return text


def user_cursor(value: int) -> int:
    return encode_field(Broadcast, "cursor", value)  # an exact int (a bool is refused)


def counts(delivered: int, failed: int, blocked: int) -> tuple[int, int, int]:
    return count(delivered), count(failed), count(blocked)


def finished_state(state: BroadcastState) -> BroadcastState:
    state = BroadcastState(state)
    if state.value not in FINISHED:
        raise ValueError(f"a broadcast finishes as done or cancelled, not {state.value}")
    return state
