"""Checks of plain values that cross the ports: the core's rules and the storages refuse the same values with the
same errors (a count, a bonus, a text id, a free-tier day)."""

from __future__ import annotations

import re
from typing import Any

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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
