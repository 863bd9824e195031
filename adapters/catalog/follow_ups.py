"""The follow-up keys of a catalog model entry (catalog/families.yaml), read beside the main loader:

  source_input   the input (kind text) that receives the source job's KIE task id; a model with it is a
                 follow-up, reached only from a result's button, never from a menu
  follow_up_of   the ids of the source models whose delivered results offer it as a button (they may be in
                 models.yaml: the relation is declared on the follow-up's side)
  source_unless  source options for which it does not apply ({resolution: "1080p"})

They are taken out of the entries before the main loader checks them, then set on the parsed models (a
source's ``follow_ups`` lists its follow-ups in file order); a problem names the file and the model."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ports.catalog import Catalog, CatalogError, InputKind, ModelSpec

KEYS = ("follow_up_of", "source_input", "source_unless")


def split(models: Any) -> tuple[Any, dict[str, dict[str, Any]]]:
    """The entries without the follow-up keys, and those keys by model id."""
    if not isinstance(models, list):
        return models, {}
    plain, extra = [], {}
    for entry in models:
        if isinstance(entry, dict) and any(key in entry for key in KEYS):
            extra[str(entry.get("id"))] = {key: entry[key] for key in KEYS if key in entry}
            entry = {key: value for key, value in entry.items() if key not in KEYS}
        plain.append(entry)
    return plain, extra


def apply(catalog: Catalog, extra: dict[str, dict[str, Any]], source: str) -> Catalog:
    if not extra:
        return catalog
    models = [_with(model, extra.get(model.id), source) for model in catalog.models]
    index = {model.id: position for position, model in enumerate(models)}
    for model_id, keys in extra.items():
        for source_id in keys.get("follow_up_of", []):
            if source_id not in index or models[index[source_id]].source_input is not None:
                raise CatalogError(f"{source}: model {model_id}: follow_up_of: no source model {source_id!r}")
            origin = models[index[source_id]]
            models[index[source_id]] = replace(origin, follow_ups=(*origin.follow_ups, model_id))
    return replace(catalog, models=tuple(models))


def _with(model: ModelSpec, keys: dict[str, Any] | None, source: str) -> ModelSpec:
    if not keys:
        return model
    where = f"{source}: model {model.id}"
    sources = keys.get("follow_up_of", [])
    if not isinstance(sources, list) or not all(isinstance(item, str) and item for item in sources):
        raise CatalogError(f"{where}: follow_up_of must be a list of model ids")
    source_input = keys.get("source_input")
    spec = model.input(str(source_input)) if source_input is not None else None
    if spec is None or spec.kind is not InputKind.TEXT:
        raise CatalogError(f"{where}: source_input must name one of its inputs of kind text")
    unless = keys.get("source_unless", {})
    if not isinstance(unless, dict) or not all(isinstance(value, (str, bool, int, float)) for value in unless.values()):
        raise CatalogError(f"{where}: source_unless must map option names to values")
    return replace(
        model, source_input=spec.name, source_unless={str(key): value for key, value in unless.items()}
    )
