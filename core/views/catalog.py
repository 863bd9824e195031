"""Category pages and the model card that asks for the first input in the same message."""

from __future__ import annotations

from typing import Sequence

from core.callback_data import Menu, Noop, OpenCategory, OpenFamily, OpenModel
from core.drafts import NeedMedia, NeedPrompt, Step, prompt_limit, required_count
from core.i18n import Fmt, localized
from core.free_tier import FreeQuota
from core.views.common import button, free_line, lines
from ports.catalog import Category, Family, InputKind, InputSpec, ModelSpec
from ports.screens import Button, Screen

PAGE_SIZE = 8


def page_count(total: int, size: int = PAGE_SIZE) -> int:
    return max(1, -(-total // size))


def _model_row(fmt: Fmt, model: ModelSpec, price: int) -> tuple[Button, ...]:
    label = fmt.t("model.button", name=localized(model.names, fmt.language), price=fmt.money(price))
    return (button(label, OpenModel(model.id)),)


def _page(category: Category, family: Family | None, number: int) -> OpenCategory | OpenFamily:
    return OpenFamily(category.id, family.id, number) if family else OpenCategory(category.id, number)


def render_category(
    fmt: Fmt, category: Category, entries: Sequence[tuple[ModelSpec, int]], page: int = 0, family: Family | None = None
) -> Screen:
    """``entries``: the models with their lowest price ("from X"), all of the category or one ``family``'s."""
    pages = page_count(len(entries))
    page = min(max(page, 0), pages - 1)
    shown = entries[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    rows: list[tuple[Button, ...]] = [_model_row(fmt, m, p) for m, p in shown]
    if pages > 1:
        rows.append(
            (
                button(fmt.t("btn.prev"), _page(category, family, (page - 1) % pages)),
                button(fmt.t("category.page", page=page + 1, pages=pages), Noop()),
                button(fmt.t("btn.next"), _page(category, family, (page + 1) % pages)),
            )
        )
    back = button(fmt.t("btn.back"), OpenCategory(category.id)) if family else None
    rows.append((back, button(fmt.t("btn.menu"), Menu())) if back else (button(fmt.t("btn.menu"), Menu()),))
    body = fmt.t("category.choose") if entries else fmt.t("category.empty")
    title = localized(category.names, fmt.language)
    if family is not None:
        title = f"{title} › {localized(family.names, fmt.language)}"
    return Screen(lines(title, body), tuple(rows), "model_selection")


def render_category_home(
    fmt: Fmt,
    category: Category,
    popular: Sequence[tuple[ModelSpec, int]],
    families: Sequence[tuple[Family, int]],
    singles: Sequence[tuple[ModelSpec, int]],
) -> Screen:
    """A category with many models: its popular models, then one button per family (with its model count),
    then the models of no family, and a way to every model page by page."""
    rows: list[tuple[Button, ...]] = [_model_row(fmt, m, p) for m, p in popular]
    family_buttons = [
        button(fmt.t("category.family", name=localized(f.names, fmt.language), count=n), OpenFamily(category.id, f.id))
        for f, n in families
    ]
    rows += [tuple(family_buttons[i : i + 2]) for i in range(0, len(family_buttons), 2)]
    rows += [_model_row(fmt, m, p) for m, p in singles]
    rows.append((button(fmt.t("category.all"), OpenCategory(category.id, 0)), button(fmt.t("btn.menu"), Menu())))
    body = fmt.t("category.home") if popular else fmt.t("category.choose")
    return Screen(lines(localized(category.names, fmt.language), body), tuple(rows), "model_selection")


def _media_need(fmt: Fmt, spec: InputSpec) -> str:
    if spec.kind is InputKind.IMAGE and spec.max_items > 1:
        return fmt.t("media.images", min=required_count(spec), max=spec.max_items)
    return fmt.t(f"media.{spec.kind.value}")


def needs_line(fmt: Fmt, model: ModelSpec) -> str:
    items = [_media_need(fmt, spec) for spec in model.media_inputs if required_count(spec) > 0]
    if model.prompt is not None:
        items.append(fmt.t("model.needs_prompt", max=prompt_limit(model.prompt)))
    return fmt.t("model.needs", items=", ".join(items))


def ask_line(fmt: Fmt, step: Step) -> str | None:
    if isinstance(step, NeedMedia):
        return fmt.t(f"ask.{step.spec.kind.value}")
    if isinstance(step, NeedPrompt) and step.spec.dialogue is not None:
        return fmt.t("ask.dialogue", max=prompt_limit(step.spec))
    if isinstance(step, NeedPrompt) and step.spec.name == "text":
        return fmt.t("ask.speech", max=prompt_limit(step.spec))
    if isinstance(step, NeedPrompt):
        return fmt.t("ask.prompt", max=prompt_limit(step.spec))
    return None


def billing_limit_line(fmt: Fmt, model: ModelSpec) -> str | None:
    seconds = {"second": 1, "minute": 60}.get(model.billing_unit)
    return fmt.t("model.billing_limit", seconds=model.billed_units * seconds) if seconds else None


def optional_media_line(fmt: Fmt, model: ModelSpec) -> str | None:
    optional = [s for s in model.media_inputs if required_count(s) == 0 and s.kind is InputKind.IMAGE]
    return fmt.t("model.optional_media", max=optional[0].max_items) if optional else None


def output_line(fmt: Fmt, model: ModelSpec) -> str:
    count = model.results if model.quantity_field is None or model.billing_unit == "output_second" else 0
    what = fmt.t(f"output.{model.output.value}")
    return fmt.t("model.returns", what=what if count <= 1 else fmt.t("output.many", what=what, count=count))


def price_line(fmt: Fmt, model: ModelSpec, low: int, high: int | None) -> str:
    if model.billing_unit == "characters":
        return fmt.t("model.price_characters", price=fmt.money(low))
    if high is None or high <= low:
        return fmt.t("model.price_from", price=fmt.money(low))
    return fmt.t("model.price_range", low=fmt.money(low), high=fmt.money(high))


def duration_text(fmt: Fmt, seconds: int) -> str:
    return fmt.t("time.seconds", n=seconds) if seconds < 120 else fmt.t("time.minutes", n=round(seconds / 60))


def render_model_card(
    fmt: Fmt,
    model: ModelSpec,
    price_from: int,
    balance: int,
    step: Step,
    free: FreeQuota | None = None,
    price_to: int | None = None,
    via_family: bool = False,
) -> Screen:
    """``via_family``: the model was listed on its family's page (a long category), so Back returns there."""
    text = lines(
        localized(model.names, fmt.language),
        localized(model.descriptions, fmt.language),
        "",
        needs_line(fmt, model),
        billing_limit_line(fmt, model),
        optional_media_line(fmt, model),
        output_line(fmt, model),
        price_line(fmt, model, price_from, price_to),
        fmt.t("model.typical_time", time=duration_text(fmt, model.typical_seconds)),
        free_line(fmt, free),
        fmt.t("menu.balance", balance=fmt.money(balance)),
        "",
        ask_line(fmt, step),
    )
    back = OpenFamily(model.category, model.family) if via_family and model.family else OpenCategory(model.category)
    keyboard = ((button(fmt.t("btn.back"), back), button(fmt.t("btn.menu"), Menu())),)
    return Screen(text, keyboard, "model_card")


def render_ask(fmt: Fmt, model: ModelSpec, step: Step, received: str | None = None) -> Screen:
    """The next input request after a file arrived (a new message under the user's file)."""
    keyboard = ((button(fmt.t("btn.back"), OpenModel(model.id)), button(fmt.t("btn.menu"), Menu())),)
    return Screen(lines(received, ask_line(fmt, step)), keyboard, "ask_input")


def render_unavailable(fmt: Fmt) -> Screen:
    return Screen(fmt.t("model.unavailable"), ((button(fmt.t("btn.menu"), Menu()),),), "model_unavailable")
