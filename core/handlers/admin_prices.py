"""Operators set prices at runtime and see the margin (issues 18.3, 18.4).

- ``prc:list``: models awaiting a price (none in the catalog, or stopped by a cost drift), drifting models and
  the prices operators set; ``prc:ask:<model>`` asks for a figure (the next message); ``prc:keep:<model>``
  confirms the current price of a drifting model (selling resumes); ``prc:margin``: paid against KIE's charge.
- ``/price <model id> <credits>`` or ``/price <model id> -``.

A price is KIE credits per billed unit, kept in storage (``RuntimeSettings.set_price``), audited, applied here at
once and on other instances within core.runtime.OVERRIDES_MAX_AGE. Setting or confirming a price clears the
model's drift record, so a later drift is announced again.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from core import pending
from core.callback_data import PriceAction
from core.context import Reply, Services, Turn
from core.handlers.admin_tools import audit
from core.handlers.navigation import stale
from core.i18n import localized
from core.pricing import PriceMissingError, cost_to_minor
from core.runtime import awaiting_price, reload_overrides
from core.views.costs import credits_text, render_margins, render_price_ask, render_prices
from core.views.payments import render_notice
from ports.admin import Overrides
from ports.catalog import ModelSpec
from ports.screens import Screen

MARGIN_DAYS = 30
MAX_CREDITS = Decimal(100_000)
_CREDITS = re.compile(r"\d{1,6}(?:[.,]\d{1,4})?")
RESET = "-"


def parse_credits(text: str) -> Decimal | None:
    """"12.5" / "12,5" → Decimal("12.5"); bounded grammar (no exponents, no signs); None when invalid or 0."""
    text = text.strip()
    if not _CREDITS.fullmatch(text):
        return None
    value = Decimal(text.replace(",", "."))
    return value if 0 < value <= MAX_CREDITS else None


async def action(services: Services, turn: Turn, data: PriceAction) -> Reply:
    name, model_id = data.action, data.model or ""
    if name == "list":
        return Reply([turn.show(await _list_screen(services, turn))])
    if name == "margin":
        return await margin(services, turn)
    model = _base_model(services, model_id)
    if model is None:
        return await stale(services, turn)
    if name == "ask":
        await services.storage.users.set_active_draft(turn.user.id, pending.marker(pending.ADMIN_PRICE, model.id))
        current = services.settings.prices.overrides.get(model.id)
        return Reply([turn.show(render_price_ask(turn.fmt, model, current, services.settings.prices.credit_usd))])
    if name == "keep":
        return await set_price(services, turn, model, services.settings.prices.overrides.get(model.id), kept=True)
    return await stale(services, turn)


async def command(services: Services, turn: Turn) -> Reply:
    """/price <model id> <credits | ->"""
    parts = turn.args.split()
    model = _base_model(services, parts[0]) if len(parts) == 2 else None
    if model is None:
        text = turn.fmt.t("prices.unknown", model=parts[0][:64]) if len(parts) == 2 else turn.fmt.t("prices.usage")
        return Reply([turn.send(render_notice(text))], rejected="VALIDATION_FAIL")
    return await on_price_text(services, turn, model.id, parts[1])


async def on_price_text(services: Services, turn: Turn, model_id: str, text: str) -> Reply:
    """The figure an admin sent after ``prc:ask`` (or with /price)."""
    await services.storage.users.set_active_draft(turn.user.id, None)
    model = _base_model(services, model_id)
    if model is None:
        return Reply([turn.send(render_notice(turn.fmt.t("prices.unknown", model=model_id[:64])))], rejected="NOT_FOUND")
    if text.strip() == RESET:
        return await set_price(services, turn, model, None)
    credits = parse_credits(text)
    if credits is None:
        return Reply([turn.send(render_notice(turn.fmt.t("prices.bad")))], rejected="VALIDATION_FAIL")
    return await set_price(services, turn, model, credits)


async def set_price(
    services: Services, turn: Turn, model: ModelSpec, credits: Decimal | None, *, kept: bool = False
) -> Reply:
    before = services.settings.prices.overrides.get(model.id)
    await services.storage.runtime.set_price(model.id, credits)
    await reload_overrides(services)
    await audit(services, turn, "price_kept" if kept else "price", model=model.id,
                before=None if before is None else str(before), after=None if credits is None else str(credits))
    fmt, name = turn.fmt, localized(model.names, turn.fmt.language)
    sold = services.catalog.model(model.id)
    on_sale = fmt.t("yes") if sold is not None and sold.enabled else fmt.t("no")
    if kept:
        text = fmt.t("prices.kept", model=name, on_sale=on_sale)
    elif credits is None:
        text = fmt.t("prices.reset", model=name, on_sale=on_sale)
    else:
        text = fmt.t("prices.done", model=name, credits=credits_text(credits), unit=model.billing_unit,
                     price=_price_from(services, turn, sold), on_sale=on_sale)
    return Reply([turn.send(render_notice(text))])


async def margin(services: Services, turn: Turn) -> Reply:
    costs = await services.storage.stats.costs(turn.now - timedelta(days=MARGIN_DAYS))
    prices = services.settings.prices

    def name(model_id: str) -> str:
        model = services.catalog.model(model_id)
        return localized(model.names, turn.fmt.language) if model else model_id

    screen = render_margins(turn.fmt, MARGIN_DAYS, costs, lambda credits: cost_to_minor(credits, prices), name)
    return Reply([turn.show(screen)])


async def _list_screen(services: Services, turn: Turn) -> Screen:
    overrides = services.overrides or await services.storage.runtime.overrides()
    base = services.base_catalog or services.catalog
    listed = [model for model in base.models if _listed(model, overrides)]
    listed.sort(key=lambda m: (m.id not in overrides.drifts, not awaiting_price(m), m.id))
    return render_prices(turn.fmt, listed, overrides)


def _listed(model: ModelSpec, overrides: Overrides) -> bool:
    return awaiting_price(model) or model.id in overrides.drifts or model.id in overrides.prices


def _base_model(services: Services, model_id: str) -> ModelSpec | None:
    base = services.base_catalog or services.catalog
    return base.model(model_id) if model_id else None


def _price_from(services: Services, turn: Turn, model: ModelSpec | None) -> str:
    if model is None:
        return "—"
    try:
        return turn.fmt.money(services.price_from(model))
    except PriceMissingError:
        return "—"
