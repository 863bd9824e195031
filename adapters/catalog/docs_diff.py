"""The catalog against KIE's documentation export (the format of market-2026-08.json: ``models`` with ``id``,
``name``, ``docs``, ``required`` and ``inputs`` holding each field's JSON schema). ``diff`` lists what differs
(new ids, ids gone, unknown or missing fields, enums, defaults, limits); ``check`` lists what the operator must
look at in the catalog itself (prices without a source, estimates, safety switches turned off, disabled models)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ports.catalog import Catalog, InputKind, InputSpec, ModelSpec

SAFETY_FIELDS = ("nsfw_checker", "enable_safety_checker")


@dataclass(frozen=True)
class Finding:
    model_id: str
    message: str
    documented: bool = False  # an exclusion or a disabled id the catalog explains: shown, never a failure

    def line(self) -> str:
        return f"{'  (documented) ' if self.documented else ''}{self.model_id}: {self.message}"


def load_docs(path: Path) -> dict[str, Mapping[str, Any]]:
    """The documented models by id; raises ValueError with the file's name when it cannot be used."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        models = data["models"] if isinstance(data, dict) else data
        return {str(model["id"]): model for model in models}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a KIE docs export with a 'models' list ({exc})") from None


def diff(catalog: Catalog, docs: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
    findings: list[Finding] = []
    ours = {model.id: model for model in catalog.models}
    excluded = {item.id: item.reason for item in catalog.excluded}
    for model_id in sorted(docs):
        if model_id in excluded:
            findings.append(Finding(model_id, f"excluded: {excluded[model_id]}", documented=True))
        elif model_id not in ours:
            findings.append(Finding(model_id, "new id in the docs (scaffold it or list it under excluded)"))
    for model in catalog.models:
        if model.id in docs:
            findings += [Finding(model.id, problem) for problem in compare_model(model, docs[model.id])]
        elif model.enabled:
            findings.append(Finding(model.id, "no longer documented, but enabled"))
        else:
            findings.append(Finding(model.id, f"not documented, disabled: {model.disabled_reason}", documented=True))
    findings += [Finding(i, "excluded but not in the docs (drop it)") for i in excluded if i not in docs]
    return findings


def compare_model(model: ModelSpec, doc: Mapping[str, Any]) -> list[str]:
    fields: Mapping[str, Mapping[str, Any]] = doc.get("inputs") or {}
    required = set(doc.get("required") or ())
    problems: list[str] = []
    built = set()
    for spec in model.inputs:
        if spec.dialogue is not None and spec.dialogue.speakers_field:
            built.add(spec.dialogue.speakers_field)
    for spec in model.inputs:
        if not spec.send:
            continue
        schema = fields.get(spec.name)
        if schema is None:
            problems.append(f"inputs.{spec.name}: not a documented field")
            continue
        problems += [f"inputs.{spec.name}: {p}" for p in compare_input(spec, schema, spec.name in required)]
    for name in sorted(required - built - set(model.not_sent) - {spec.name for spec in model.inputs}):
        problems.append(f"inputs.{name}: required by KIE but missing from the catalog")
    return problems


def compare_input(spec: InputSpec, schema: Mapping[str, Any], required: bool) -> list[str]:
    problems: list[str] = []
    kind, enum = schema.get("type"), schema.get("enum")
    if spec.is_media and (kind == "array") != spec.multiple:
        problems.append(f"KIE takes {'a list of URLs' if kind == 'array' else 'one URL'}")
    if required and not spec.required and (spec.is_media or spec.kind is InputKind.PROMPT):
        problems.append("required by KIE, optional here")
    if spec.is_media and schema.get("maxItems") is not None and spec.max_items > schema["maxItems"]:
        problems.append(f"max_items {spec.max_items} > KIE's maxItems {schema['maxItems']}")
    if spec.kind in (InputKind.PROMPT, InputKind.TEXT) and spec.dialogue is None:
        limit = schema.get("maxLength")
        if limit is not None and spec.max_length is not None and spec.max_length > limit:
            problems.append(f"max_length {spec.max_length} > KIE's maxLength {limit}")
    if enum is not None and spec.kind in (InputKind.ENUM, InputKind.NUMBER, InputKind.INTEGER):
        documented = [_text(value) for value in enum]
        ours = [_text(value) for value in spec.values] if spec.kind is InputKind.ENUM else []
        extra = [value for value in ours if value not in documented]
        if extra:
            problems.append(f"values {extra} are not KIE's {documented}")
        elif ours and not spec.values_subset and set(ours) != set(documented):
            problems.append(f"values: KIE has {sorted(set(documented) - set(ours))} too (or mark values_subset)")
    if spec.kind in (InputKind.NUMBER, InputKind.INTEGER) and enum is None:
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and spec.minimum is not None and spec.minimum < low:
            problems.append(f"minimum {spec.minimum} < KIE's {low}")
        if high is not None and spec.maximum is not None and spec.maximum > high:
            problems.append(f"maximum {spec.maximum} > KIE's {high}")
    default = schema.get("default")
    if default is not None and spec.default is not None and not spec.safety and not spec.is_media:
        if _text(default) != _text(spec.default) and not (spec.fixed and spec.kind is InputKind.TEXT):
            problems.append(f"default {_text(spec.default)!r}, KIE's is {_text(default)!r}")
    return problems


def check(catalog: Catalog) -> list[Finding]:
    """What needs the operator's eye: missing price sources, estimates, safety switches turned off, disabled."""
    findings: list[Finding] = []
    for model in catalog.models:
        if not model.enabled:
            findings.append(Finding(model.id, f"disabled: {model.disabled_reason}", documented=True))
            continue
        if not model.price_source:
            findings.append(Finding(model.id, "no price source"))
        if model.estimate:
            findings.append(Finding(model.id, f"estimated price: {model.estimate}", documented=True))
        for spec in model.inputs:
            if spec.safety and spec.default is not True:
                findings.append(Finding(model.id, f"{spec.name} is off: KIE's content filter is disabled"))
            if spec.name in SAFETY_FIELDS and not spec.safety:
                findings.append(Finding(model.id, f"{spec.name} is a content-safety switch: mark it safety: true"))
    return findings


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
