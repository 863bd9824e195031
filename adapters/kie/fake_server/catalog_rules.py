"""The fake KIE server's rules for every model of a catalog: the fields KIE requires (as the catalog sends them),
the output kind and file count, and the credits a task at the default options costs (for creditsConsumed)."""

from __future__ import annotations

from decimal import Decimal
from typing import Mapping

from adapters.kie.fake import shapes_from_catalog
from adapters.kie.fake_server.models import ModelRules
from ports.catalog import Catalog, ModelSpec


def rules_from_catalog(catalog: Catalog) -> dict[str, ModelRules]:
    shapes = shapes_from_catalog(catalog)
    rules = {}
    for model in catalog.models:
        shape = shapes[model.id]
        rules[model.id] = ModelRules(
            required=required_fields(model), output=shape.kind, credits=default_credits(model),
            count=shape.count, count_field=shape.count_field,
        )  # fmt: skip
    return rules


def required_fields(model: ModelSpec) -> tuple[str, ...]:
    fields = [spec.name for spec in model.inputs if spec.required and spec.send]
    fields += [spec.dialogue.speakers_field for spec in model.inputs if spec.dialogue and spec.dialogue.speakers_field]
    return tuple(fields)


def default_credits(model: ModelSpec) -> Decimal:
    """The most specific price rule matching the default options (before count, duration or length)."""
    defaults: Mapping[str, object] = {spec.name: spec.default for spec in model.inputs if spec.default is not None}
    matching = [rule for rule in model.prices if all(defaults.get(k) == v for k, v in rule.when.items())]
    return max(matching, key=lambda rule: len(rule.when)).credits if matching else Decimal(1)
