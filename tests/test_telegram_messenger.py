"""TelegramMessenger through python-telegram-bot's real Bot, over real HTTP, against FakeBotApi on loopback."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import telegram
from aiohttp import web
from telegram.request import HTTPXRequest

from adapters.kie.fake_media import png_bytes
from adapters.telegram.messenger import TelegramMessenger
from adapters.telegram.result_links import ResultLinks, parse_origins
from ports.effects import (
    AnswerCallback,
    EditScreen,
    MessengerUnavailableError,
    RecipientBlockedError,
    ResultKind,
    SendMedia,
    SendScreen,
)
from ports.screens import Button, Screen
from tests.conftest import make_bot
from tests.fakes import FakeTime, bounded

CHAT = 4242
MIB = 1 << 20
MENU = Screen("Pick <one> & pay", ((Button("🎨 Images", data="m:img"), Button("Help", url="https://example.org/help")),))

# PTB 22 itself reads RetryAfter.retry_after while building the exception and warns that it will become a
# timedelta; the adapter reads it warning-free and accepts both forms (see the PTB_TIMEDELTA test).
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")



@pytest.fixture
def messenger(bot: telegram.Bot, clock: FakeTime, files: str, tmp_path) -> TelegramMessenger:
    """Local files under tmp_path allowed (as the fake generator's), the ``files`` server trusted by its origin."""
    links = ResultLinks(file_root=tmp_path, trusted_origins=parse_origins(files))
    return TelegramMessenger(bot, sleep=clock.sleep, clock=clock.clock, links=links)


@pytest.fixture
async def files() -> AsyncIterator[str]:
    """A small web server with result files, as KIE's CDN would serve them."""
    photo = png_bytes("cat")
    routes = web.RouteTableDef()

    @routes.get("/cat.png")
    async def cat(request: web.Request) -> web.Response:
        return web.Response(body=photo, content_type="image/png")

    @routes.get("/big.jpg")
    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"\xff\xd8" + bytes(6 * MIB), content_type="image/jpeg")

    @routes.get("/notes.txt")
    async def notes(request: web.Request) -> web.Response:
        return web.Response(text="transcript", content_type="text/plain")

    @routes.route("HEAD", "/huge.mp4")
    async def huge(request: web.Request) -> web.Response:
        return web.Response(headers={"Content-Length": str(60 * MIB), "Content-Type": "video/mp4"})

    app = web.Application()
    app.add_routes(routes)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}"
    await runner.cleanup()


# --- screens ---------------------------------------------------------------------------------------------------


@bounded()
async def test_screen_is_sent_as_escaped_html_with_an_inline_keyboard(api, messenger):
    await messenger.apply([SendScreen(CHAT, MENU)])

    [call] = api.calls("sendMessage")
    assert call.params["text"] == "Pick &lt;one&gt; &amp; pay"
    assert call.params["parse_mode"] == "HTML"
    [message] = api.messages(CHAT)
    assert message.text == "Pick <one> & pay"
    assert message.buttons == [[("🎨 Images", "m:img"), ("Help", "https://example.org/help")]]


@bounded()
async def test_text_over_4096_characters_is_cut_with_an_ellipsis(api, messenger):
    await messenger.apply([SendScreen(CHAT, Screen("ab" * 3000))])

    [message] = api.messages(CHAT)
    assert len(message.text) == 4096 and message.text.endswith("…")


@bounded()
async def test_edit_replaces_text_and_keyboard(api, messenger):
    await messenger.apply([SendScreen(CHAT, MENU)])
    await messenger.apply([EditScreen(CHAT, 1, Screen("Balance: 5 ₽", ((Button("Back", data="m:root"),),)))])

    [message] = api.messages(CHAT)
    assert (message.message_id, message.text, message.buttons, message.edits) == (1, "Balance: 5 ₽", [[("Back", "m:root")]], 1)


@bounded()
async def test_an_edit_to_identical_content_counts_as_done(api, messenger):
    await messenger.apply([SendScreen(CHAT, MENU)])
    await messenger.apply([EditScreen(CHAT, 1, MENU)])

    assert len(api.calls("editMessageText")) == 1
    assert [m.message_id for m in api.messages(CHAT)] == [1]


@bounded()
async def test_an_edit_of_a_vanished_message_is_sent_as_a_new_message(api, messenger):
    await messenger.apply([EditScreen(CHAT, 77, MENU)])

    [message] = api.messages(CHAT)
    assert message.text == "Pick <one> & pay" and message.buttons[0][0] == ("🎨 Images", "m:img")


