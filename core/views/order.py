"""The confirmation screen, option editing and the not-enough-balance screen."""

from __future__ import annotations

from typing import Mapping, Sequence

from core.callback_data import Confirm, Launch, Menu, OpenModel, SetOption, ShowOptionValues, ShowOptions, TopUp
from core.drafts import choices
from core.i18n import Fmt, localized, truncate
from core.free_tier import FreeOffer, FreeQuota
from core.views.common import button, free_line, free_offer_line, free_offer_rows, lines
from ports.catalog import InputSpec, ModelSpec, OptionValue
from ports.screens import Button, Screen
from ports.storage import Draft

PROMPT_PREVIEW = 300


def _option_lines(fmt: Fmt, model: ModelSpec, options: Mapping[str, OptionValue]) -> list[str]:
    return [
        fmt.t("confirm.option_line", label=fmt.field_label(spec.name), value=fmt.option_value(spec, options.get(spec.name)))
        for spec in model.options
    ]


def render_confirmation(
    fmt: Fmt,
    model: ModelSpec,
    draft: Draft,
    options: Mapping[str, OptionValue],
    price: int,
    balance: int,
    free: FreeQuota | None = None,
    offer: FreeOffer | None = None,
) -> Screen:
    """``price``: what the run costs (0 when a free try pays for it). When the balance is short, the
    screen shows the shortfall and the way to top up (and a free model, ``offer``) instead of 🚀."""
    files = sum(len(urls) for urls in draft.media.values())
    option_lines = _option_lines(fmt, model, options)
    shortfall = price - balance
    text = lines(
        fmt.t("confirm.title"),
        "",
        fmt.t("confirm.model", name=localized(model.names, fmt.language)),
        fmt.t("confirm.prompt", prompt=truncate(draft.prompt, PROMPT_PREVIEW)) if draft.prompt else None,
        fmt.t("confirm.characters", count=len(draft.prompt)) if draft.prompt and model.billing_unit == "characters" else None,
        fmt.t("confirm.media", count=files) if files else None,
        fmt.t("confirm.options") if option_lines else None,
        *option_lines,
        "",
        fmt.t("confirm.price", price=fmt.money(price)),
        free_line(fmt, free),
        fmt.t("confirm.balance_only", balance=fmt.money(balance)) if shortfall > 0  # never a negative "after"
        else fmt.t("confirm.balance", balance=fmt.money(balance), after=fmt.money(balance - price)),
        fmt.t("confirm.shortfall", shortfall=fmt.money(shortfall)) if shortfall > 0 else None,
        free_offer_line(fmt, offer) if shortfall > 0 else None,
        fmt.t("confirm.edit_hint") if model.prompt is not None else None,
    )
    short = shortfall > 0  # no 🚀 that can only fail: the way to top up (and back to this order) instead
    first = button(fmt.t("btn.topup"), TopUp(draft.id)) if short else button(fmt.t("btn.launch"), Launch(draft.id))
    rows: list[tuple[Button, ...]] = [(first,), *(free_offer_rows(fmt, offer) if short else ())]
    if model.options:
        rows.append((button(fmt.t("btn.options"), ShowOptions(draft.id)),))
    rows.append((button(fmt.t("btn.back"), OpenModel(model.id)), button(fmt.t("btn.menu"), Menu())))
    return Screen(text, tuple(rows), "confirmation")


def render_options(fmt: Fmt, model: ModelSpec, draft: Draft, options: Mapping[str, OptionValue]) -> Screen:
    rows = tuple(
        (button(f"{fmt.field_label(spec.name)}: {fmt.option_value(spec, options.get(spec.name))}", ShowOptionValues(draft.id, i)),)
        for i, spec in enumerate(model.options)
    )
    text = lines(fmt.t("options.title", name=localized(model.names, fmt.language)), fmt.t("options.hint"))
    return Screen(text, rows + ((button(fmt.t("btn.to_confirm"), Confirm(draft.id)),),), "options")


def render_option_values(
    fmt: Fmt,
    draft: Draft,
    index: int,
    spec: InputSpec,
    current: OptionValue | None,
    prices: Sequence[int] | None = None,
) -> Screen:
    """``prices``: the order's price with each value, when the option changes the price."""
    rows = []
    for j, value in enumerate(choices(spec)):
        label = fmt.option_value(spec, value)
        if prices is not None:
            label = fmt.t("options.value_with_price", value=label, price=fmt.money(prices[j]))
        if value == current and type(value) is type(current):
            label = f"• {label}"
        rows.append((button(label, SetOption(draft.id, index, j)),))
    text = lines(
        fmt.t("options.values_title", label=fmt.field_label(spec.name)),
        fmt.t("options.values_hint", value=fmt.option_value(spec, current)),
    )
    return Screen(text, tuple(rows) + ((button(fmt.t("btn.back"), ShowOptions(draft.id)),),), "option_values")


def render_insufficient(fmt: Fmt, draft_id: str, price: int, balance: int, offer: FreeOffer | None = None) -> Screen:
    text = lines(
        fmt.t("launch.insufficient_title"),
        "",
        fmt.t(
            "launch.insufficient",
            price=fmt.money(price),
            balance=fmt.money(balance),
            shortfall=fmt.money(price - balance),
        ),
        free_offer_line(fmt, offer),
    )
    keyboard = (
        (button(fmt.t("btn.topup"), TopUp(draft_id)),),
        *free_offer_rows(fmt, offer),
        (button(fmt.t("btn.to_confirm"), Confirm(draft_id)), button(fmt.t("btn.menu"), Menu())),
    )
    return Screen(text, keyboard, "insufficient_balance")
