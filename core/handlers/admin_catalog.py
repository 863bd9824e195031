"""Admins switch models on and off and change the markup at run time (stored, applied over the catalog
file and settings, audited)."""

from __future__ import annotations

from core.context import Reply, Services, Turn
from core.handlers.admin_tools import audit, parse_markup
from core.handlers.navigation import stale
from core.runtime import reload_overrides
from core.views.admin import render_models
from core.views.payments import render_notice


async def models(services: Services, turn: Turn, page: int = 0) -> Reply:
    catalog = services.catalog
    return Reply([turn.show(render_models(turn.fmt, catalog.models, page))])


async def toggle(services: Services, turn: Turn, model_id: str) -> Reply:
    model = services.catalog.model(model_id)
    base = services.base_catalog.model(model_id) if services.base_catalog else model
    if model is None or base is None:
        return await stale(services, turn)
    enabled = not model.enabled
    if enabled and not base.enabled:  # switched off in the catalog file itself: not an admin switch
        return Reply(toast=turn.fmt.t("admin.models.file_disabled"), rejected="DISABLED_IN_CATALOG")
    await services.storage.runtime.set_model_enabled(model_id, enabled)
    await reload_overrides(services)
    await audit(services, turn, "model_on" if enabled else "model_off", model=model_id)
    index = next(i for i, m in enumerate(services.catalog.models) if m.id == model_id)
    reply = await models(services, turn, index // 10)
    reply.toast = turn.fmt.t("admin.models.switched", model=model_id, state="✅" if enabled else "⛔")
    return reply


async def set_markup(services: Services, turn: Turn, text: str) -> Reply:
    markup = parse_markup(text)
    if markup is None:
        return Reply([turn.send(render_notice(turn.fmt.t("admin.markup.usage")))], rejected="VALIDATION_FAIL")
    before = services.settings.prices.markup
    await services.storage.runtime.set_markup(markup)
    await reload_overrides(services)
    await audit(services, turn, "markup", before=str(before), after=str(markup))
    return Reply([turn.send(render_notice(turn.fmt.t("admin.markup.done", before=before, after=markup)))])
