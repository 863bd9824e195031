"""The Bot API transport on aiohttp (adapters/telegram/aiohttp_request.py) and the JSON-built hot calls
(adapters/telegram/bot_calls.py), over real HTTP against FakeBotApi (or a recording server) on loopback."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import telegram
from aiohttp import web
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.request import HTTPXRequest

from adapters.kie.fake_media import png_bytes
from adapters.telegram.aiohttp_request import AiohttpRequest, SharedSession, aiohttp_bot
from adapters.telegram.bot_calls import BotCalls
from adapters.telegram.messenger import TelegramMessenger
from ports.effects import AnswerCallback, EditScreen, MessengerUnavailableError, SendScreen
from ports.screens import Button, Screen
from tests.conftest import make_bot
from tests.fakes import bounded

CHAT = 4242
MENU = Screen("Меню <b>", ((Button("🎨 Картинки", data="m:img"), Button("Help", url="https://example.org/h")),))

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A Bot API stand-in that records each request's content type and raw body, and answers ok."""
    seen: list[dict[str, Any]] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append({"method": request.match_info["method"], "type": request.content_type,
                     "body": await request.read(), "agent": request.headers.get("User-Agent", "")})
        me = {"id": 1, "is_bot": True, "first_name": "Bot", "username": "bot"}
        return web.json_response({"ok": True, "result": me if request.match_info["method"] == "getMe" else True})

    app = web.Application()
    app.router.add_post("/{bot}/{method}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}", seen
    finally:
        await runner.cleanup()


@bounded()
async def test_the_hot_calls_go_out_as_one_json_body_with_a_native_keyboard(recorder, clock):
    import json

    base, seen = recorder
    async with aiohttp_bot("1:x", f"{base}/bot", f"{base}/file/bot") as bot:
        messenger = TelegramMessenger(bot, sleep=clock.sleep, clock=clock.clock)
        await messenger.apply([SendScreen(CHAT, MENU), EditScreen(CHAT, 7, MENU), AnswerCallback("q1", "ok")])

    assert [call["method"] for call in seen] == ["getMe", "sendMessage", "editMessageText", "answerCallbackQuery"]
    send, edit, answer = seen[1:]
    assert {call["type"] for call in seen[1:]} == {"application/json"}
    keyboard = {"inline_keyboard": [[{"text": "🎨 Картинки", "callback_data": "m:img"},
                                     {"text": "Help", "url": "https://example.org/h"}]]}
    assert json.loads(send["body"]) == {"chat_id": CHAT, "text": "Меню &lt;b&gt;", "parse_mode": "HTML",
                                        "reply_markup": keyboard}
    assert json.loads(edit["body"]) == {"chat_id": CHAT, "message_id": 7, "text": "Меню &lt;b&gt;",
                                        "parse_mode": "HTML", "reply_markup": keyboard}
    assert json.loads(answer["body"]) == {"callback_query_id": "q1", "show_alert": False, "text": "ok"}
    assert send["agent"].startswith("python-telegram-bot")


@bounded()
async def test_other_methods_go_out_form_encoded_as_ptb_builds_them(recorder):
    base, seen = recorder
    async with aiohttp_bot("1:x", f"{base}/bot", f"{base}/file/bot") as bot:
        await bot.set_my_commands([("start", "Start")])

    assert seen[-1]["type"] == "application/x-www-form-urlencoded"
    assert b"commands=%5B%7B%22command%22%3A+%22start%22" in seen[-1]["body"]


@bounded()
async def test_a_file_is_uploaded_as_multipart_with_its_name_type_caption_and_keyboard(api):
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Again", callback_data="again")]])
    async with make_bot(api) as bot:
        await bot.send_photo(CHAT, InputFile(png_bytes("cat"), filename="result 1.png"), caption="Done",
                             reply_markup=markup)

    [call] = api.calls("sendPhoto")
    assert call.files["photo"].data == png_bytes("cat") and call.files["photo"].filename == "result 1.png"
    assert call.params["caption"] == "Done"
    assert call.params["reply_markup"] == {"inline_keyboard": [[{"text": "Again", "callback_data": "again"}]]}


@bounded()
async def test_telegram_errors_arrive_as_ptbs_exceptions_on_both_paths(api, bot):
    api.fail_next("sendMessage", 429, retry_after=7)
    with pytest.raises(telegram.error.RetryAfter) as flood:
        await BotCalls(bot).send_message(CHAT, "hi", None)
    api.fail_next("sendMessage", 400, description="Bad Request: chat not found")
    with pytest.raises(telegram.error.BadRequest, match="Chat not found"):
        await bot.send_message(CHAT, "hi")
    api.fail_next("answerCallbackQuery", 403)
    with pytest.raises(telegram.error.Forbidden):
        await BotCalls(bot).answer_callback_query("q", None, False)

    assert flood.value.retry_after.total_seconds() == 7


@bounded()
async def test_a_read_timeout_is_timed_out_and_the_messenger_retries_it(api, clock):
    api.delay_next("sendMessage", 0.4)
    bot = telegram.Bot(api.token, base_url=f"{api.base_url}/bot", request=AiohttpRequest(read_timeout=0.1))
    async with bot:
        with pytest.raises(telegram.error.TimedOut):
            await BotCalls(bot).send_message(CHAT, "slow", None)
        api.delay_next("sendMessage", 0.4)
        await TelegramMessenger(bot, sleep=clock.sleep, clock=clock.clock).apply([SendScreen(CHAT, MENU)])

    assert clock.sleeps == [0.5]
    assert len(api.calls("sendMessage")) == 3


@bounded()
async def test_an_unreachable_bot_api_is_a_network_error_then_unavailable(clock):
    port = _unused_port()
    bot = aiohttp_bot("1:x", f"http://127.0.0.1:{port}/bot", f"http://127.0.0.1:{port}/file/bot")
    try:
        with pytest.raises(MessengerUnavailableError, match="NetworkError after 3 attempts") as raised:
            await TelegramMessenger(bot, sleep=clock.sleep, clock=clock.clock).apply([SendScreen(CHAT, MENU)])
    finally:
        await bot.shutdown()

    assert isinstance(raised.value.__cause__, telegram.error.NetworkError)
    assert "aiohttp.ClientConnectorError" in str(raised.value.__cause__)


@bounded()
async def test_both_request_objects_share_one_session_closed_by_the_last_shutdown(api):
    shared = SharedSession()
    first, second = AiohttpRequest(shared), AiohttpRequest(shared)
    await first.initialize()
    await second.initialize()
    session = shared.session
    await first.shutdown()
    assert not session.closed and shared.session is session
    await second.shutdown()
    assert session.closed


@bounded()
async def test_with_ptbs_httpx_request_the_hot_calls_still_work(api, clock):
    async with make_bot(api, request=HTTPXRequest()) as bot:
        messenger = TelegramMessenger(bot, sleep=clock.sleep, clock=clock.clock)
        await messenger.apply([SendScreen(CHAT, MENU)])

    [message] = api.messages(CHAT)
    assert message.text == "Меню <b>" and message.buttons
