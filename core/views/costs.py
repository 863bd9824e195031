"""Operators' screens about money against KIE's charges: models awaiting a price (set at runtime), price
drifts, and the margin per model."""

from __future__ import annotations

from decimal import Decimal
from typing import Callable, Sequence

from core.callback_data import AdminAction, PriceAction
from core.i18n import Fmt, localized, truncate
from core.views.common import button, lines
from ports.admin import ModelCosts, Overrides, PriceDrift
from ports.catalog import ModelSpec
from ports.screens import Button, Screen

TEXT_LIMIT = 4096
LIST_LIMIT = 20  # models listed (two buttons each at most): well within Telegram's 100 buttons


def _back(fmt: Fmt) -> tuple[Button, ...]:
    return (button(fmt.t("btn.back"), AdminAction("panel")),)


def credits_text(value: Decimal) -> str:
    """12.50 → "12.5", 10 → "10" (never "1E+1")."""
    return format(value.normalize(), "f")


def render_prices(fmt: Fmt, models: Sequence[ModelSpec], overrides: Overrides) -> Screen:
    """Models awaiting a price or drifting, and the prices operators set; each with what can be done."""
    rows: list[str] = []
    keyboard: list[tuple[Button, ...]] = []
    for model in models[:LIST_LIMIT]:
        name = localized(model.names, fmt.language)
        drift = overrides.drifts.get(model.id)
        price = overrides.prices.get(model.id)
        if drift is not None:
            key = "prices.stopped" if drift.stopped else "prices.drift"
            rows.append(fmt.t(key, model=name, real=credits_text(drift.real_credits),
                              planned=credits_text(drift.catalog_credits)))
        if price is not None:
            rows.append(fmt.t("prices.override", model=name, credits=credits_text(price), unit=model.billing_unit))
        elif not model.prices:
            rows.append(fmt.t("prices.awaiting", model=name))
        actions = [button(fmt.t("prices.btn.set", model=name[:24]), PriceAction("ask", model.id))]
        if drift is not None:
            actions.append(button(fmt.t("prices.btn.keep"), PriceAction("keep", model.id)))
        keyboard.append(tuple(actions))
    if len(models) > LIST_LIMIT:
        rows.append(fmt.t("prices.more", count=len(models) - LIST_LIMIT))
    text = lines(fmt.t("prices.title"), "", *(rows or [fmt.t("prices.none")]), "", fmt.t("prices.usage"))
    return Screen(truncate(text, TEXT_LIMIT), (*keyboard, _back(fmt)), "admin_prices")


def render_price_ask(fmt: Fmt, model: ModelSpec, now: Decimal | None, credit_usd: Decimal) -> Screen:
    current = credits_text(now) if now is not None else fmt.t("prices.catalog")
    text = fmt.t("prices.ask", model=localized(model.names, fmt.language), unit=model.billing_unit,
                 credit_usd=credit_usd, now=current)
    return Screen(text, ((button(fmt.t("btn.back"), PriceAction("list")),),), "admin_price_ask")


def render_drift_alert(
    fmt: Fmt, name: str, drift: PriceDrift, *, planned_cost: int, real_cost: int, price: int
) -> Screen:
    text = lines(
        fmt.t("drift.alert", model=name, model_id=drift.model_id, real=credits_text(drift.real_credits),
              real_cost=fmt.money(real_cost), planned=credits_text(drift.catalog_credits),
              planned_cost=fmt.money(planned_cost), price=fmt.money(price)),
        fmt.t("drift.stopped" if drift.stopped else "drift.selling"),
    )
    return Screen(text, ((button(fmt.t("admin.btn.prices"), PriceAction("list")),),), "admin_price_drift")


def render_margins(
    fmt: Fmt, days: int, costs: Sequence[ModelCosts], cost_of: Callable[[Decimal], int], names: Callable[[str], str]
) -> Screen:
    """Per model: what users paid against what KIE charged, over the jobs KIE reported a cost for."""
    rows, paid_total, cost_total = [], 0, 0
    for item in costs:
        if item.costed_jobs == 0:
            rows.append(fmt.t("margin.row_unknown", model=names(item.model_id), jobs=item.jobs, paid=fmt.money(item.paid)))
            continue
        cost = cost_of(item.credits)
        paid_total, cost_total = paid_total + item.paid_costed, cost_total + cost
        rows.append(fmt.t(
            "margin.row", model=names(item.model_id), jobs=item.jobs, costed=item.costed_jobs,
            paid=fmt.money(item.paid_costed), credits=credits_text(item.credits), cost=fmt.money(cost),
            margin=fmt.signed_money(item.paid_costed - cost),
        ))
    total = fmt.t("margin.total", paid=fmt.money(paid_total), cost=fmt.money(cost_total),
                  margin=fmt.signed_money(paid_total - cost_total)) if rows else None
    text = lines(fmt.t("margin.title", days=days), "", *(rows or [fmt.t("margin.none")]), total)
    return Screen(truncate(text, TEXT_LIMIT), (_back(fmt),), "admin_margin")
