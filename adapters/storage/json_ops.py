"""One journal record: a document operation's name and its arguments, as one line of JSON.

The JSON documents (json_state.State, json_inbox.InboxDocument, json_admin.AdminDocument) change only
through methods that are deterministic given their arguments (time comes in as ``now``), so calling the
same method with the same arguments on the same document replays a change exactly. A record is
``{"op": name, "a": [args], "k": {kwargs}}``; every value is tagged when plain JSON would lose its type:

    tuple {"$t": [...]}   set/frozenset {"$s": [...]}   dict {"$d": [[key, value], ...]}
    datetime {"$dt": iso}   date {"$date": iso}   Decimal {"$dec": "1.5"}
    Enum {"$e": "module:Class", "v": value}   dataclass {"$c": "module:Class", "v": {field: value}}
    JsonData(value) {"$j": value}: JSON data carried as is (a unit of work's rows: json_uow.py)

Lists, str, int, bool, float and None are themselves. A class is looked up only among modules already
imported (a record never imports code). Encoding raises TypeError/ValueError for anything else, before the
operation runs.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

_PLAIN = (str, int, bool, float, type(None))


@dataclasses.dataclass(frozen=True)
class JsonData:
    """A value that is JSON data already (str keys, lists, str, int, bool, float, None): journaled verbatim, read
    back as the plain value. The caller vouches for it; json.dumps still refuses what is not JSON."""

    value: Any


def encode_call(op: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bytes:
    """The record of ``document.op(*args, **kwargs)``: one line of UTF-8 JSON ending in a newline."""
    record = {"op": op, "a": [_encode(value) for value in args], "k": {key: _encode(v) for key, v in kwargs.items()}}
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8") + b"\n"


def decode_call(line: bytes) -> tuple[str, list[Any], dict[str, Any]]:
    """(op, args, kwargs) of one record; ValueError/TypeError when the line is not one."""
    record = json.loads(line)
    if not isinstance(record, dict) or set(record) != {"op", "a", "k"}:
        raise ValueError("not a journal record")
    op, args, kwargs = record["op"], record["a"], record["k"]
    if not isinstance(op, str) or not op or op.startswith("_"):
        raise ValueError(f"bad operation name {op!r}")
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise ValueError("bad arguments")
    return op, [_decode(value) for value in args], {key: _decode(value) for key, value in kwargs.items()}


def _encode(value: Any) -> Any:
    if type(value) is JsonData:
        return {"$j": value.value}
    if isinstance(value, Enum):
        return {"$e": _class_name(type(value)), "v": _encode(value.value)}
    if type(value) in _PLAIN:
        return value
    if isinstance(value, list):
        return [_encode(item) for item in value]
    if isinstance(value, tuple):
        return {"$t": [_encode(item) for item in value]}
    if isinstance(value, (set, frozenset)):
        return {"$s": [_encode(item) for item in value]}
    if isinstance(value, Mapping):
        return {"$d": [[_encode(key), _encode(item)] for key, item in value.items()]}
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {field.name: _encode(getattr(value, field.name)) for field in dataclasses.fields(value) if field.init}
        return {"$c": _class_name(type(value)), "v": fields}
    raise TypeError(f"cannot journal a {type(value).__name__}: {value!r}")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(item) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((tag, inner),) = value.items()
        if tag == "$t":
            return tuple(_decode(item) for item in inner)
        if tag == "$s":
            return frozenset(_decode(item) for item in inner)
        if tag == "$d":
            return {_decode(key): _decode(item) for key, item in inner}
        if tag == "$dt":
            return datetime.fromisoformat(inner)
        if tag == "$date":
            return date.fromisoformat(inner)
        if tag == "$dec":
            return Decimal(inner)
        if tag == "$j":
            return inner
    if set(value) == {"$e", "v"}:
        return _class(value["$e"])(_decode(value["v"]))
    if set(value) == {"$c", "v"}:
        cls = _class(value["$c"])
        if not dataclasses.is_dataclass(cls):
            raise ValueError(f"{value['$c']} is not a dataclass")
        return cls(**{name: _decode(item) for name, item in value["v"].items()})
    raise ValueError(f"untagged object {value!r}")


def _class_name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _class(name: Any) -> Any:
    module_name, _, qualname = str(name).partition(":")
    module = sys.modules.get(module_name)
    if module is None or not qualname:
        raise ValueError(f"unknown class {name!r}")
    found: Any = module
    for part in qualname.split("."):
        found = getattr(found, part, None)
    if not isinstance(found, type):
        raise ValueError(f"unknown class {name!r}")
    return found
