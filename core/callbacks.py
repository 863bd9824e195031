"""Typed callback data, in the spirit of aiogram's ``CallbackData`` factory: a button family is one frozen
dataclass with a prefix and typed fields; ``pack()`` writes ``prefix:field:field`` and ``unpack()`` reads it
back into the typed fields. The declarations live in core/callback_data.py, the table from family to handler
in core/routes.py.

Field types: ``int`` (a non-negative integer, written in decimal without leading zeros; ``Annotated[int,
Digits(n)]`` for more than six digits), ``Annotated[str, Bytes(n)]`` (an id: non-empty, no separator, at most
n UTF-8 bytes), ``Literal["a", "b"]``; each may be ``| None`` when it is trailing (omitted on the wire).
Every field has a most width, so the widest payload of each family is known and checked against Telegram's
64 bytes once, by ``CallbackParser`` (when the routes are built) and by a unit test; ``pack()`` checks the
field widths and the 64 bytes again when a button is built, and ``unpack()`` reads by the same rules, so a
payload that was read can always be packed again (into the buttons of the screen it leads to).

Old buttons stay in chat history for months: add new families, never change the meaning of an old prefix or
the order of its fields; ``CallbackParser.parse`` gives None for an unknown or malformed payload, and the bot
answers it with a "menu updated" screen.
"""

from __future__ import annotations

import dataclasses
import types
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Iterable, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

MAX_CALLBACK_BYTES = 64
SEPARATOR = ":"
INT_DIGITS = 6  # an int field's width unless declared (pages, indexes, Stars packages)


class CallbackDataError(ValueError):
    """A payload that cannot be built (a bug, caught by unit tests) or read (stale, foreign or malformed)."""


@dataclass(frozen=True)
class Digits:
    """``Annotated[int, Digits(n)]``: an int field of up to ``n`` decimal digits."""

    most: int


@dataclass(frozen=True)
class Bytes:
    """``Annotated[str, Bytes(n)]``: a str field of up to ``n`` UTF-8 bytes."""

    most: int


def int_field(value: str, digits: int = INT_DIGITS) -> int | None:
    """A non-negative integer written exactly as ``pack`` writes one (1 to ``digits`` ASCII digits, no leading
    zero), or None. ``str.isdigit`` alone also accepts "²" and "①", which ``int`` refuses."""
    if not 0 < len(value) <= digits or not value.isascii() or not value.isdigit():
        return None
    return int(value) if value == "0" or value[0] != "0" else None


@dataclass(frozen=True)
class Field:
    """One typed field of a family: how it is written, read, and how wide it can get."""

    name: str
    kind: type  # int or str
    most: int  # digits for an int, UTF-8 bytes for a str
    optional: bool = False
    choices: tuple[str, ...] = ()  # a Literal's values

    def pack(self, value: object) -> str:
        if self.kind is int:
            if type(value) is not int or not 0 <= value < 10**self.most:
                raise CallbackDataError(f"{self.name}={value!r} is not an integer of 0..{self.most} digits")
            return str(value)
        if not isinstance(value, str) or not value or SEPARATOR in value:
            raise CallbackDataError(f"{self.name}={value!r} is empty, not a string or contains {SEPARATOR!r}")
        if self.choices and value not in self.choices:
            raise CallbackDataError(f"{self.name}={value!r} is not one of {self.choices}")
        if len(value.encode("utf-8")) > self.most:
            raise CallbackDataError(f"{self.name}={value!r} exceeds {self.most} bytes")
        return value

    def unpack(self, text: str) -> int | str:
        """The value written as ``text``, under the rules ``pack`` writes by: whatever is read can be packed
        again (a handler puts a payload's id into the buttons it shows)."""
        if self.kind is int:
            value = int_field(text, self.most)
            if value is None:
                raise CallbackDataError(f"{self.name}: {text!r} is not an integer as pack writes one")
            return value
        if not text or len(text.encode("utf-8")) > self.most or (self.choices and text not in self.choices):
            raise CallbackDataError(f"{self.name}: {text!r} is empty, too long or not one of {self.choices}")
        return text

    def widest(self) -> str:
        """The longest text this field can be written as."""
        if self.kind is int:
            return "9" * self.most
        if self.choices:
            return max(self.choices, key=lambda choice: len(choice.encode("utf-8")))
        return "x" * self.most


F = TypeVar("F", bound="CallbackData")
_FIELDS: dict[type, tuple[Field, ...]] = {}


