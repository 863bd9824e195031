"""Menu, categories, help and language."""

from __future__ import annotations

from collections import Counter
from typing import Sequence

from core import free_tier
from core.callback_data import Language, Menu, OpenCategory, OpenFamily
from core.context import Reply, Services, Turn
from core.i18n import LANGUAGES, Fmt
from core.views.catalog import PAGE_SIZE, render_category, render_category_home
from core.views.menu import render_help, render_language, render_main_menu
from ports.catalog import Catalog, Family, ModelSpec
from ports.screens import Screen


async def shown_balance(services: Services, turn: Turn) -> int:
    """The balance a screen shows: the one read with the user (no second query), else read now. Only for
    screens of turns that have not moved money before showing them."""
    if turn.balance is not None:
        return turn.balance
    return await services.storage.ledger.balance(turn.user.id)


async def main_menu_screen(services: Services, turn: Turn, notice: str | None = None, fmt: Fmt | None = None) -> Screen:
    fmt = fmt or turn.fmt
    user = turn.user
    balance = await shown_balance(services, turn)
    return render_main_menu(
        fmt,
        name=user.first_name or user.username or str(user.id),
        balance=balance,
        categories=sorted(services.catalog.categories, key=lambda c: c.order),
        welcome_bonus=services.settings.welcome_balance if turn.new_user else 0,
        notice=notice,
        offer=await free_tier.offer(services, user.id, turn.now, fmt.language) if balance == 0 else None,
    )


async def menu(services: Services, turn: Turn, data: Menu | None = None) -> Reply:
    """The main menu; ``menu:new`` (under a photo or a progress message) sends a new message."""
    if turn.user.active_draft_id is not None:
        await services.storage.users.set_active_draft(turn.user.id, None)
    screen = await main_menu_screen(services, turn)
    return Reply([turn.send(screen) if data is not None and data.new else turn.show(screen)])


async def stale(services: Services, turn: Turn) -> Reply:
    """Unknown or outdated callback data: a friendly "menu updated" screen, never silence."""
    screen = await main_menu_screen(services, turn, notice=turn.fmt.t("menu.updated"))
    return Reply([turn.show(screen)], toast=turn.fmt.t("menu.toast_updated"), rejected="UNKNOWN_CALLBACK")


async def category(services: Services, turn: Turn, data: OpenCategory) -> Reply:
    """``cat:<id>``: popular models and families when the category is long and has families, else its models;
    ``cat:<id>:<page>``: every model of the category, page by page."""
    found = services.catalog.category(data.category)
    page = data.page or 0
    if found is None:
        return await stale(services, turn)
    models = services.catalog.in_category(found.id)
    entries = [(model, services.price_from(model)) for model in models]
    grouped = group_by_family(services.catalog, models)
    if data.page is not None or not grouped[1] or len(models) <= PAGE_SIZE:  # a short category needs no families
        return Reply([turn.show(render_category(turn.fmt, found, entries, page))])
    popular = [(m, services.price_from(m)) for m in grouped[0]]
    singles = [(m, services.price_from(m)) for m in grouped[2]]
    return Reply([turn.show(render_category_home(turn.fmt, found, popular, grouped[1], singles))])


async def family(services: Services, turn: Turn, data: OpenFamily) -> Reply:
    found = services.catalog.category(data.category)
    chosen = services.catalog.family(data.family)
    page = data.page or 0
    if found is None or chosen is None:
        return await stale(services, turn)
    models = [m for m in services.catalog.in_category(found.id) if m.family == chosen.id]
    models.sort(key=lambda m: not m.popular)  # the family's popular model first, then catalog order
    entries = [(model, services.price_from(model)) for model in models]
    return Reply([turn.show(render_category(turn.fmt, found, entries, page, family=chosen))])


def group_by_family(
    catalog: Catalog, models: Sequence[ModelSpec]
) -> tuple[list[ModelSpec], list[tuple[Family, int]], list[ModelSpec]]:
    """The category home's parts: popular models, families of two or more models (catalog order), the rest."""
    counts = Counter(m.family for m in models if m.family)
    families = [(f, counts[f.id]) for f in catalog.families if counts.get(f.id, 0) >= 2]
    listed = {f.id for f, _ in families}
    popular = [m for m in models if m.popular]
    singles = [m for m in models if m.family not in listed and not m.popular]
    return popular, families, singles


async def help_screen(services: Services, turn: Turn) -> Reply:
    return Reply([turn.show(render_help(turn.fmt))])


async def language(services: Services, turn: Turn, data: Language | None = None) -> Reply:
    if data is None or data.code is None:
        return Reply([turn.show(render_language(turn.fmt))])
    code = data.code
    if code not in LANGUAGES:
        return await stale(services, turn)
    await services.storage.users.set_language(turn.user.id, code)
    fmt = Fmt(code, turn.fmt.currency)
    screen = await main_menu_screen(services, turn, fmt=fmt)
    return Reply([turn.show(screen)], toast=fmt.t("language.changed"))


async def noop(services: Services, turn: Turn) -> Reply:
    """The page indicator of a list: a toast says what it is (a silent answer looks broken)."""
    return Reply(toast=turn.fmt.t("pager.toast"))


async def unknown_command(services: Services, turn: Turn) -> Reply:
    screen = await main_menu_screen(services, turn, notice=turn.fmt.t("menu.unknown_command"))
    return Reply([turn.send(screen)], rejected="UNKNOWN_COMMAND")
