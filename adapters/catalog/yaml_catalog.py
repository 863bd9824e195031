"""Load catalog/models.yaml into ports.catalog types. Pydantic checks shape and scalar types (unknown keys
are errors; adapters/catalog/schema.py), then cross-field rules run (enum defaults, price rules naming real options,
every price combination covered, a reason for every disabled model). The first problem is raised as one
CatalogError, e.g. ``catalog/models.yaml: model 'kling/v2-1-pro': inputs[2].default: '7' is not one of ['5', '10']``."""

from __future__ import annotations

import contextlib
import itertools
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from adapters.catalog.schema import (
    KINDS, LANGUAGES, MAX_DESCRIPTION, BoolInput, Category as RawCategory, Document, EnumInput, Loader, MediaInput,
    Model, NumberInput, Price, PromptInput, TextInput,
)
from ports.catalog import OPTION_KINDS, Catalog, CatalogError, Category, DialogueSpec, Exclusion, Family, InputKind
from ports.catalog import InputSpec, ModelSpec, OutputKind, PriceRule


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
        data = yaml.load(text, Loader=Loader)  # noqa: S506 - Loader is a SafeLoader
    except yaml.YAMLError as exc:
        raise CatalogError(f"{source}: invalid YAML: {_yaml_problem(exc)}") from None
    return parse_catalog(data, source)


def parse_catalog(data: object, source: str = "catalog") -> Catalog:
    """Validate already-parsed YAML data and convert it to a Catalog."""
    if not isinstance(data, dict):
        raise CatalogError(f"{source}: the top level must be a mapping with 'categories' and 'models'")
    try:
        document = Document.model_validate(data)
    except ValidationError as exc:
        raise CatalogError(f"{source}: {_pydantic_problem(exc)}") from None
    category_ids = _check_categories(document.categories, source)
    families = _families(document, source)
    models: list[ModelSpec] = []
    first_index: dict[str, int] = {}
    for index, raw in enumerate(document.models):
        raw_id = raw.get("id") if isinstance(raw, dict) else None
        label = f"model {raw_id!r}" if isinstance(raw_id, str) else f"models[{index}]"
        try:
            entry = Model.model_validate(raw)
        except ValidationError as exc:
            raise CatalogError(f"{source}: {label}: {_pydantic_problem(exc)}") from None
        if entry.id in first_index:
            raise CatalogError(f"{source}: {label}: id: duplicate, already used by models[{first_index[entry.id]}]")
        first_index[entry.id] = index
        try:
            models.append(_convert(entry, category_ids, {family.id for family in families}))
        except _Problem as problem:
            raise CatalogError(f"{source}: {label}: {problem}") from None
    categories = [Category(c.id, dict(c.names), c.order) for c in sorted(document.categories, key=lambda c: c.order)]
    excluded = tuple(Exclusion(item.id, item.reason) for item in document.excluded)
    clash = next((item.id for item in excluded if item.id in first_index), None)
    if clash is not None:
        raise CatalogError(f"{source}: excluded: {clash!r} is also a model (list it in one place)")
    return Catalog(categories=tuple(categories), models=tuple(models), families=families, excluded=excluded)


def _families(document: Document, source: str) -> tuple[Family, ...]:
    families: list[Family] = []
    for index, family in enumerate(document.families):
        try:
            _ensure(all(f.id != family.id for f in families), f"id: {family.id!r} is used twice")
            _check_languages(family.names, "names")
        except _Problem as problem:
            raise CatalogError(f"{source}: families[{index}] ({family.id}): {problem}") from None
        families.append(Family(family.id, dict(family.names)))
    return tuple(families)


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


def _check_categories(categories: list[RawCategory], source: str) -> list[str]:
    ids: list[str] = []
    for index, category in enumerate(categories):
        try:
            _ensure(category.id not in ids, f"id: {category.id!r} is used twice")
            _check_languages(category.names, "names")
        except _Problem as problem:
            raise CatalogError(f"{source}: categories[{index}] ({category.id}): {problem}") from None
        ids.append(category.id)
    return ids


def _convert(entry: Model, category_ids: list[str], family_ids: set[str]) -> ModelSpec:
    _check_languages(entry.names, "names")
    _check_languages(entry.descriptions, "descriptions", MAX_DESCRIPTION)
    _ensure(entry.category in category_ids, f"category: {entry.category!r} is not one of {category_ids}")
    _ensure(entry.family is None or entry.family in family_ids, f"family: {entry.family!r} is not a listed family")
    _ensure(entry.enabled or bool(entry.disabled_reason), "disabled_reason: a disabled model needs a one-line reason")
    _ensure(not entry.enabled or bool(entry.price_source.strip()), "price_source: an enabled model cites its price")
    _ensure(bool(entry.prices) or not entry.enabled, "prices: missing (a model awaiting its price ships disabled)")
    unpriced = not entry.free and any(rule.credits == 0 for rule in entry.prices)
    _ensure(not entry.enabled or not unpriced, "prices: an enabled model needs a price above 0 (or free: true)")
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
    if prices:
        _check_coverage(specs, prices, entry.quantity_field)
    _check_dialogue(specs, by_name)
    return ModelSpec(
        id=entry.id, category=entry.category, names=dict(entry.names), descriptions=dict(entry.descriptions),
        inputs=tuple(specs), prices=tuple(prices), output=entry.output, billing_unit=entry.billing.unit,
        billed_units=entry.billing.units, quantity_field=entry.quantity_field, free=entry.free, enabled=entry.enabled,
        family=entry.family, popular=entry.popular, price_source=entry.price_source.strip(), estimate=entry.estimate,
        disabled_reason=entry.disabled_reason, results=entry.results, not_sent=dict(entry.not_sent),
        typical_seconds=entry.typical_seconds or TYPICAL_SECONDS[entry.output],
        api=entry.api,
    )  # fmt: skip


