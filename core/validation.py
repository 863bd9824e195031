"""The last check of a KIE ``input`` object before anything is charged or sent: every required field
present, texts within their length, enum values among the allowed ones, numbers in range, file counts
within limits and file inputs given as URLs. KIE applies no defaults and answers a bad field with an
error after the fact; this says what to fix before that."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from core.drafts import prompt_limit, required_count
from ports.catalog import InputKind, InputSpec, ModelSpec

URL_PREFIXES = ("https://", "http://", "file://")


@dataclass(frozen=True)
class Problem:
    field: str
    reason: str  # missing | too_long | not_allowed | out_of_range | too_few | too_many | not_a_url


def _media_problem(spec: InputSpec, value: Any) -> str | None:
    urls = value if isinstance(value, list) else [value]
    if spec.multiple != isinstance(value, list):
        return "not_a_url"
    if not all(isinstance(url, str) and url.startswith(URL_PREFIXES) for url in urls):
        return "not_a_url"
    if len(urls) < required_count(spec):
        return "too_few"
    return "too_many" if len(urls) > spec.max_items else None


def _value_problem(spec: InputSpec, value: Any) -> str | None:
    kind = spec.kind
    if kind is InputKind.PROMPT and spec.dialogue is not None:
        texts = [turn.get(spec.dialogue.text_key) for turn in value] if isinstance(value, list) else []
        if not texts or not all(isinstance(text, str) and text.strip() for text in texts):
            return "missing"
        return "too_long" if sum(len(text) for text in texts) > prompt_limit(spec) else None
    if kind is InputKind.PROMPT:
        if not isinstance(value, str) or not value.strip():
            return "missing"
        return "too_long" if len(value) > prompt_limit(spec) else None
    if kind is InputKind.TEXT:
        too_long = spec.max_length is not None and len(str(value)) > spec.max_length
        return "too_long" if not isinstance(value, str) or too_long else None
    if spec.is_media:
        return _media_problem(spec, value)
    if kind is InputKind.ENUM:
        return None if value in spec.values else "not_allowed"
    if kind is InputKind.BOOL:
        return None if isinstance(value, bool) else "not_allowed"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "not_allowed"
    low = spec.minimum if spec.minimum is not None else value
    high = spec.maximum if spec.maximum is not None else value
    return None if low <= value <= high else "out_of_range"


def problems(model: ModelSpec, payload: Mapping[str, Any]) -> list[Problem]:
    found = []
    for spec in model.inputs:
        if not spec.send:
            continue
        if spec.name not in payload:
            if spec.required:
                found.append(Problem(spec.name, "missing"))
            continue
        reason = _value_problem(spec, payload[spec.name])
        if reason is not None:
            found.append(Problem(spec.name, reason))
    known = {spec.name for spec in model.inputs if spec.send}
    known |= {spec.dialogue.speakers_field for spec in model.inputs if spec.dialogue and spec.dialogue.speakers_field}
    found += [Problem(name, "not_allowed") for name in payload if name not in known]
    return found
