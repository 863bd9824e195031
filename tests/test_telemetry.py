import io
import json
import logging

import pytest

from entrypoints.telemetry import RateLimitedLog, configure_logging, exception_caught, marker, passive_reject
from ports.trace import correlation_id


@pytest.fixture
def captured():
    stream = io.StringIO()
    yield stream
    logging.getLogger().handlers.clear()


def configure(stream, fmt, secrets=()):
    configure_logging("INFO", fmt, secrets)
    logging.getLogger().handlers[0].setStream(stream)


def test_markers_print_as_the_runbook_shows(captured):
    configure(captured, "text")
    token = correlation_id.set("abc123")
    try:
        marker("UPDATE_RECEIVED", update_id=123456)
        marker("CALLBACK_REJECTED", reason_code="UNKNOWN_CALLBACK")
    finally:
        correlation_id.reset(token)
    lines = captured.getvalue().splitlines()
    assert lines[0].endswith("[TELEMETRY] UPDATE_RECEIVED cid=abc123 update_id=123456")
    assert lines[1].endswith("[TELEMETRY] CALLBACK_REJECTED cid=abc123 reason_code=UNKNOWN_CALLBACK")


def test_json_lines_carry_the_same_fields(captured):
    configure(captured, "json")
    token = correlation_id.set("def456")
    try:
        marker("UI_RENDER", screen_id="model_selection")
        passive_reject("callback_query", "cat:image")
    finally:
        correlation_id.reset(token)
    first, second = (json.loads(line) for line in captured.getvalue().splitlines())
    assert first["event"] == "UI_RENDER" and first["cid"] == "def456" and first["screen_id"] == "model_selection"
    assert first["ts"].endswith("Z")
    assert second["event"] == "PASSIVE_REJECT" and second["data"] == "cat:image"


def test_exceptions_are_logged_with_type_and_message(captured):
    configure(captured, "text")
    try:
        raise AttributeError("'CallbackQuery' object has no attribute 'update_id'")
    except AttributeError as error:
        exception_caught(error, update_id=5)
    first = captured.getvalue().splitlines()[0]
    assert "[EXCEPTION] EXCEPTION_CAUGHT cid=- error_type=AttributeError" in first
    assert "error_message='CallbackQuery' object has no attribute 'update_id'" in first


def test_secrets_are_masked_in_every_line_whoever_logs_them(captured):
    token = "123456:SECRET_token_value"
    configure(captured, "text", [token])
    logging.getLogger("httpx").warning("GET https://api.telegram.org/bot%s/getMe failed", token)
    logging.getLogger("some.lib").error("boom with %s", token)
    assert token not in captured.getvalue() and captured.getvalue().count("***") == 2


def test_every_line_logged_while_handling_an_update_carries_its_cid_in_text(captured):
    configure(captured, "text")
    token = correlation_id.set("c1d2e3")
    try:
        logging.getLogger("core.job_runner").info("JOB_SUBMITTED", extra={"job": "j1", "task": "t9"})
        logging.getLogger("some.lib").warning("plain library line %s", 7)
    finally:
        correlation_id.reset(token)
    logging.getLogger("core.job_runner").info("BOT_STARTED", extra={"port": 80})
    job, library, outside = captured.getvalue().splitlines()
    assert job.endswith("core.job_runner: JOB_SUBMITTED cid=c1d2e3 job=j1 task=t9")
    assert library.endswith("some.lib: plain library line 7 cid=c1d2e3")
    assert outside.endswith("BOT_STARTED port=80")  # no update or job in hand: no cid to show


def test_json_lines_have_the_cid_and_the_fields_a_call_passed_as_keys(captured):
    configure(captured, "json")
    token = correlation_id.set("c1d2e3")
    try:
        logging.getLogger("core.job_runner").info("JOB_DELIVERED", extra={"job": "j1", "user": 5, "error": None})
    finally:
        correlation_id.reset(token)
    entry = json.loads(captured.getvalue())
    assert entry["message"] == "JOB_DELIVERED" and entry["cid"] == "c1d2e3"
    assert entry["job"] == "j1" and entry["user"] == 5 and "error" not in entry


def test_a_rate_limited_line_is_printed_once_per_interval_and_counts_what_it_left_out(captured):
    configure(captured, "text")
    now = [0.0]
    limited = RateLimitedLog(logging.getLogger("entrypoints.http_app"), every=60, clock=lambda: now[0])
    printed = [limited.warning("403", "WEBHOOK_REJECTED", status=403, remote="10.0.0.1") for _ in range(5)]
    now[0] = 61.0
    printed.append(limited.warning("403", "WEBHOOK_REJECTED", status=403, remote="10.0.0.2"))
    assert printed == [True, False, False, False, False, True]
    first, second = captured.getvalue().splitlines()
    assert first.endswith("WEBHOOK_REJECTED status=403 remote=10.0.0.1")
    assert second.endswith("WEBHOOK_REJECTED status=403 remote=10.0.0.2 suppressed=4")
