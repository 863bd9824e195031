"""Category pages and the model card that asks for the first input in the same message."""

from __future__ import annotations

from typing import Sequence

from core.drafts import NeedMedia, NeedPrompt, Step, prompt_limit, required_count
from core.i18n import Fmt, localized
from core.free_tier import FreeQuota
from core.views.common import button, free_line, lines
from ports.catalog import Category, InputKind, InputSpec, ModelSpec
from ports.screens import Button, Screen

PAGE_SIZE = 8


def page_count(total: int, size: int = PAGE_SIZE) -> int:
    return max(1, -(-total // size))


def render_category(
    fmt: Fmt, category: Category, entries: Sequence[tuple[ModelSpec, int]], page: int = 0
) -> Screen:
    """``entries``: the category's models with their lowest price ("from X")."""
    pages = page_count(len(entries))
    page = min(max(page, 0), pages - 1)
    shown = entries[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    rows: list[tuple[Button, ...]] = [
        (button(fmt.t("model.button", name=localized(m.names, fmt.language), price=fmt.money(p)), "model", m.id),)
        for m, p in shown
    ]
    if pages > 1:
        rows.append(
            (
                button(fmt.t("btn.prev"), "cat", category.id, (page - 1) % pages),
                button(fmt.t("category.page", page=page + 1, pages=pages), "noop"),
                button(fmt.t("btn.next"), "cat", category.id, (page + 1) % pages),
            )
        )
    rows.append((button(fmt.t("btn.menu"), "menu"),))
    body = fmt.t("category.choose") if entries else fmt.t("category.empty")
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
    if isinstance(step, NeedPrompt):
        return fmt.t("ask.prompt", max=prompt_limit(step.spec))
    return None


def billing_limit_line(fmt: Fmt, model: ModelSpec) -> str | None:
    seconds = {"second": 1, "minute": 60}.get(model.billing_unit)
    return fmt.t("model.billing_limit", seconds=model.billed_units * seconds) if seconds else None


def optional_media_line(fmt: Fmt, model: ModelSpec) -> str | None:
    optional = [s for s in model.media_inputs if required_count(s) == 0 and s.kind is InputKind.IMAGE]
    return fmt.t("model.optional_media", max=optional[0].max_items) if optional else None


def render_model_card(
    fmt: Fmt, model: ModelSpec, price_from: int, balance: int, step: Step, free: FreeQuota | None = None
) -> Screen:
    text = lines(
        localized(model.names, fmt.language),
        localized(model.descriptions, fmt.language),
        "",
        needs_line(fmt, model),
        billing_limit_line(fmt, model),
        optional_media_line(fmt, model),
        fmt.t("model.price_from", price=fmt.money(price_from)),
        free_line(fmt, free),
        fmt.t("menu.balance", balance=fmt.money(balance)),
        "",
        ask_line(fmt, step),
    )
    keyboard = ((button(fmt.t("btn.back"), "cat", model.category), button(fmt.t("btn.menu"), "menu")),)
    return Screen(text, keyboard, "model_card")


def render_ask(fmt: Fmt, model: ModelSpec, step: Step, received: str | None = None) -> Screen:
    """The next input request after a file arrived (a new message under the user's file)."""
    keyboard = ((button(fmt.t("btn.back"), "model", model.id), button(fmt.t("btn.menu"), "menu")),)
    return Screen(lines(received, ask_line(fmt, step)), keyboard, "ask_input")


def render_unavailable(fmt: Fmt) -> Screen:
    return Screen(fmt.t("model.unavailable"), ((button(fmt.t("btn.menu"), "menu"),),), "model_unavailable")
