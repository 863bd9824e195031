"""Test-wide setup."""

import os

# python-telegram-bot 22 warns that RetryAfter.retry_after becomes a timedelta; the messenger reads both
# forms, and the bot opts in to the future form (entrypoints/server.py), so the tests do too.
os.environ.setdefault("PTB_TIMEDELTA", "1")


import pytest  # noqa: E402
import telegram  # noqa: E402

from adapters.telegram.aiohttp_request import aiohttp_bot  # noqa: E402
from adapters.telegram.fake_bot_api import FakeBotApi  # noqa: E402
from tests.fakes import FakeTime  # noqa: E402


def make_bot(api: FakeBotApi, **kwargs: object) -> telegram.Bot:
    """A python-telegram-bot client pointed at the fake Bot API server, on the bot's own aiohttp transport
    (``request=`` given: that one, e.g. PTB's ``HTTPXRequest``)."""
    if "request" in kwargs:
        return telegram.Bot(api.token, base_url=f"{api.base_url}/bot", base_file_url=f"{api.base_url}/file/bot", **kwargs)
    return aiohttp_bot(api.token, f"{api.base_url}/bot", f"{api.base_url}/file/bot")


@pytest.fixture
async def api():
    async with FakeBotApi() as server:
        yield server


@pytest.fixture
async def bot(api):
    async with make_bot(api) as client:
        yield client


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime()


@pytest.fixture(autouse=True)
def _caplog_reads_like_the_operator_log(request):
    """``caplog.text`` shows each line as the bot prints it (message, cid, then the fields passed as data)."""
    if "caplog" not in request.fixturenames:
        yield
        return
    from entrypoints.telemetry import CidFilter, TextFormatter

    handler = request.getfixturevalue("caplog").handler  # pytest keeps one capture handler for the session
    if not isinstance(handler.formatter, TextFormatter):
        handler.setFormatter(TextFormatter(lambda line: line))
        handler.addFilter(CidFilter())
    yield
