"""Admins' runtime changes (models switched off, a new markup, prices, models stopped for a price drift)
applied over the catalog file and the settings the process started with.

Every instance reads them through: on each update when the last read is older than OVERRIDES_MAX_AGE
(``refresh_overrides``), and at once after an admin's change or a drift on this instance (``reload_overrides``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from core.context import Services
from ports.admin import Overrides
from ports.catalog import ModelSpec

OVERRIDES_MAX_AGE = timedelta(seconds=5)


def awaiting_price(model: ModelSpec) -> bool:
    """Shipped without a price (none of the sources states one and none could be estimated)."""
    return not model.prices


def sold(model: ModelSpec, overrides: Overrides) -> bool:
    """Enabled in the file (or awaiting a price the operator has now set), not switched off, not stopped."""
    priced_now = awaiting_price(model) and model.id in overrides.prices
    drift = overrides.drifts.get(model.id)
    stopped = drift is not None and drift.stopped
    return (model.enabled or priced_now) and model.id not in overrides.disabled_models and not stopped


def apply_overrides(services: Services, overrides: Overrides) -> None:
    if services.base_catalog is None:
        services.base_catalog = services.catalog
    if services.base_markup is None:
        services.base_markup = services.settings.prices.markup
    base = services.base_catalog
    models = tuple(replace(m, enabled=sold(m, overrides)) for m in base.models)
    services.catalog = replace(base, models=models)  # families and exclusions kept
    markup = overrides.markup if overrides.markup is not None else services.base_markup
    prices = replace(services.settings.prices, markup=markup, overrides=dict(overrides.prices))
    services.settings = replace(services.settings, prices=prices)
    services.overrides = overrides


async def reload_overrides(services: Services) -> None:
    apply_overrides(services, await services.storage.runtime.overrides())
    services.overrides_read_at = services.clock.now()


async def refresh_overrides(services: Services) -> None:
    """Read the overrides again when the last read is older than OVERRIDES_MAX_AGE (another instance may have
    changed them); rebuild only when they changed."""
    now = services.clock.now()
    if services.overrides_read_at is not None and now - services.overrides_read_at < OVERRIDES_MAX_AGE:
        return
    overrides = await services.storage.runtime.overrides()
    services.overrides_read_at = now
    if overrides != services.overrides:
        apply_overrides(services, overrides)
