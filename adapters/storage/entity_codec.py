"""Frozen dataclasses <-> JSON-ready values, driven by the type hints of the port entities.

One converter for every entity (User, LedgerEntry, Draft, Job): datetimes become timezone-aware UTC ISO
strings of fixed width (so they also sort as text), tuples become lists, enums their value, Mappings plain
dicts. Encoding checks types, so a bad value fails before it reaches the state, never at write time.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from enum import Enum
from functools import cache
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

T = TypeVar("T")

_SCALARS = (str, bool, int, float)


def encode(entity: Any) -> dict[str, Any]:
    """The JSON-ready form of a dataclass instance."""
    hints = _hints(type(entity))
    return {
        field.name: _encode(getattr(entity, field.name), hints[field.name], field.name)
        for field in dataclasses.fields(entity)
    }


def encode_field(cls: type, name: str, value: Any) -> Any:
    """The JSON-ready form of one field value of ``cls``."""
    return _encode(value, _hints(cls)[name], name)


def decode(cls: type[T], data: Mapping[str, Any]) -> T:
    """Rebuild ``cls`` from its JSON form; raises TypeError/ValueError when the data does not fit."""
    if not isinstance(data, Mapping):
        raise TypeError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
    hints = _hints(cls)
    values = {
        field.name: _decode(data[field.name], hints[field.name], field.name)
        for field in dataclasses.fields(cls)  # type: ignore[arg-type]
        if field.name in data
    }
    return cls(**values)


def json_text(value: Any) -> str:
    """Compact JSON text of JSON data (the one serialisation both storages use for free-form JSON)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def payload_text(update: Any) -> str:
    """An ``InboxUpdate``'s payload as JSON text: the text it arrived as when the caller kept it (the port
    says it is the payload's JSON, so it is stored verbatim, never serialised again), else ``payload``
    checked as JSON data and serialised once."""
    if update.text is not None:
        if not isinstance(update.text, str):
            raise TypeError(f"text: expected str, got {type(update.text).__name__}")
        return update.text
    return json_text(encode_field(type(update), "payload", update.payload))


def utc_text(moment: datetime) -> str:
    if not isinstance(moment, datetime):
        raise TypeError(f"expected a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: storage needs timezone-aware datetimes")
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def decimal_text(value: Any, where: str = "value") -> str:
    """An exact Decimal as its plain text ("12.5"); floats are refused (they are not exact)."""
    if not isinstance(value, Decimal):
        raise TypeError(f"{where}: expected a Decimal, got {type(value).__name__} {value!r}")
    if not value.is_finite():
        raise ValueError(f"{where}: {value!r} cannot be stored")
    return format(value, "f")


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _encode(value: Any, hint: Any, where: str) -> Any:
    origin = get_origin(hint)
    if hint is Any:
        return _plain(value, where)
    if origin in (typing.Union, types.UnionType):
        return _encode_union(value, get_args(hint), where)
    if hint is datetime:
        return utc_text(value)
    if hint is Decimal:
        return decimal_text(value, where)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint(value).value
    if hint in _SCALARS:
        return _scalar(value, (hint,), where)
    if origin is tuple:
        _expect(value, (tuple, list), where)
        return [_encode(item, _item_hint(hint), where) for item in value]
    if origin in (Mapping, dict):
        _expect(value, Mapping, where)
        value_hint = get_args(hint)[1]
        return {_key(key, where): _encode(item, value_hint, f"{where}.{key}") for key, item in value.items()}
    raise TypeError(f"{where}: unsupported type hint {hint!r}")


def _decode(value: Any, hint: Any, where: str) -> Any:
    origin = get_origin(hint)
    if hint is Any:
        return _plain(value, where)  # a fresh copy: callers must not share containers with the state
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in get_args(hint):
            return None
        options = [arg for arg in get_args(hint) if arg is not type(None)]
        if len(options) == 1:
            return _decode(value, options[0], where)
        return _scalar(value, tuple(options), where)
    if hint is Decimal:
        _expect(value, str, where)
        try:
            return Decimal(decimal_text(Decimal(value), where))
        except InvalidOperation:
            raise ValueError(f"{where}: {value!r} is not a decimal number") from None
    if hint is datetime:
        _expect(value, str, where)
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError(f"{where}: naive datetime {value!r}")
        return moment.astimezone(timezone.utc)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint(value)
    if hint in _SCALARS:
        return _scalar(value, (hint,), where)
    if origin is tuple:
        _expect(value, list, where)
        return tuple(_decode(item, _item_hint(hint), where) for item in value)
    if origin in (Mapping, dict):
        _expect(value, dict, where)
        value_hint = get_args(hint)[1]
        return {key: _decode(item, value_hint, f"{where}.{key}") for key, item in value.items()}
    raise TypeError(f"{where}: unsupported type hint {hint!r}")


def _encode_union(value: Any, options: tuple[Any, ...], where: str) -> Any:
    if value is None:
        if type(None) in options:
            return None
        raise TypeError(f"{where}: None is not allowed")
    rest = [arg for arg in options if arg is not type(None)]
    if len(rest) == 1:
        return _encode(value, rest[0], where)
    return _scalar(value, tuple(rest), where)


def _scalar(value: Any, allowed: tuple[Any, ...], where: str) -> Any:
    """Exact scalar types (a bool is not an int here); an int is accepted where a float is expected."""
    kind = type(value)
    if kind not in allowed and not (kind is int and float in allowed):
        names = " | ".join(getattr(arg, "__name__", repr(arg)) for arg in allowed)
        raise TypeError(f"{where}: expected {names}, got {kind.__name__} {value!r}")
    if kind is float and not math.isfinite(value):
        raise ValueError(f"{where}: {value!r} cannot be stored as JSON")
    return value


def _plain(value: Any, where: str) -> Any:
    """Free-form JSON (``Mapping[str, Any]`` fields): scalars, lists and string-keyed objects only."""
    if value is None:
        return None
    if type(value) in _SCALARS:
        return _scalar(value, _SCALARS, where)
    if isinstance(value, (list, tuple)):
        return [_plain(item, where) for item in value]
    if isinstance(value, Mapping):
        return {_key(key, where): _plain(item, f"{where}.{key}") for key, item in value.items()}
    raise TypeError(f"{where}: {type(value).__name__} {value!r} is not JSON data")


def _item_hint(hint: Any) -> Any:
    args = get_args(hint)
    if len(args) != 2 or args[1] is not Ellipsis:
        raise TypeError(f"only tuple[X, ...] is supported, got {hint!r}")
    return args[0]


def _key(key: Any, where: str) -> str:
    if not isinstance(key, str):
        raise TypeError(f"{where}: mapping keys must be strings, got {key!r}")
    return key


def _expect(value: Any, kinds: type | tuple[type, ...], where: str) -> None:
    if not isinstance(value, kinds):
        raise TypeError(f"{where}: unexpected {type(value).__name__} {value!r}")
