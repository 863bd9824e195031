"""Load catalog/models.yaml into ports.catalog types. Pydantic checks shape and scalar types (unknown keys
are errors), then cross-field rules run (enum defaults, price rules naming real options, every price
combination covered). The first problem is raised as one CatalogError, e.g. ``catalog/models.yaml:
model 'kling/v2-1-pro': inputs[2].default: '7' is not one of ['5', '10']``."""

from __future__ import annotations

import contextlib
import itertools
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from ports.catalog import OPTION_KINDS, Catalog, CatalogError, Category, InputKind, InputSpec, ModelSpec
from ports.catalog import OutputKind, PriceRule

LANGUAGES = ("ru", "en")
MAX_DESCRIPTION = 120
BillingUnit = Literal["image", "video", "second", "minute", "request", "generation", "removal", "megapixel"]


# ---- YAML: booleans are only true/false, numbers only decimal, so "1:1" or "yes" stay strings ----
class _Loader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


_REPLACED = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _REPLACED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$")
_FLOAT = re.compile(r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$")
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL, list("tTfF"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


# ---- Pydantic schema of the file (the edge); converted to ports.catalog dataclasses once valid ----
def _enum_value(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"{value!r} is not a text value; quote it, e.g. \"5\"")
    return str(value)


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{value!r} is not a number")
    return value


def _credits(value: Any) -> Decimal:
    try:
        credits = None if isinstance(value, bool) else Decimal(str(value).strip())
    except InvalidOperation:
        credits = None
    if not isinstance(value, (str, int, float)) or credits is None or not credits.is_finite() or credits < 0:
        raise ValueError(f"{value!r} is not a non-negative number of credits")
    return credits


EnumValue = Annotated[str, BeforeValidator(_enum_value)]
Number = Annotated[Any, BeforeValidator(_number)]
Credits = Annotated[Decimal, BeforeValidator(_credits)]
Name = Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Input(_Schema):
    name: Name
    required: StrictBool = False


class _PromptInput(_Input):
    kind: Literal["prompt"]
    max_length: StrictInt = Field(gt=0)


class _TextInput(_Input):
    kind: Literal["text"]
    max_length: StrictInt | None = Field(default=None, gt=0)
    default: StrictStr | None = None


class _MediaInput(_Input):
    kind: Literal["image", "video", "audio"]
    multiple: StrictBool = False
    min_items: StrictInt | None = Field(default=None, ge=0)
    max_items: StrictInt | None = Field(default=None, ge=0)


class _EnumInput(_Input):
    kind: Literal["enum"]
    values: list[EnumValue] = Field(min_length=1)
    default: EnumValue | None = None
    fixed: StrictBool = False


class _BoolInput(_Input):
    kind: Literal["bool"]
    default: StrictBool | None = None
    fixed: StrictBool = False


class _NumberInput(_Input):
    kind: Literal["number", "integer"]
    minimum: Number = None
    maximum: Number = None
    default: Number = None
    values: list[Number] = []
    fixed: StrictBool = False


_AnyInput = Annotated[
    Union[_PromptInput, _TextInput, _MediaInput, _EnumInput, _BoolInput, _NumberInput], Field(discriminator="kind")
]
_KINDS = [kind.value for kind in InputKind]


class _Billing(_Schema):
    unit: BillingUnit
    units: StrictInt = Field(default=1, ge=1)


class _Price(_Schema):
    when: dict[StrictStr, Any] = {}
    credits: Credits


class _Model(_Schema):
    id: StrictStr = Field(min_length=1)
    category: StrictStr
    names: dict[StrictStr, StrictStr]
    descriptions: dict[StrictStr, StrictStr]
    output: OutputKind
    billing: _Billing
    quantity_field: StrictStr | None = None
    free: StrictBool = False
    enabled: StrictBool = True
    api: Literal["market", "veo", "suno", "runway", "aleph", "kontext", "gpt4o", "mj"] = "market"  # KIE API family
    inputs: list[_AnyInput] = Field(min_length=1)
    prices: list[_Price] = Field(min_length=1)


class _Category(_Schema):
    id: StrictStr = Field(pattern=r"^[a-z0-9_]+$")
    names: dict[StrictStr, StrictStr]
    order: StrictInt = 0


class _Document(_Schema):
    categories: list[_Category] = Field(min_length=1)
    models: list[Any] = Field(min_length=1)


# ---- Public API ----
def load_catalog(path: Path) -> Catalog:
    """Read, validate and convert the catalog file; any problem raises CatalogError."""
    source = str(path)
    with contextlib.suppress(ValueError):  # relative to the working directory when inside it
        source = str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{source}: cannot read the catalog: {exc}") from None
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        raise CatalogError(f"{source}: invalid YAML: {_yaml_problem(exc)}") from None
    return parse_catalog(data, source)


def parse_catalog(data: object, source: str = "catalog") -> Catalog:
    """Validate already-parsed YAML data and convert it to a Catalog."""
    if not isinstance(data, dict):
        raise CatalogError(f"{source}: the top level must be a mapping with 'categories' and 'models'")
    try:
        document = _Document.model_validate(data)
    except ValidationError as exc:
        raise CatalogError(f"{source}: {_pydantic_problem(exc)}") from None
    category_ids = _check_categories(document.categories, source)
    models: list[ModelSpec] = []
    first_index: dict[str, int] = {}
    for index, raw in enumerate(document.models):
        raw_id = raw.get("id") if isinstance(raw, dict) else None
        label = f"model {raw_id!r}" if isinstance(raw_id, str) else f"models[{index}]"
        try:
            entry = _Model.model_validate(raw)
        except ValidationError as exc:
            raise CatalogError(f"{source}: {label}: {_pydantic_problem(exc)}") from None
        if entry.id in first_index:
            raise CatalogError(f"{source}: {label}: id: duplicate, already used by models[{first_index[entry.id]}]")
        first_index[entry.id] = index
        try:
            models.append(_convert(entry, category_ids))
        except _Problem as problem:
            raise CatalogError(f"{source}: {label}: {problem}") from None
    categories = [Category(c.id, dict(c.names), c.order) for c in sorted(document.categories, key=lambda c: c.order)]
    return Catalog(categories=tuple(categories), models=tuple(models))


# ---- Cross-field checks and conversion ----
class _Problem(Exception):
    """One problem inside a model; the text starts with the field path."""


def _ensure(condition: bool, message: str) -> None:
    if not condition:
        raise _Problem(message)


def _check_languages(mapping: dict[str, str], where: str, max_length: int = 10_000) -> None:
    for language in LANGUAGES:
        text = mapping.get(language)
        _ensure(text is not None, f"{where}.{language}: missing (both {' and '.join(LANGUAGES)} are needed)")
        _ensure(bool(text.strip()), f"{where}.{language}: empty")
        _ensure(len(text) <= max_length, f"{where}.{language}: {len(text)} characters, at most {max_length}")


def _check_categories(categories: list[_Category], source: str) -> list[str]:
    ids: list[str] = []
    for index, category in enumerate(categories):
        try:
            _ensure(category.id not in ids, f"id: {category.id!r} is used twice")
            _check_languages(category.names, "names")
        except _Problem as problem:
            raise CatalogError(f"{source}: categories[{index}] ({category.id}): {problem}") from None
        ids.append(category.id)
    return ids


def _convert(entry: _Model, category_ids: list[str]) -> ModelSpec:
    _check_languages(entry.names, "names")
    _check_languages(entry.descriptions, "descriptions", MAX_DESCRIPTION)
    _ensure(entry.category in category_ids, f"category: {entry.category!r} is not one of {category_ids}")
    specs: list[InputSpec] = []
    for index, raw in enumerate(entry.inputs):
        where = f"inputs[{index}]"
        earlier = next((i for i, spec in enumerate(specs) if spec.name == raw.name), None)
        _ensure(earlier is None, f"{where}.name: {raw.name!r} is already used by inputs[{earlier}]")
        spec = _input_spec(raw, where)
        prompts = [s for s in (*specs, spec) if s.kind is InputKind.PROMPT]
        _ensure(len(prompts) <= 1, f"{where}.kind: a model has at most one prompt input")
        specs.append(spec)
    by_name = {spec.name: spec for spec in specs}
    if entry.quantity_field is not None:
        _check_quantity_field(by_name.get(entry.quantity_field), entry.quantity_field)
    prices = [_price_rule(raw, f"prices[{index}]", by_name) for index, raw in enumerate(entry.prices)]
    _check_coverage(specs, prices, entry.quantity_field)
    return ModelSpec(
        id=entry.id, category=entry.category, names=dict(entry.names), descriptions=dict(entry.descriptions),
        inputs=tuple(specs), prices=tuple(prices), output=entry.output, billing_unit=entry.billing.unit,
        billed_units=entry.billing.units, quantity_field=entry.quantity_field, free=entry.free, enabled=entry.enabled,
        api=entry.api,
    )  # fmt: skip


def _input_spec(raw: Any, where: str) -> InputSpec:
    common: dict[str, Any] = {"name": raw.name, "kind": InputKind(raw.kind), "required": raw.required}
    if isinstance(raw, _PromptInput):
        return InputSpec(**common, max_length=raw.max_length)
    if isinstance(raw, _TextInput):
        _ensure(raw.default is not None or not raw.required, f"{where}.default: a required text needs a default")
        too_long = raw.default is not None and raw.max_length is not None and len(raw.default) > raw.max_length
        _ensure(not too_long, f"{where}.default: longer than max_length {raw.max_length}")
        return InputSpec(**common, max_length=raw.max_length, default=raw.default)
    if isinstance(raw, _MediaInput):
        low = raw.min_items if raw.min_items is not None else int(raw.required)
        high = raw.max_items if raw.max_items is not None else max(low, 1)
        _ensure(high >= low, f"{where}.max_items: {high} is less than min_items {low}")
        _ensure(raw.multiple or high == 1, f"{where}.max_items: a single URL field (multiple: false) takes 1 file")
        _ensure(raw.required == (low >= 1), f"{where}.min_items: {low}, but it must be >= 1 exactly when required")
        return InputSpec(**common, multiple=raw.multiple, min_items=low, max_items=high)
    if isinstance(raw, _EnumInput):
        _ensure(len(set(raw.values)) == len(raw.values), f"{where}.values: a value is listed twice")
        _ensure(raw.default is not None, f"{where}.default: every enum needs a default, one of {raw.values}")
        _ensure(raw.default in raw.values, f"{where}.default: {raw.default!r} is not one of {raw.values}")
        return InputSpec(**common, values=tuple(raw.values), default=raw.default, fixed=raw.fixed)
    if isinstance(raw, _BoolInput):
        _ensure(raw.default is not None, f"{where}.default: every bool needs a default (true or false)")
        return InputSpec(**common, values=(False, True), default=raw.default, fixed=raw.fixed)
    return _number_spec(raw, where, common)


def _number_spec(raw: _NumberInput, where: str, common: dict[str, Any]) -> InputSpec:
    low, high, default = raw.minimum, raw.maximum, raw.default
    for key in ("minimum", "maximum", "default"):
        _ensure(getattr(raw, key) is not None, f"{where}.{key}: missing (needs minimum, maximum and default)")
    _ensure(low <= high, f"{where}.maximum: {high} is less than minimum {low}")
    for key, value in [("minimum", low), ("maximum", high), ("default", default)] + [
        (f"values[{i}]", v) for i, v in enumerate(raw.values)
    ]:
        _ensure(raw.kind != "integer" or isinstance(value, int), f"{where}.{key}: {value!r} is not a whole number")
        _ensure(low <= value <= high, f"{where}.{key}: {value} is outside [{low}, {high}]")
    if not raw.fixed:
        presets = f"{where}.values: give 3-5 distinct presets including the default {default} (or set fixed: true)"
        _ensure(3 <= len(set(raw.values)) == len(raw.values) <= 5 and default in raw.values, presets)
    values = tuple(raw.values)
    return InputSpec(**common, minimum=low, maximum=high, default=default, values=values, fixed=raw.fixed)


def _check_quantity_field(spec: InputSpec | None, name: str) -> None:
    _ensure(spec is not None, f"quantity_field: {name!r} is not an input of this model")
    kinds = (InputKind.ENUM, InputKind.INTEGER, InputKind.NUMBER)
    _ensure(spec.kind in kinds, f"quantity_field: {name!r} is a {spec.kind.value} input, not an enum or integer option")
    for value in (*spec.values, spec.default):
        whole = str(value).isdigit() if spec.kind is InputKind.ENUM else isinstance(value, int) or value == int(value)
        _ensure(whole and int(value) >= 1, f"quantity_field: {name!r} has the value {value!r}, not a whole number >= 1")


def _price_rule(raw: _Price, where: str, by_name: dict[str, InputSpec]) -> PriceRule:
    when: dict[str, str | bool | int | float] = {}
    for key, value in raw.when.items():
        spec = by_name.get(key)
        _ensure(spec is not None, f"{where}.when.{key}: {key!r} is not an input of this model")
        _ensure(spec.kind in OPTION_KINDS, f"{where}.when.{key}: a {spec.kind.value} input cannot change the price")
        when[key] = _option_value(spec, value, f"{where}.when.{key}")
    return PriceRule(when=when, credits=raw.credits)


def _option_value(spec: InputSpec, value: Any, where: str) -> str | bool | int | float:
    if spec.kind is InputKind.BOOL:
        _ensure(isinstance(value, bool), f"{where}: {value!r} must be true or false")
        return value
    _ensure(not isinstance(value, bool), f"{where}: {value!r} is true/false, but {spec.name!r} is a {spec.kind.value}")
    if spec.kind is InputKind.ENUM:
        _ensure(str(value) in spec.values, f"{where}: {str(value)!r} is not one of {list(spec.values)}")
        return str(value)
    in_range = isinstance(value, (int, float)) and spec.minimum <= value <= spec.maximum  # type: ignore[operator]
    _ensure(in_range, f"{where}: {value!r} is not a number in [{spec.minimum}, {spec.maximum}]")
    return value


def _check_coverage(specs: list[InputSpec], rules: list[PriceRule], quantity_field: str | None) -> None:
    """Every combination of the price-affecting options (others at their defaults) has one clear price."""
    for j, rule in enumerate(rules):
        earlier = next((i for i in range(j) if rules[i].when == rule.when), None)
        _ensure(earlier is None, f"prices[{j}].when: the same options as prices[{earlier}]")
    named = {key for rule in rules for key in rule.when} | ({quantity_field} if quantity_field else set())
    priced = [spec for spec in specs if spec.is_option and spec.name in named]
    base = {spec.name: spec.default for spec in specs if spec.default is not None}
    for values in itertools.product(*(spec.values for spec in priced)):
        combo = {**base, **{spec.name: value for spec, value in zip(priced, values)}}
        matching = [i for i, rule in enumerate(rules) if all(combo.get(k) == v for k, v in rule.when.items())]
        shown = ", ".join(f"{spec.name}={combo[spec.name]!r}" for spec in priced) or "the defaults"
        _ensure(bool(matching), f"prices: no rule matches {shown}")
        best = max(len(rules[i].when) for i in matching)
        tied = [i for i in matching if len(rules[i].when) == best]
        clash = f"prices: prices[{tied[0]}] and prices[{tied[-1]}] both match {shown} with different credits"
        _ensure(len({rules[i].credits for i in tied}) == 1, clash)


# ---- Messages ----
def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f"line {mark.line + 1}, column {mark.column + 1}: {exc.problem}" if mark else str(exc)  # type: ignore


def _where(loc: tuple[Any, ...]) -> str:
    text = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            text += f"[{part}]"
        elif i > 0 and isinstance(loc[i - 1], int) and part in _KINDS:
            continue  # the discriminator tag pydantic inserts after inputs[i]
        else:
            text += f".{part}" if text else str(part)
    return text


def _pydantic_problem(exc: ValidationError) -> str:
    errors = exc.errors()
    loc, kind, value = tuple(errors[0]["loc"]), errors[0]["type"], errors[0].get("input")
    where, message = _where(loc), errors[0]["msg"].removeprefix("Value error, ")
    if kind == "extra_forbidden":
        where, message = _where(loc[:-1]), f"unknown key {loc[-1]!r}"
    elif kind == "missing":
        message = "missing"
    elif kind.startswith("union_tag_"):
        tag = errors[0].get("ctx", {}).get("tag")
        where, message = f"{where}.kind", (f"{tag!r} is not" if tag else "missing,") + f" one of {_KINDS}"
    elif isinstance(value, (str, int, float, bool)) and repr(value) not in message:
        message += f" (got {value!r})"
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return f"{where}: {message}{more}" if where else f"{message}{more}"