@bounded()
async def test_an_edit_of_a_media_message_is_sent_as_a_new_message(api, messenger, tmp_path):
    picture = tmp_path / "cat.png"
    picture.write_bytes(png_bytes("cat"))
    await messenger.apply([SendMedia(CHAT, ResultKind.PHOTO, picture.as_uri())])
    await messenger.apply([EditScreen(CHAT, 1, MENU)])

    assert [m.kind for m in api.messages(CHAT)] == ["photo", "text"]


# --- callbacks -------------------------------------------------------------------------------------------------


@bounded()
async def test_callback_is_answered_with_text_and_alert(api, messenger):
    api.push_update({"callback_query": {"id": "cb1", "from": {"id": CHAT, "is_bot": False, "first_name": "A"},
                                        "chat_instance": "1", "data": "m:img"}})
    await messenger.apply([AnswerCallback("cb1", text="Not enough balance", alert=True)])

    [call] = api.calls("answerCallbackQuery")
    assert call.params == {"callback_query_id": "cb1", "text": "Not enough balance", "show_alert": True}


@bounded()
async def test_a_too_old_callback_query_is_skipped_and_the_rest_still_applies(api, messenger, caplog):
    with caplog.at_level(logging.INFO, logger="adapters.telegram"):
        await messenger.apply([AnswerCallback("expired"), SendScreen(CHAT, MENU)])

    assert len(api.messages(CHAT)) == 1
    assert "TELEGRAM_CALLBACK_STALE callback_id=expired" in caplog.text


@bounded()
async def test_callback_answers_are_never_paced(api, messenger, clock):
    for n in range(6):
        api.push_update({"callback_query": {"id": f"q{n}", "from": {"id": CHAT, "is_bot": False, "first_name": "A"},
                                            "chat_instance": "1", "data": "x"}})
    await messenger.apply([AnswerCallback(f"q{n}") for n in range(6)])

    assert clock.sleeps == []


# --- media -----------------------------------------------------------------------------------------------------


@bounded()
async def test_a_local_photo_is_uploaded_with_caption_and_keyboard(api, messenger, tmp_path):
    picture = tmp_path / "result 1.png"
    picture.write_bytes(png_bytes("cat"))
    await messenger.apply([SendMedia(CHAT, ResultKind.PHOTO, picture.as_uri(), caption="Done <3",
                                     keyboard=((Button("Again", data="g:again"),),))])

    [message] = api.messages(CHAT)
    assert (message.kind, message.media, message.text) == ("photo", "upload", "Done <3")
    assert message.upload.data == png_bytes("cat") and message.upload.filename == "result 1.png"
    assert message.buttons == [[("Again", "g:again")]]


@bounded()
async def test_a_local_photo_over_10_mb_is_sent_as_a_document(api, messenger, tmp_path):
    picture = tmp_path / "huge.png"
    picture.write_bytes(bytes(11 * MIB))
    await messenger.apply([SendMedia(CHAT, ResultKind.PHOTO, picture.as_uri())])

    assert [call.method for call in api.calls() if call.method.startswith("send")] == ["sendDocument"]
    assert len(api.messages(CHAT)[0].upload.data) == 11 * MIB


@bounded()
async def test_a_missing_local_file_is_unavailable(messenger, tmp_path):
    with pytest.raises(MessengerUnavailableError, match="cannot read result file"):
        await messenger.apply([SendMedia(CHAT, ResultKind.AUDIO, (tmp_path / "gone.wav").as_uri())])


@bounded()
async def test_a_photo_url_is_sent_by_url(api, messenger, files):
    await messenger.apply([SendMedia(CHAT, ResultKind.PHOTO, f"{files}/cat.png", caption="cat")])

    [message] = api.messages(CHAT)
    assert message.media == f"{files}/cat.png"  # Telegram fetched it
    assert message.upload.data == png_bytes("cat")


@bounded()
async def test_a_photo_url_over_5_mb_is_downloaded_and_uploaded(api, messenger, files):
    await messenger.apply([SendMedia(CHAT, ResultKind.PHOTO, f"{files}/big.jpg")])

    assert len(api.calls("sendPhoto")) == 1  # no attempt by URL: HEAD said 6 MB
    [message] = api.messages(CHAT)
    assert (message.kind, message.media, len(message.upload.data)) == ("photo", "upload", 6 * MIB + 2)
    assert message.upload.filename == "big.jpg"


@bounded()
async def test_a_url_telegram_refuses_is_downloaded_and_uploaded(api, messenger, files):
    api.fail_next("sendPhoto", 400, description="Bad Request: wrong file identifier/HTTP URL specified")
    await messenger.apply([SendMedia(CHAT, ResultKind.PHOTO, f"{files}/cat.png")])

    first, second = api.calls("sendPhoto")
    assert first.params["photo"] == f"{files}/cat.png" and "photo" in second.files
    assert api.messages(CHAT)[0].upload.data == png_bytes("cat")


