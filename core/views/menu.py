"""The main menu, help and language screens."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from core.callback_data import Balance, Help, History, Language, Menu, OpenCategory
from core.i18n import LANGUAGE_NAMES, Fmt, localized
from core.views.common import button, free_offer_line, lines
from ports.catalog import Category
from ports.screens import Screen

if TYPE_CHECKING:
    from core.free_tier import FreeOffer


def render_main_menu(
    fmt: Fmt,
    *,
    name: str,
    balance: int,
    categories: Sequence[Category],
    welcome_bonus: int = 0,
    notice: str | None = None,
    offer: "FreeOffer | None" = None,
) -> Screen:
    """``offer``: a free model for a user whose balance is 0."""
    text = lines(
        notice,
        fmt.t("menu.greeting", name=name),
        fmt.t("menu.intro"),
        fmt.t("menu.welcome_bonus", amount=fmt.money(welcome_bonus)) if welcome_bonus > 0 else None,
        "",
        fmt.t("menu.balance", balance=fmt.money(balance)),
        free_offer_line(fmt, offer),
        fmt.t("menu.choose"),
    )
    keyboard = tuple((button(localized(c.names, fmt.language), OpenCategory(c.id)),) for c in categories) + (
        (button(fmt.t("btn.balance"), Balance()), button(fmt.t("btn.history"), History())),
        (button(fmt.t("btn.help"), Help()), button(fmt.t("btn.language"), Language())),
    )
    return Screen(text, keyboard, "main_menu")


def render_help(fmt: Fmt) -> Screen:
    return Screen(fmt.t("help.text"), ((button(fmt.t("btn.menu"), Menu()),),), "help")


def render_language(fmt: Fmt) -> Screen:
    keyboard = tuple((button(label, Language(code)),) for code, label in LANGUAGE_NAMES.items())
    return Screen(fmt.t("language.title"), keyboard + ((button(fmt.t("btn.menu"), Menu()),),), "language")
