"""Money: integers of the currency's smallest unit, and how people read them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Currency:
    code: str
    minor_digits: int
    symbol: str

    @property
    def minor_per_major(self) -> int:
        return int(10**self.minor_digits)  # int ** int is typed Any: the exponent could be negative


CURRENCIES: dict[str, Currency] = {
    currency.code: currency
    for currency in (
        Currency("RUB", 2, "₽"),
        Currency("USD", 2, "$"),
        Currency("EUR", 2, "€"),
        Currency("UAH", 2, "₴"),
        Currency("KZT", 2, "₸"),
        Currency("XTR", 0, "⭐"),
    )
}


class UnknownCurrencyError(ValueError):
    pass


def currency_for(code: str) -> Currency:
    try:
        return CURRENCIES[code.upper()]
    except KeyError:
        raise UnknownCurrencyError(f"unknown currency {code!r}; known: {', '.join(CURRENCIES)}") from None


def major_to_minor(amount: Decimal | int | str, currency: Currency) -> int:
    """Whole and fractional major units ("100", "12.5") to the smallest unit; more digits are an error."""
    value = Decimal(str(amount)) * currency.minor_per_major
    if value != value.to_integral_value():
        raise ValueError(f"{amount} has more than {currency.minor_digits} decimals for {currency.code}")
    return int(value)


NBSP = "\u00a0"


def format_money(amount: int, currency: Currency, language: str) -> str:
    """12,50 ₽ / 1 234,50 ₽ in Russian; RUB 12.50 / RUB 1,234.50 in English."""
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), currency.minor_per_major)
    if language == "ru":
        grouped = f"{whole:,}".replace(",", NBSP)
        decimals = f",{fraction:0{currency.minor_digits}d}" if currency.minor_digits else ""
        return f"{sign}{grouped}{decimals}{NBSP}{currency.symbol}"
    decimals = f".{fraction:0{currency.minor_digits}d}" if currency.minor_digits else ""
    return f"{sign}{currency.code}{NBSP}{whole:,}{decimals}"
