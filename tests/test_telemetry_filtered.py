"""A marker below the configured level costs no formatting: its fields are not even turned into text."""

from __future__ import annotations

import logging

from entrypoints.telemetry import marker


class _Probe:
    def __init__(self) -> None:
        self.formatted = 0

    def __str__(self) -> str:
        self.formatted += 1
        return "probe"


def test_a_filtered_marker_formats_nothing(caplog):
    probe = _Probe()
    with caplog.at_level(logging.WARNING, logger="telemetry"):
        marker("UI_RENDER", screen_id=probe)
    assert probe.formatted == 0 and caplog.records == []


def test_an_enabled_marker_still_carries_its_fields(caplog):
    probe = _Probe()
    with caplog.at_level(logging.INFO, logger="telemetry"):
        marker("UI_RENDER", screen_id=probe)
    [record] = caplog.records
    assert "UI_RENDER" in record.getMessage() and record.screen_id is probe
