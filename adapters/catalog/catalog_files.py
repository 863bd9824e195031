"""The catalog as shipped: ``models.yaml`` (KIE's market models) plus ``families.yaml`` beside it (KIE's
dedicated API families: Veo, Suno, Runway, Aleph, Flux Kontext, 4o Image, Midjourney). The families file
holds only ``models:``; they join the main file's under its categories, and both are checked by the same
rules (a problem names the file it is in)."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path

import yaml

from adapters.catalog import follow_ups
from adapters.catalog.schema import Loader
from adapters.catalog.yaml_catalog import _yaml_problem, parse_catalog
from ports.catalog import Catalog, CatalogError

FAMILIES_FILE = "families.yaml"


def load_catalog_files(path: Path, *, families: Path | None = None) -> Catalog:
    """``path`` (models.yaml) and, when it exists, ``families`` (default: families.yaml in the same folder)."""
    path = Path(path)
    data, source = _read(path)
    extra = Path(families) if families is not None else path.with_name(FAMILIES_FILE)
    if extra.is_file() and extra.resolve() != path.resolve() and isinstance(data, dict):
        more, more_source = _read(extra)
        if not isinstance(more, dict) or set(more) != {"models"} or not isinstance(more["models"], list):
            raise CatalogError(f"{more_source}: the top level must be a mapping with only 'models'")
        models, extra = follow_ups.split(more["models"])
        shared = {key: data.get(key) for key in ("categories", "families") if key in data}
        parse_catalog({**shared, "models": models}, more_source)
        data = {**data, "models": [*(data.get("models") or []), *models]}
        return follow_ups.apply(parse_catalog(data, source), extra, more_source)
    return parse_catalog(data, source)


def without_api(catalog: Catalog, api: str) -> Catalog:
    """The catalog without one API family's models and its follow-up families ("mj_upscale", …): Midjourney
    unless MJ_ENABLED."""
    kept = tuple(model for model in catalog.models if model.api != api and not model.api.startswith(f"{api}_"))
    return replace(catalog, models=kept)


def market_only(catalog: Catalog) -> Catalog:
    """The models sold through the market API (createTask), follow-ups such as grok-imagine/upscale included:
    what KIE's market docs describe."""
    return replace(catalog, models=tuple(model for model in catalog.models if model.api == "market"))


def _read(path: Path) -> tuple[object, str]:
    source = str(path)
    with contextlib.suppress(ValueError):  # relative to the working directory when inside it
        source = str(path.resolve().relative_to(Path.cwd().resolve()))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{source}: cannot read the catalog: {exc}") from None
    try:
        return yaml.load(text, Loader=Loader), source  # noqa: S506 - Loader is a SafeLoader
    except yaml.YAMLError as exc:
        raise CatalogError(f"{source}: invalid YAML: {_yaml_problem(exc)}") from None
