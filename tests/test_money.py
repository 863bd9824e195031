from decimal import Decimal

import pytest

from core.money import NBSP, currency_for, format_money, major_to_minor
from core.pricing import PriceSettings, credits_to_minor

RUB = currency_for("RUB")


def test_russian_format_uses_comma_and_the_rouble_sign():
    assert format_money(1250, RUB, "ru") == f"12,50{NBSP}₽"


def test_english_format_puts_the_code_first_with_a_decimal_point():
    assert format_money(1250, RUB, "en") == f"RUB{NBSP}12.50"


def test_thousands_are_grouped_in_both_languages():
    assert format_money(123456789, RUB, "ru") == f"1{NBSP}234{NBSP}567,89{NBSP}₽"
    assert format_money(123456789, RUB, "en") == f"RUB{NBSP}1,234,567.89"


def test_negative_amounts_keep_their_sign():
    assert format_money(-5, RUB, "ru") == f"-0,05{NBSP}₽"


def test_a_currency_without_minor_units_prints_whole_numbers():
    assert format_money(250, currency_for("XTR"), "en") == f"XTR{NBSP}250"


def test_major_units_convert_exactly_to_the_smallest_unit():
    assert major_to_minor("100", RUB) == 10000
    assert major_to_minor(Decimal("12.5"), RUB) == 1250


def test_more_decimals_than_the_currency_has_is_an_error():
    with pytest.raises(ValueError):
        major_to_minor("0.001", RUB)


def test_unknown_currency_is_refused_with_the_known_ones_listed():
    with pytest.raises(ValueError, match="RUB"):
        currency_for("ABC")


def test_price_is_credits_times_rate_times_markup_rounded_up():
    settings = PriceSettings(RUB, Decimal("0.005"), Decimal("100"), Decimal("2"))
    # 0.8 credits = 0.004 USD = 0.40 RUB, ×2 = 0.80 RUB
    assert credits_to_minor(Decimal("0.8"), settings) == 80
    # 7.64 credits → 7.64 RUB exactly; 0.333 credits → 0.333 RUB → rounded up to 34 kopecks
    assert credits_to_minor(Decimal("7.64"), settings) == 764
    assert credits_to_minor(Decimal("0.333"), settings) == 34


def test_price_settings_follow_the_operator_configuration():
    settings = PriceSettings(currency_for("USD"), Decimal("0.005"), Decimal("1"), Decimal("1.5"))
    assert credits_to_minor(Decimal("10"), settings) == 8  # 0.075 USD → 8 cents, never below cost
