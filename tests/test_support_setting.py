"""SUPPORT_CONTACT: a Telegram @username or an https link, checked at start."""

from __future__ import annotations

import pytest

from entrypoints.settings import SettingsError, load_settings
from entrypoints.wiring import core_settings


@pytest.mark.parametrize("value", ["@trt_support", "https://t.me/trt_support", "https://example.com/help"])
def test_a_username_or_an_https_link_is_accepted_and_reaches_the_core(value):
    assert core_settings(load_settings({"SUPPORT_CONTACT": value})).support_contact == value


@pytest.mark.parametrize("value", ["trt_support", "@ab", "http://example.com", "@bad name", "javascript:alert(1)"])
def test_anything_else_stops_with_one_line_naming_the_setting(value):
    with pytest.raises(SettingsError) as error:
        load_settings({"SUPPORT_CONTACT": value})
    assert str(error.value).startswith("invalid setting SUPPORT_CONTACT:") and "\n" not in str(error.value)


def test_it_is_optional():
    assert core_settings(load_settings({})).support_contact == ""