TYPICAL_SECONDS = {OutputKind.IMAGE: 30, OutputKind.VIDEO: 180, OutputKind.AUDIO: 30, OutputKind.TEXT: 30}


def _check_dialogue(specs: list[InputSpec], by_name: dict[str, InputSpec]) -> None:
    for spec in specs:
        for voice in spec.dialogue.voices if spec.dialogue else ():
            option = by_name.get(voice)
            _ensure(option is not None and option.kind is InputKind.ENUM, f"dialogue.voices: {voice!r} is not an enum")
            _ensure(not option.send, f"dialogue.voices: {voice!r} is the bot's own option: set send: false")
        if not spec.send:
            used = any(s.dialogue and spec.name in s.dialogue.voices for s in specs)
            _ensure(used, f"{spec.name}: send: false only for a dialogue's voices")


def _input_spec(raw: Any, where: str) -> InputSpec:
    common: dict[str, Any] = {"name": raw.name, "kind": InputKind(raw.kind), "required": raw.required}
    if isinstance(raw, PromptInput):
        dialogue = None
        if raw.dialogue is not None:
            d = raw.dialogue
            dialogue = DialogueSpec(d.text_key, d.voice_key, tuple(d.voices), d.speakers_field, d.speaker_key)
        return InputSpec(**common, max_length=raw.max_length, dialogue=dialogue)
    if isinstance(raw, TextInput):
        _ensure(raw.default is not None or not raw.required, f"{where}.default: a required text needs a default")
        too_long = raw.default is not None and raw.max_length is not None and len(raw.default) > raw.max_length
        _ensure(not too_long, f"{where}.default: longer than max_length {raw.max_length}")
        return InputSpec(**common, max_length=raw.max_length, default=raw.default)
    if isinstance(raw, MediaInput):
        low = raw.min_items if raw.min_items is not None else int(raw.required)
        high = raw.max_items if raw.max_items is not None else max(low, 1)
        _ensure(high >= low, f"{where}.max_items: {high} is less than min_items {low}")
        _ensure(raw.multiple or high == 1, f"{where}.max_items: a single URL field (multiple: false) takes 1 file")
        _ensure(raw.required == (low >= 1), f"{where}.min_items: {low}, but it must be >= 1 exactly when required")
        return InputSpec(**common, multiple=raw.multiple, min_items=low, max_items=high)
    if isinstance(raw, EnumInput):
        _ensure(len(set(raw.values)) == len(raw.values), f"{where}.values: a value is listed twice")
        _ensure(raw.default is not None, f"{where}.default: every enum needs a default, one of {raw.values}")
        _ensure(raw.default in raw.values, f"{where}.default: {raw.default!r} is not one of {raw.values}")
        stray = next((value for value in raw.labels if value not in raw.values), None)
        _ensure(stray is None, f"{where}.labels: {stray!r} is not one of the values")
        return InputSpec(
            **common, values=tuple(raw.values), default=raw.default, fixed=raw.fixed, labels=dict(raw.labels),
            values_subset=raw.values_subset, send=raw.send,
        )  # fmt: skip
    if isinstance(raw, BoolInput):
        _ensure(raw.default is not None, f"{where}.default: every bool needs a default (true or false)")
        _ensure(not raw.safety or raw.fixed, f"{where}.fixed: a content-safety switch is the operator's, not the user's")
        return InputSpec(**common, values=(False, True), default=raw.default, fixed=raw.fixed, safety=raw.safety)
    return _number_spec(raw, where, common)


def _number_spec(raw: NumberInput, where: str, common: dict[str, Any]) -> InputSpec:
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


def _price_rule(raw: Price, where: str, by_name: dict[str, InputSpec]) -> PriceRule:
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
        elif i > 0 and isinstance(loc[i - 1], int) and part in KINDS:
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
        where, message = f"{where}.kind", (f"{tag!r} is not" if tag else "missing,") + f" one of {KINDS}"
    elif isinstance(value, (str, int, float, bool)) and repr(value) not in message:
        message += f" (got {value!r})"
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return f"{where}: {message}{more}" if where else f"{message}{more}"
