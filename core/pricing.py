"""Prices: KIE credits × KIE_CREDIT_USD × USD_RATE × PRICE_MARKUP, rounded up to the smallest unit.

An operator's runtime price for a model (``PriceSettings.overrides``, KIE credits per billed unit, set in the
admin panel and kept in storage) replaces the catalog's rules for that model: :func:`priced`."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, Decimal
from typing import Mapping

from core.money import Currency
from ports.catalog import InputKind, InputSpec, ModelSpec, OptionValue, PriceRule


@dataclass(frozen=True)
class PriceSettings:
    currency: Currency
    credit_usd: Decimal = Decimal("0.005")
    usd_rate: Decimal = Decimal("100")  # currency units per USD
    markup: Decimal = Decimal("2")
    # Operators' prices by model id: KIE credits per billed unit, whatever the options (core/runtime.py).
    overrides: Mapping[str, Decimal] = field(default_factory=dict, hash=False)


class PriceMissingError(LookupError):
    """No price rule of the model matches the chosen options (a catalog gap)."""


def default_options(model: ModelSpec) -> dict[str, OptionValue]:
    """Every option and fixed field with its default, as sent to KIE when the user changes nothing."""
    return {
        spec.name: spec.default
        for spec in model.inputs
        if spec.kind not in (InputKind.PROMPT, InputKind.IMAGE, InputKind.VIDEO, InputKind.AUDIO)
        and spec.default is not None
    }


CHARACTERS_PER_UNIT = 1000  # billing unit "characters": credits per 1,000 characters of the prompt


def billed_units(model: ModelSpec, text_length: int | None = None) -> Decimal:
    """How many billing units one job is charged: per 1,000 characters of the text (text-to-speech; without a text
    yet, one unit: the card's "from" price is per 1,000), else the catalog's fixed count."""
    if model.billing_unit == "characters":
        return Decimal(max(text_length if text_length is not None else CHARACTERS_PER_UNIT, 1)) / CHARACTERS_PER_UNIT
    return Decimal(model.billed_units)


def credits_for(model: ModelSpec, options: Mapping[str, OptionValue], text_length: int | None = None) -> Decimal:
    """KIE credits for one job with these options (the most specific matching rule); ``text_length`` is the
    prompt's length for models billed per 1,000 characters."""
    matching = [rule for rule in model.prices if all(options.get(k) == v for k, v in rule.when.items())]
    if not matching:
        raise PriceMissingError(f"{model.id}: no price for {dict(options)}")
    rule = max(matching, key=lambda r: len(r.when))
    quantity = 1
    if model.quantity_field is not None:
        quantity = int(options.get(model.quantity_field, 1) or 1)
    return rule.credits * billed_units(model, text_length) * quantity


def priced(model: ModelSpec, settings: PriceSettings) -> ModelSpec:
    """The model as it is sold: with the operator's price, when there is one, as its only price rule."""
    credits = settings.overrides.get(model.id)
    return model if credits is None else replace(model, prices=(PriceRule({}, credits),))


def planned_credits(
    model: ModelSpec, options: Mapping[str, OptionValue], settings: PriceSettings, text_length: int | None = None
) -> Decimal:
    """The KIE credits a job's price assumed (the operator's price, else the catalog's); ``text_length`` for
    models billed per 1,000 characters."""
    return credits_for(priced(model, settings), options, text_length)


def cost_to_minor(credits: Decimal, settings: PriceSettings) -> int:
    """What KIE credits cost the operator in the balance currency (no markup), rounded up."""
    return credits_to_minor(credits, replace(settings, markup=Decimal(1)))


def credits_to_minor(credits: Decimal, settings: PriceSettings) -> int:
    major = credits * settings.credit_usd * settings.usd_rate * settings.markup
    return int((major * settings.currency.minor_per_major).to_integral_value(rounding=ROUND_CEILING))


def price_for(
    model: ModelSpec, options: Mapping[str, OptionValue], settings: PriceSettings, text_length: int | None = None
) -> int:
    return credits_to_minor(planned_credits(model, options, settings, text_length), settings)


def price_to(model: ModelSpec, settings: PriceSettings) -> int:
    """The highest price over all option combinations (the card's price range; per 1,000 characters for TTS)."""
    return max(price_for(model, combo, settings) for combo in option_combinations(priced(model, settings)))


def _priced_options(model: ModelSpec) -> list[InputSpec]:
    names = {name for rule in model.prices for name in rule.when}
    if model.quantity_field:
        names.add(model.quantity_field)
    return [spec for spec in model.options if spec.name in names and spec.values]


def option_combinations(model: ModelSpec) -> list[dict[str, OptionValue]]:
    """Every combination of the options that change the price, the others at their defaults."""
    base = default_options(model)
    priced = _priced_options(model)
    combos = []
    for values in itertools.product(*(spec.values for spec in priced)):
        combo = dict(base)
        combo.update({spec.name: value for spec, value in zip(priced, values)})
        combos.append(combo)
    return combos


def price_from(model: ModelSpec, settings: PriceSettings) -> int:
    """The lowest price over all option combinations ("from X" in the model list)."""
    return min(price_for(model, combo, settings) for combo in option_combinations(priced(model, settings)))
