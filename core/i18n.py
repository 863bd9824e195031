"""Language choice and the formatter every screen renders through."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Mapping

from core.money import Currency, format_money
from core.texts import en, ru
from ports.catalog import InputSpec, OptionValue

LANGUAGES: dict[str, Mapping[str, str]] = {"ru": ru.TEXTS, "en": en.TEXTS}
LANGUAGE_NAMES = {"ru": "🇷🇺 Русский", "en": "🇬🇧 English"}


def resolve_language(chosen: str | None, language_code: str | None, default: str) -> str:
    """The user's choice in the bot; else Telegram's language_code (ru → Russian, otherwise English);
    else the default."""
    if chosen in LANGUAGES:
        return chosen
    if language_code:
        return "ru" if language_code.lower().split("-")[0] == "ru" else "en"
    return default if default in LANGUAGES else "ru"


def localized(values: Mapping[str, str], language: str) -> str:
    """A catalog name or description in the language, falling back to English, then anything."""
    anything: str = next(iter(values.values()), "")
    return values.get(language) or values.get("en") or anything


@dataclass(frozen=True)
class Fmt:
    """Texts, money and dates for one language and currency."""

    language: str
    currency: Currency

    def t(self, key: str, **fields: object) -> str:
        template = LANGUAGES[self.language][key]
        return template.format(**fields) if fields else template

    def money(self, amount: int) -> str:
        return format_money(amount, self.currency, self.language)

    def signed_money(self, amount: int) -> str:
        return ("+" if amount > 0 else "") + self.money(amount)

    def date(self, moment: datetime) -> str:
        return moment.strftime("%d.%m %H:%M") if self.language == "ru" else moment.strftime("%b %d %H:%M")

    def ordinal(self, number: int) -> str:
        """3 → "3-й" (ru), "3rd" (en)."""
        if self.language == "ru":
            return f"{number}-й"
        suffix = "th" if number % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
        return f"{number}{suffix}"

    def field_label(self, name: str) -> str:
        return LANGUAGES[self.language].get(f"field.{name}", name)

    def option_value(self, spec: InputSpec, value: OptionValue | None) -> str:
        if isinstance(value, bool):
            return self.t("yes") if value else self.t("no")
        return "—" if value is None else spec.labels.get(str(value), str(value))


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"
