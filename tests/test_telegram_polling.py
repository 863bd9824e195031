"""UpdatePoller and set_webhook through PTB's Bot, against FakeBotApi's getUpdates/webhook rules on loopback."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

import pytest
import telegram

from adapters.telegram.polling import UpdatePoller, set_webhook
from tests.fakes import FakeTime, bounded

ALLOWED = ["message", "callback_query", "pre_checkout_query", "my_chat_member"]
CONFLICT_LINE = "TELEGRAM_CONFLICT another instance is polling or a webhook is set; retrying in {} s"

# PTB 22 itself reads RetryAfter.retry_after while building the exception and warns that it will become a
# timedelta; the adapter reads it warning-free and accepts both forms (see the PTB_TIMEDELTA test).
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")



def text_update(text: str) -> dict[str, Any]:
    return {"message": {"message_id": 1, "from": {"id": 7, "is_bot": False, "first_name": "A"},
                        "chat": {"id": 7, "first_name": "A", "type": "private"}, "date": 1767225600, "text": text}}


@pytest.fixture
def poller(bot: telegram.Bot, clock: FakeTime) -> UpdatePoller:
    return UpdatePoller(bot, allowed_updates=ALLOWED, timeout=0, sleep=clock.sleep)


@bounded()
async def test_start_deletes_the_webhook_but_keeps_pending_updates(api, bot, poller):
    await bot.set_webhook("https://bot.example.org/hook", secret_token="s3cret")
    api.push_update(text_update("paid while we were down"))

    await poller.start()

    assert api.calls("deleteWebhook")[-1].params == {"drop_pending_updates": False}
    assert api.webhook is None and len(api.pending_updates) == 1


@bounded()
async def test_start_waits_out_a_bot_api_outage(api, poller, clock):
    api.fail_next("deleteWebhook", 502, times=2)

    await poller.start()

    assert clock.sleeps == [1.0, 2.0] and len(api.calls("deleteWebhook")) == 3


@bounded()
async def test_fetch_returns_the_raw_updates_exactly_as_telegram_sent_them(api, poller):
    sent = api.push_update({**text_update("hi"), "future_field": {"x": 1}})
    odd = api.push_update({"message": {"chat": "not an object"}})  # PTB's Update.de_json would fail on this one

    assert await poller.fetch() == [sent, odd]


@bounded()
async def test_fetch_sends_offset_timeout_and_allowed_updates(api, bot, clock):
    poller = UpdatePoller(bot, allowed_updates=ALLOWED, timeout=0, sleep=clock.sleep)
    first = api.push_update(text_update("one"))
    await poller.fetch()
    poller.commit(first["update_id"])
    await poller.fetch()

    before, after = api.calls("getUpdates")
    assert "offset" not in before.params
    assert after.params == {"offset": first["update_id"] + 1, "timeout": 0, "limit": 100, "allowed_updates": ALLOWED}


@bounded()
async def test_the_offset_only_advances_on_commit(api, poller):
    first = api.push_update(text_update("one"))
    second = api.push_update(text_update("two"))

    assert [u["update_id"] for u in await poller.fetch()] == [first["update_id"], second["update_id"]]
    assert [u["update_id"] for u in await poller.fetch()] == [first["update_id"], second["update_id"]]  # not stored yet

    poller.commit(first["update_id"])
    assert [u["update_id"] for u in await poller.fetch()] == [second["update_id"]]
    assert [u["update_id"] for u in api.pending_updates] == [second["update_id"]]  # Telegram forgot the first

    poller.commit(second["update_id"])
    poller.commit(first["update_id"])  # a late commit never moves the offset back
    assert poller.offset == second["update_id"] + 1
    assert await poller.fetch() == []


@bounded()
async def test_a_long_poll_returns_as_soon_as_an_update_arrives(api, bot):
    poller = UpdatePoller(bot, allowed_updates=ALLOWED, timeout=5)
    asyncio.get_running_loop().call_later(0.1, api.push_update, text_update("late"))

    [update] = await poller.fetch()

    assert update["message"]["text"] == "late"


@bounded()
async def test_conflict_with_a_webhook_backs_off_and_recovers_once_the_webhook_is_deleted(api, bot, poller, clock, caplog):
    await bot.set_webhook("https://bot.example.org/hook", secret_token="s3cret")
    update = api.push_update(text_update("waiting"))

    with caplog.at_level(logging.WARNING, logger="adapters.telegram.polling"):
        assert await poller.fetch() == []
        assert await poller.fetch() == []
        assert await poller.fetch() == []

    assert clock.sleeps == [1.0, 2.0, 4.0]
    assert [r.getMessage() for r in caplog.records] == [CONFLICT_LINE.format(n) for n in (1, 2, 4)]

    await bot.delete_webhook(drop_pending_updates=False)
    assert await poller.fetch() == [update]

    await bot.set_webhook("https://bot.example.org/hook", secret_token="s3cret")
    await poller.fetch()
    assert clock.sleeps[-1] == 1.0  # a success resets the backoff


@bounded()
async def test_the_conflict_backoff_is_capped_at_60_seconds(bot, poller, clock):
    await bot.set_webhook("https://bot.example.org/hook", secret_token="s3cret")
    for _ in range(9):
        await poller.fetch()

    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]


@bounded()
async def test_a_second_poller_terminates_the_first_with_a_conflict(api, bot, caplog):
    first_clock, second_clock = FakeTime(), FakeTime()
    first = UpdatePoller(bot, allowed_updates=ALLOWED, timeout=5, sleep=first_clock.sleep)
    other_instance = telegram.Bot(api.token, base_url=f"{api.base_url}/bot")  # another process, same token
    second = UpdatePoller(other_instance, allowed_updates=ALLOWED, timeout=0, sleep=second_clock.sleep)

    async with other_instance:
        with caplog.at_level(logging.WARNING, logger="adapters.telegram.polling"):
            waiting = asyncio.create_task(first.fetch())
            while not api.calls("getUpdates"):
                await asyncio.sleep(0.01)
            assert await second.fetch() == []
            assert await waiting == []

    assert first_clock.sleeps == [1.0] and second_clock.sleeps == []
    assert CONFLICT_LINE.format(1) in caplog.text


@bounded()
async def test_flood_control_on_get_updates_waits_retry_after(api, poller, clock):
    api.fail_next("getUpdates", 429, retry_after=3)

    assert await poller.fetch() == []
    assert clock.sleeps == [3.0]


@bounded()
async def test_network_errors_back_off_instead_of_crashing(clock, caplog):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bot = telegram.Bot("1:x", base_url=f"http://127.0.0.1:{port}/bot")
    poller = UpdatePoller(bot, allowed_updates=ALLOWED, timeout=0, sleep=clock.sleep)

    with caplog.at_level(logging.WARNING, logger="adapters.telegram.polling"):
        assert await poller.fetch() == []
        assert await poller.fetch() == []

    assert clock.sleeps == [1.0, 2.0]
    assert "TELEGRAM_POLL_RETRY error=NetworkError retrying in 1 s" in caplog.text


@bounded()
async def test_set_webhook_keeps_pending_updates_and_sends_the_secret_and_allowed_updates(api, bot):
    api.push_update(text_update("pending"))

    await set_webhook(bot, "https://bot.example.org/tg/abc", "s3cret_Token-1", ALLOWED)

    [call] = api.calls("setWebhook")
    assert call.params == {"url": "https://bot.example.org/tg/abc", "secret_token": "s3cret_Token-1",
                           "allowed_updates": ALLOWED, "drop_pending_updates": False}
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count, tuple(info.allowed_updates)) == (
        "https://bot.example.org/tg/abc", 1, tuple(ALLOWED))


@bounded()
@pytest.mark.parametrize("secret", ["", "has space", "x" * 257, "ключ"])
async def test_set_webhook_refuses_a_secret_telegram_would_reject(api, bot, secret):
    with pytest.raises(ValueError, match="secret token"):
        await set_webhook(bot, "https://bot.example.org/hook", secret, ALLOWED)

    assert api.calls("setWebhook") == []