class CallbackData:
    """The base of every button family: ``@dataclass(frozen=True) class Launch(CallbackData, prefix="launch")``."""

    prefix: ClassVar[str]

    def __init_subclass__(cls, *, prefix: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not prefix or SEPARATOR in prefix:
            raise TypeError(f"{cls.__name__}: a prefix is one non-empty token, got {prefix!r}")
        cls.prefix = prefix

    @classmethod
    def fields(cls) -> tuple[Field, ...]:
        """The family's fields in wire order (read from the dataclass and its annotations, once)."""
        known = _FIELDS.get(cls)
        if known is None:
            known = _FIELDS[cls] = _describe(cls)
        return known

    @classmethod
    def arity(cls) -> tuple[int, int]:
        """How many fields a payload carries: (required, all)."""
        fields = cls.fields()
        return sum(not field.optional for field in fields), len(fields)

    @classmethod
    def widest(cls) -> str:
        """The family's longest payload: every field present at its widest."""
        return SEPARATOR.join([cls.prefix, *(field.widest() for field in cls.fields())])

    def pack(self) -> str:
        """``prefix:field:field``; raises CallbackDataError for a value the family cannot carry, so a bad
        button fails when it is built (in a unit test), not at Telegram."""
        parts = [self.prefix]
        omitted: str | None = None
        for field in self.fields():
            value = getattr(self, field.name)
            if value is None and field.optional:
                omitted = field.name
                continue
            if omitted is not None:
                raise CallbackDataError(f"{type(self).__name__}: {field.name} given after omitted {omitted}")
            parts.append(field.pack(value))
        data = SEPARATOR.join(parts)
        if len(data.encode("utf-8")) > MAX_CALLBACK_BYTES:
            raise CallbackDataError(f"callback data {data!r} exceeds {MAX_CALLBACK_BYTES} bytes")
        return data

    @classmethod
    def unpack(cls: type[F], data: str) -> F:
        """The typed payload; raises CallbackDataError when ``data`` is not one this family writes."""
        if not data or len(data.encode("utf-8")) > MAX_CALLBACK_BYTES:
            raise CallbackDataError(f"callback data of {len(data.encode('utf-8'))} bytes")
        prefix, *texts = data.split(SEPARATOR)
        fields = cls.fields()
        required, total = cls.arity()
        if prefix != cls.prefix or not required <= len(texts) <= total:
            raise CallbackDataError(f"{data!r} is not {cls.__name__} data")
        return cls(**{field.name: field.unpack(text) for field, text in zip(fields, texts)})


class CallbackParser:
    """Reads any payload of the given families; built once from the routing table, so a family is known
    exactly when it has a handler. Construction checks each declaration and its widest payload."""

    def __init__(self, families: Iterable[type[CallbackData]]) -> None:
        self.families: dict[str, type[CallbackData]] = {}
        for family in families:
            if family.prefix in self.families:
                raise TypeError(f"{family.__name__} and {self.families[family.prefix].__name__} share {family.prefix!r}")
            widest = family.widest()
            if len(widest.encode("utf-8")) > MAX_CALLBACK_BYTES:
                raise TypeError(f"{family.__name__}: its widest payload {widest!r} exceeds {MAX_CALLBACK_BYTES} bytes")
            self.families[family.prefix] = family

    def parse(self, data: str) -> CallbackData | None:
        """The typed payload, or None when it is not one this bot knows (stale, foreign or malformed)."""
        family = self.families.get(data.split(SEPARATOR, 1)[0])
        if family is None:
            return None
        try:
            return family.unpack(data)
        except CallbackDataError:
            return None


def _describe(family: type) -> tuple[Field, ...]:
    params = getattr(family, "__dataclass_params__", None)
    if params is None or not params.frozen or "__dataclass_fields__" not in family.__dict__:
        raise TypeError(f"{family.__name__}: declare a family as @dataclass(frozen=True)")
    hints = get_type_hints(family, include_extras=True)
    described: list[Field] = []
    for declared in dataclasses.fields(family):
        field = _field(family.__name__, declared.name, hints[declared.name])
        if field.optional and declared.default is not None:
            raise TypeError(f"{family.__name__}.{field.name}: an optional field defaults to None")
        if described and described[-1].optional and not field.optional:
            raise TypeError(f"{family.__name__}.{field.name}: a required field cannot follow an optional one")
        described.append(field)
    return tuple(described)


def _field(family: str, name: str, hint: Any) -> Field:
    optional = False
    if get_origin(hint) in (Union, types.UnionType):
        args = get_args(hint)
        if len(args) != 2 or type(None) not in args:
            raise TypeError(f"{family}.{name}: only `T | None` unions are supported")
        optional, hint = True, next(arg for arg in args if arg is not type(None))
    limit: int | None = None
    if get_origin(hint) is Annotated:
        hint, *extras = get_args(hint)
        limit = next((extra.most for extra in extras if isinstance(extra, (Digits, Bytes))), None)
    if get_origin(hint) is Literal:
        choices = get_args(hint)
        if not choices or not all(isinstance(c, str) and c and SEPARATOR not in c for c in choices):
            raise TypeError(f"{family}.{name}: a Literal of non-empty strings without {SEPARATOR!r}")
        return Field(name, str, max(len(c.encode("utf-8")) for c in choices), optional, tuple(choices))
    if hint is int:
        return Field(name, int, limit or INT_DIGITS, optional)
    if hint is str and limit is not None:
        return Field(name, str, limit, optional)
    raise TypeError(f"{family}.{name}: use int, Annotated[str, Bytes(n)] or a Literal (optionally | None)")