@bounded()
async def test_a_url_nobody_can_fetch_is_sent_as_a_link(api, messenger, files):
    url = f"{files}/missing.png"
    await messenger.apply([SendMedia(CHAT, ResultKind.PHOTO, url, caption="Your picture")])

    [message] = api.messages(CHAT)
    assert (message.kind, message.text) == ("text", f"Your picture\n{url}")


@bounded()
async def test_a_video_over_the_upload_limit_is_sent_as_a_link_without_downloading(api, messenger, files):
    url = f"{files}/huge.mp4"
    await messenger.apply([SendMedia(CHAT, ResultKind.VIDEO, url)])

    assert api.calls("sendVideo") == []
    assert [m.text for m in api.messages(CHAT)] == [url]


@bounded()
async def test_a_document_telegram_cannot_fetch_by_url_is_uploaded_straight_away(api, messenger, files):
    await messenger.apply([SendMedia(CHAT, ResultKind.DOCUMENT, f"{files}/notes.txt")])

    [call] = api.calls("sendDocument")
    assert call.files["document"].data == b"transcript"


@bounded()
async def test_kind_link_is_always_sent_as_text(api, messenger, files):
    await messenger.apply([SendMedia(CHAT, ResultKind.LINK, f"{files}/cat.png", caption="Open: <here>",
                                     keyboard=((Button("Menu", data="m:root"),),))])

    [message] = api.messages(CHAT)
    assert message.text == f"Open: <here>\n{files}/cat.png" and message.buttons == [[("Menu", "m:root")]]


# --- errors ----------------------------------------------------------------------------------------------------


@bounded()
async def test_flood_control_waits_retry_after_then_succeeds(api, messenger, clock):
    api.fail_next("sendMessage", 429, retry_after=7)
    await messenger.apply([SendScreen(CHAT, MENU)])

    assert clock.sleeps == [7.0]
    assert len(api.calls("sendMessage")) == 2 and len(api.messages(CHAT)) == 1


@bounded()
async def test_flood_control_also_works_with_ptbs_timedelta_retry_after(api, messenger, clock, monkeypatch):
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    api.fail_next("sendMessage", 429, retry_after=2)
    await messenger.apply([SendScreen(CHAT, MENU)])

    assert clock.sleeps == [2.0]


@bounded()
async def test_endless_flood_control_gives_up_after_five_waits(api, messenger, clock):
    api.fail_next("sendMessage", 429, retry_after=3, times=6)
    with pytest.raises(MessengerUnavailableError, match="flood"):
        await messenger.apply([SendScreen(CHAT, MENU)])

    assert clock.sleeps == [3.0] * 5


@bounded()
async def test_a_user_who_blocked_the_bot_raises_recipient_blocked(api, messenger):
    api.block_user(CHAT)
    with pytest.raises(RecipientBlockedError, match="blocked by the user"):
        await messenger.apply([SendScreen(CHAT, MENU)])


@bounded()
async def test_chat_not_found_for_a_user_raises_recipient_blocked(api, messenger):
    api.fail_next("sendMessage", 400, description="Bad Request: chat not found")
    with pytest.raises(RecipientBlockedError):
        await messenger.apply([SendScreen(CHAT, MENU)])


@bounded()
async def test_server_errors_are_retried_with_backoff(api, messenger, clock):
    api.fail_next("sendMessage", 502, times=2)
    await messenger.apply([SendScreen(CHAT, MENU)])

    assert clock.sleeps == [0.5, 1.0]
    assert len(api.messages(CHAT)) == 1


@bounded()
async def test_an_unreachable_bot_api_is_unavailable_after_bounded_retries(clock):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bot = telegram.Bot("1:x", base_url=f"http://127.0.0.1:{port}/bot")
    messenger = TelegramMessenger(bot, sleep=clock.sleep, clock=clock.clock)

    with pytest.raises(MessengerUnavailableError, match="NetworkError after 3 attempts") as raised:
        await messenger.apply([SendScreen(CHAT, MENU)])

    assert isinstance(raised.value.__cause__, telegram.error.NetworkError)
    assert clock.sleeps == [0.5, 1.0]


@bounded()
async def test_a_timed_out_request_is_retried(api, clock):
    api.delay_next("sendMessage", 0.4)
    async with make_bot(api, request=HTTPXRequest(read_timeout=0.1)) as bot:
        messenger = TelegramMessenger(bot, sleep=clock.sleep, clock=clock.clock)
        await messenger.apply([SendScreen(CHAT, MENU)])

    assert clock.sleeps == [0.5]
    assert len(api.calls("sendMessage")) == 2


