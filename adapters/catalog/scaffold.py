"""Ready-to-edit catalog entries for documented KIE ids (``python -m entrypoints.catalog scaffold``): KIE's field
names, enums, defaults, limits and required flags are copied; names, descriptions, category, family and the
price are left for the operator (marked TODO, and the entry ships disabled until they are filled in)."""

from __future__ import annotations

import json
from typing import Any, Mapping

from adapters.catalog.docs_diff import SAFETY_FIELDS

PROMPT_FIELDS = ("prompt", "text")
_MEDIA_HINTS = (("audio", "audio"), ("voice", "audio"), ("video", "video"), ("image", "image"), ("frame", "image"))
# Optional fields the bot leaves out (KIE then uses its own behaviour): reproducibility and technical knobs.
SKIPPED = ("seed", "callBackUrl", "negative_prompt", "language_code", "previous_text", "next_text", "timestamps")


def scaffold(doc: Mapping[str, Any]) -> str:
    """One catalog entry as YAML text (flow-style inputs, as the catalog writes them)."""
    required = set(doc.get("required") or ())
    video = "duration" in (doc.get("inputs") or {})  # a duration means a clip, whatever the id says
    category, output = ("video", "video") if video else (_category(doc["id"]), _output(doc["id"]))
    lines = [
        f"  - id: {doc['id']}",
        f"    category: {category}  # TODO check",
        f"    names: {{ru: {_quote(doc.get('name', doc['id']))}, en: {_quote(doc.get('name', doc['id']))}}}",
        "    descriptions: {ru: \"TODO\", en: \"TODO\"}",
        f"    output: {output}  # TODO check",
        "    billing: {unit: request, units: 1}  # TODO",
        "    enabled: false",
        "    disabled_reason: \"new, not yet priced\"",
        f"    price_source: \"TODO {doc.get('docs', '')}\"",
        "    inputs:",
    ]
    notes: list[str] = []
    entries = []
    for name, schema in (doc.get("inputs") or {}).items():
        entry = scaffold_input(name, schema, name in required)
        if entry is None:
            need = "required" if name in required else "optional"
            notes.append(f"      # TODO {name}: {schema.get('type')} field not mapped ({need})")
        elif entry:
            entries.append(entry)
    order = {"image": 0, "video": 0, "audio": 0, "prompt": 1}  # files first, then the text, then options
    lines += ["      - " + _flow(entry) for entry in sorted(entries, key=lambda e: order.get(e["kind"], 2))]
    lines += notes
    lines += ["    prices:", "      - {when: {}, credits: 0}  # TODO"]
    return "\n".join(lines)


def scaffold_input(name: str, schema: Mapping[str, Any], required: bool) -> dict[str, Any] | None:
    """The catalog input for one documented field; {} to leave it out, None when it cannot be mapped."""
    kind, enum, default = schema.get("type"), schema.get("enum"), schema.get("default")
    if name in SAFETY_FIELDS:
        return {"name": name, "kind": "bool", "default": True, "fixed": True, "safety": True}
    if name in SKIPPED and not required:
        return {}
    if kind == "string" and name in PROMPT_FIELDS:
        return {"name": name, "kind": "prompt", "required": required, "max_length": schema.get("maxLength", 5000)}
    media = _media_kind(name)
    items = schema.get("items") or {}
    if media and (kind == "array" and items.get("type") == "string" or kind == "string" and "enum" not in schema):
        low = int(required)
        high = schema.get("maxItems", 1 if kind != "array" else max(low, 1))
        return {"name": name, "kind": media, "required": required, "multiple": kind == "array",
                "min_items": low, "max_items": high}  # fmt: skip
    if enum is not None and kind in ("number", "integer"):
        values = list(enum)
        return {"name": name, "kind": kind, "minimum": min(values), "maximum": max(values),
                "default": default if default is not None else values[0], "values": values}  # fmt: skip
    if enum is not None:
        values = [str(v) for v in enum]
        return {"name": name, "kind": "enum", "required": required, "values": values,
                "default": str(default) if default is not None else values[0]}  # fmt: skip
    if kind == "boolean":
        return {"name": name, "kind": "bool", "default": bool(default), "fixed": True}
    if kind in ("number", "integer") and default is not None:
        entry = {"name": name, "kind": kind, "default": default, "fixed": True}
        entry["minimum"] = schema.get("minimum", default)
        entry["maximum"] = schema.get("maximum", default)
        return entry
    return {} if not required else None


def _media_kind(name: str) -> str | None:
    if not (name.endswith(("_url", "_urls", "_input", "_image", "_images")) or name in ("image", "reference_image")):
        return None
    return next((kind for hint, kind in _MEDIA_HINTS if hint in name), "image")


def _category(model_id: str) -> str:
    name = model_id.lower()
    if any(word in name for word in ("speech", "tts", "dialogue", "audio")):
        return "audio"
    if any(word in name for word in ("upscale", "remove", "lip-sync", "reframe")):
        return "tools"
    return "video" if any(word in name for word in ("video", "v2v", "r2v", "avatar", "motion")) else "image"


def _output(model_id: str) -> str:
    category = _category(model_id)
    if category == "tools":
        return "video" if "video" in model_id or "lip" in model_id else "image"
    return category


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _flow(entry: Mapping[str, Any]) -> str:
    parts = []
    for key, value in entry.items():
        if isinstance(value, bool):
            shown = "true" if value else "false"
        elif isinstance(value, list):
            shown = "[" + ", ".join(_quote(v) if isinstance(v, str) else str(v) for v in value) + "]"
        elif isinstance(value, str) and key in ("default",):
            shown = _quote(value)
        else:
            shown = str(value)
        parts.append(f"{key}: {shown}")
    return "{" + ", ".join(parts) + "}"
