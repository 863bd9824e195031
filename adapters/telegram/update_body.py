"""A webhook request body → one Telegram update, read once; its text is what the inbox stores, verbatim.

Telegram sends an update as UTF-8 JSON. A body is taken when every JSON reader, both storages and the rest
of the bot can use it as it is; anything else is refused with :class:`MalformedUpdateError` (the webhook
answers 400, which Telegram does not retry into a loop of 500s):

- strict UTF-8 (no encoded surrogates), JSON as RFC 8259 has it: no ``NaN``/``Infinity``, no number that
  overflows a double (``1e999``), integers within Python's 4,300-digit conversion limit;
- no lone surrogate escape (``"\\ud800"``): it is not Unicode text, and encoding it later would fail;
- nesting at most MAX_DEPTH levels (real updates are about ten deep; deeper input would reach the
  interpreter's recursion limit in whatever walks it next);
- an object whose ``update_id`` is an integer from 0 to updates.ID_LIMIT.

U+0000 is fine: JSON can carry it only escaped (``\\u0000``), and the text is stored with the escape kept
(PostgreSQL's JSONB refuses U+0000, so the inbox column is plain text). Reading the body once here is also
the whole of the webhook's per-request parsing: the payload goes to the dispatcher, the text to storage.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from adapters.telegram.updates import ID_LIMIT

MAX_DEPTH = 64
_SURROGATE = re.compile("[\ud800-\udfff]")


class MalformedUpdateError(ValueError):
    """The body is not a Telegram update this bot can store and process; the message says why (no content)."""


@dataclass(frozen=True)
class UpdateBody:
    update_id: int
    payload: dict[str, Any]
    text: str  # the JSON exactly as received (decoded from UTF-8), for storage


def read_update(body: bytes) -> UpdateBody:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedUpdateError("body is not UTF-8") from None
    try:
        payload = _DECODER.decode(text)
    except RecursionError:
        raise MalformedUpdateError(f"body nests deeper than {MAX_DEPTH} levels") from None
    except ValueError as error:  # JSONDecodeError, NaN/Infinity, 1e999, an integer over 4,300 digits
        raise MalformedUpdateError(f"body is not JSON ({str(error)[:60]})") from None
    if not isinstance(payload, dict):
        raise MalformedUpdateError("not a Telegram update (not an object)")
    update_id = payload.get("update_id")
    if type(update_id) is not int or not 0 <= update_id < ID_LIMIT:
        raise MalformedUpdateError("not a Telegram update (no update_id)")
    _check_nesting_and_text(payload, surrogates_possible="\\u" in text)
    return UpdateBody(update_id, payload, text)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError("a number out of range")
    return value


_DECODER = json.JSONDecoder(parse_float=_finite_float, parse_constant=_refuse_constant)


def _check_nesting_and_text(payload: dict[str, Any], surrogates_possible: bool) -> None:
    """Walk the parsed value without recursion. Surrogates can only come from ``\\u`` escapes (the text was
    decoded strictly), so strings are searched only when the body has one."""
    stack: list[tuple[Any, int]] = [(payload, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise MalformedUpdateError(f"body nests deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            items = value.values()
            if surrogates_possible and any(_SURROGATE.search(key) for key in value):
                raise MalformedUpdateError("a lone surrogate in a key")
        elif isinstance(value, list):
            items = value
        else:
            continue
        for item in items:
            if isinstance(item, (dict, list)):
                stack.append((item, depth + 1))
            elif surrogates_possible and isinstance(item, str) and _SURROGATE.search(item):
                raise MalformedUpdateError("a lone surrogate in a string")
