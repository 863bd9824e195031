"""Admins' runtime changes (models switched off, a new markup) applied over the catalog file and the
settings the process started with."""

from __future__ import annotations

from dataclasses import replace

from core.context import Services
from ports.admin import Overrides


def apply_overrides(services: Services, overrides: Overrides) -> None:
    if services.base_catalog is None:
        services.base_catalog = services.catalog
    if services.base_markup is None:
        services.base_markup = services.settings.prices.markup
    base = services.base_catalog
    models = tuple(replace(m, enabled=m.enabled and m.id not in overrides.disabled_models) for m in base.models)
    services.catalog = replace(base, models=models)  # families and exclusions kept
    markup = overrides.markup if overrides.markup is not None else services.base_markup
    services.settings = replace(services.settings, prices=replace(services.settings.prices, markup=markup))


async def reload_overrides(services: Services) -> None:
    apply_overrides(services, await services.storage.runtime.overrides())