@bounded()
async def test_a_bad_request_on_our_payload_is_logged_with_the_method_and_unavailable(api, messenger, caplog):
    screen = Screen("secret prompt text", ((Button("x", data="d" * 65),),))
    with caplog.at_level(logging.DEBUG, logger="adapters.telegram"), pytest.raises(MessengerUnavailableError) as raised:
        await messenger.apply([SendScreen(CHAT, screen)])

    assert isinstance(raised.value.__cause__, telegram.error.BadRequest)
    assert "TELEGRAM_BAD_REQUEST method=sendMessage chat=4242 error=Button_data_invalid" in caplog.text
    assert "secret prompt text" not in caplog.text and api.token not in caplog.text


# --- pacing ----------------------------------------------------------------------------------------------------


@bounded()
async def test_one_chat_gets_a_burst_of_three_then_one_message_per_second(api, messenger, clock):
    await messenger.apply([SendScreen(CHAT, Screen(f"n{n}")) for n in range(5)])

    assert clock.sleeps == pytest.approx([1.0, 1.0])
    assert [m.text for m in api.messages(CHAT)] == ["n0", "n1", "n2", "n3", "n4"]


@bounded()
async def test_the_global_limit_paces_sends_across_chats(api, bot, clock):
    messenger = TelegramMessenger(bot, global_per_second=2, sleep=clock.sleep, clock=clock.clock)
    await messenger.apply([SendScreen(chat, Screen("hi")) for chat in (1, 2, 3)])

    assert clock.sleeps == pytest.approx([0.5])


@bounded()
async def test_after_a_429_the_chat_gets_no_burst_only_one_message_per_second(api, messenger, clock):
    api.fail_next("sendMessage", 429, retry_after=5)
    await messenger.apply([SendScreen(CHAT, Screen("a")), SendScreen(CHAT, Screen("b"))])

    assert clock.sleeps == pytest.approx([5.0, 1.0])
    assert [m.text for m in api.messages(CHAT)] == ["a", "b"]


# --- the fake's protocol (what the tests above rely on) -------------------------------------------------------


@bounded()
async def test_the_fake_accepts_json_bodies_and_answers_in_telegrams_envelope(api):
    async with httpx.AsyncClient() as client:
        sent = await client.post(f"{api.base_url}/bot{api.token}/sendMessage", json={"chat_id": CHAT, "text": "hi"})
        wrong_token = await client.post(f"{api.base_url}/bot1:wrong/getMe")
        unknown = await client.get(f"{api.base_url}/bot{api.token}/noSuchMethod")

    assert sent.json()["ok"] is True and sent.json()["result"]["text"] == "hi"
    assert (wrong_token.status_code, wrong_token.json()) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    assert unknown.status_code == 404 and unknown.json()["description"] == "Not Found"


@bounded()
async def test_the_fake_answers_429_with_retry_after_like_telegram(api):
    api.fail_next("sendMessage", 429, retry_after=9)
    async with httpx.AsyncClient() as client:
        answer = await client.post(f"{api.base_url}/bot{api.token}/sendMessage", data={"chat_id": "1", "text": "x"})

    assert answer.status_code == 429
    assert answer.json() == {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 9",
                             "parameters": {"retry_after": 9}}


@bounded()
@pytest.mark.parametrize("chat, status, description", [
    (CHAT, 403, "Forbidden: user is deactivated"),
    (-100123, 403, "Forbidden: bot was kicked from the supergroup chat"),
    (-100123, 400, "Bad Request: chat not found"),
])
async def test_a_gone_recipient_is_named_by_the_error(api, messenger, chat, status, description):
    api.fail_next("sendMessage", status, description=description)
    with pytest.raises(RecipientBlockedError) as raised:
        await messenger.apply([SendScreen(chat, MENU)])
    assert raised.value.chat_id == chat


@bounded()
async def test_a_chat_waiting_for_its_next_slot_does_not_hold_up_other_chats():
    from adapters.telegram.limits import FloodLimiter

    gate, waits = asyncio.Event(), []

    async def sleep(seconds: float) -> None:  # time stands still until the gate opens
        waits.append(seconds)
        await gate.wait()

    limiter = FloodLimiter(per_chat_interval=1.0, chat_burst=1, global_per_second=30, sleep=sleep, clock=lambda: 1000.0)
    assert await limiter.acquire(1) == 0
    paced = asyncio.ensure_future(limiter.acquire(1))  # chat 1's next slot is a second away
    await asyncio.sleep(0)
    assert waits == [1.0]
    # Far under 30/s overall: chat 2 sends at once (reserving chat 1's overall slot a second ahead made it wait).
    assert await limiter.acquire(2) == 0
    gate.set()
    await paced
