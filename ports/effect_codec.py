"""Effects as JSON data and back: what the outbox stores (both storages) and the sender reads (entrypoints).

``encode(effect)`` gives a dict of JSON values (``{"type": "SendScreen", ...fields}``); ``decode(data)``
rebuilds an equal effect, or raises ValueError naming what is wrong (never a half-built effect). Every
effect type of ports.effects round-trips (``notes``, which does not take part in equality, included).
Standard library only, so storage adapters and entrypoints may both use it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from ports.effects import (
    AnswerCallback,
    AnswerPreCheckout,
    EditScreen,
    Effect,
    ResultKind,
    SendAlbum,
    SendFile,
    SendInvoice,
    SendMedia,
    SendScreen,
)
from ports.screens import Button, Keyboard, Screen

TYPES: dict[str, type] = {cls.__name__: cls for cls in (
    SendScreen, EditScreen, AnswerCallback, SendMedia, SendAlbum, SendFile, SendInvoice, AnswerPreCheckout)}

_OPTIONAL_INT = ("thread_id",)  # int or None


def encode(effect: Effect) -> dict[str, Any]:
    name = type(effect).__name__
    if name not in TYPES or type(effect) is not TYPES[name]:
        raise ValueError(f"not an effect: {type(effect).__name__}")
    data: dict[str, Any] = {"type": name}
    for field in dataclasses.fields(effect):
        value = getattr(effect, field.name)
        if field.name == "screen":
            value = _screen_out(value)
        elif field.name == "keyboard":
            value = _keyboard_out(value)
        elif field.name == "kind":
            value = value.value
        elif field.name == "urls":
            value = list(value)
        elif field.name == "notes":
            value = dict(value)
        data[field.name] = value
    return data


def decode(data: Mapping[str, Any]) -> Effect:
    if not isinstance(data, Mapping):
        raise ValueError(f"an encoded effect is an object, got {type(data).__name__}")
    cls = TYPES.get(data.get("type"))  # type: ignore[arg-type]
    if cls is None:
        raise ValueError(f"unknown effect type {data.get('type')!r}")
    names = {field.name for field in dataclasses.fields(cls)}
    extra = set(data) - names - {"type"}
    if extra:
        raise ValueError(f"{cls.__name__}: unknown fields {sorted(extra)}")
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        if field.name not in data:
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                raise ValueError(f"{cls.__name__}: missing {field.name!r}")
            continue
        values[field.name] = _field_in(cls.__name__, field.name, data[field.name])
    return cls(**values)  # type: ignore[no-any-return]


def _field_in(owner: str, name: str, value: Any) -> Any:
    where = f"{owner}.{name}"
    if name == "screen":
        return _screen_in(value, where)
    if name == "keyboard":
        return _keyboard_in(value, where)
    if name == "kind":
        try:
            return ResultKind(value)
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None
    if name == "urls":
        return tuple(_str(url, where) for url in _list(value, where))
    if name == "notes":
        if not isinstance(value, Mapping):
            raise ValueError(f"{where} is an object")
        return {_str(key, where): _str(text, where) for key, text in value.items()}
    if name in ("chat_id", "message_id", "stars"):
        return _int(value, where)
    if name in _OPTIONAL_INT:
        return None if value is None else _int(value, where)
    if name in ("alert", "ok"):
        if type(value) is not bool:
            raise ValueError(f"{where} is a bool")
        return value
    return _str(value, where)


def _screen_out(screen: Screen) -> dict[str, Any]:
    return {"text": screen.text, "keyboard": _keyboard_out(screen.keyboard), "screen_id": screen.screen_id}


def _screen_in(value: Any, where: str) -> Screen:
    if not isinstance(value, Mapping) or set(value) - {"text", "keyboard", "screen_id"}:
        raise ValueError(f"{where} is an object with text, keyboard, screen_id")
    return Screen(_str(value.get("text"), where), _keyboard_in(value.get("keyboard", []), where),
                  _str(value.get("screen_id", ""), where))


def _keyboard_out(keyboard: Keyboard) -> list[list[list[str | None]]]:
    return [[[button.label, button.data, button.url] for button in row] for row in keyboard]


def _keyboard_in(value: Any, where: str) -> Keyboard:
    rows = []
    for row in _list(value, where):
        buttons = []
        for item in _list(row, where):
            parts = _list(item, where)
            if len(parts) != 3:
                raise ValueError(f"{where}: a button is [label, data, url]")
            label, data, url = parts
            buttons.append(Button(_str(label, where), _optional_str(data, where), _optional_str(url, where)))
        rows.append(tuple(buttons))
    return tuple(rows)


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{where}: expected a list, got {type(value).__name__}")
    return list(value)


def _str(value: Any, where: str) -> str:
    if type(value) is not str:
        raise ValueError(f"{where}: expected a string, got {type(value).__name__}")
    return value


def _optional_str(value: Any, where: str) -> str | None:
    return None if value is None else _str(value, where)


def _int(value: Any, where: str) -> int:
    if type(value) is not int:
        raise ValueError(f"{where}: expected an integer, got {type(value).__name__}")
    return value
