"""Results in every shape on Telegram (issue 18.5), through python-telegram-bot against FakeBotApi: albums
(sendMediaGroup), originals as documents, photos Telegram would not show as photos, files too large to upload."""

from __future__ import annotations

import struct
import zlib
from collections.abc import AsyncIterator

import pytest
import telegram
from aiohttp import web

from adapters.kie.fake_media import png_bytes
from adapters.telegram.messenger import TelegramMessenger
from adapters.telegram.photo_check import image_size, photo_problem
from adapters.telegram.result_links import ResultLinks, parse_origins
from core.views.jobs import original_effects, result_effects
from ports.catalog import OutputKind
from ports.effects import DeliveryNote, ResultKind, ResultRefusedError, SendAlbum, SendMedia
from ports.events import CallbackPress, UserRef
from tests.builders import EN
from tests.fakes import FakeTime, bounded

CHAT = 4242
MIB = 1 << 20
NOTES = {note.value: f"note:{note.value}" for note in DeliveryNote}


def png(width: int, height: int, color_type: int = 2) -> bytes:
    """A small valid PNG header (IHDR) with the given dimensions and colour type, then one tiny IDAT."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


@pytest.fixture
async def files() -> AsyncIterator[str]:
    routes = web.RouteTableDef()

    @routes.get("/{n}.png")
    async def picture(request: web.Request) -> web.Response:
        return web.Response(body=png_bytes(request.match_info["n"]), content_type="image/png")

    @routes.route("HEAD", "/huge.mp3")
    async def huge(request: web.Request) -> web.Response:
        return web.Response(headers={"Content-Length": str(60 * MIB), "Content-Type": "audio/mpeg"})

    app = web.Application()
    app.add_routes(routes)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}"
    await runner.cleanup()


@pytest.fixture
def messenger(bot: telegram.Bot, files: str, tmp_path) -> TelegramMessenger:
    clock = FakeTime()
    links = ResultLinks(file_root=tmp_path, trusted_origins=parse_origins(files))
    return TelegramMessenger(bot, sleep=clock.sleep, clock=clock.clock, links=links)


def local(tmp_path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return path.as_uri()


# --- albums ----------------------------------------------------------------------------------------------------


@bounded()
async def test_a_multi_image_result_is_one_album_then_one_message_with_the_buttons(api, messenger, tmp_path):
    urls = tuple(local(tmp_path, f"r{n}.png", png_bytes(str(n))) for n in range(6))  # grok-imagine: 6 images
    effects = result_effects(EN, chat_id=CHAT, job_id="j1", name="Grok", output=OutputKind.IMAGE, prompt="cats",
                             urls=urls, text=None)
    await messenger.apply(effects)

    assert [call.method for call in api.calls() if call.method.startswith("send")] == ["sendMediaGroup", "sendMessage"]
    *photos, buttons = api.messages(CHAT)
    assert [m.kind for m in photos] == ["photo"] * 6 and len({m.media_group_id for m in photos}) == 1
    assert [m.text for m in photos] == ["✅ Grok\n“cats”"] + [None] * 5  # one caption, on the first
    assert all(m.reply_markup is None for m in photos)
    assert [m.upload.data for m in photos] == [png_bytes(str(n)) for n in range(6)]
    assert buttons.kind == "text" and [label for row in buttons.buttons for label, _ in row] == [
        "🔁 Again", "🏠 Menu", "📄 Original"]


@bounded()
async def test_more_than_ten_files_make_several_albums(api, messenger, files):
    urls = tuple(f"{files}/{n}.png" for n in range(12))
    effects = result_effects(EN, chat_id=CHAT, job_id="j1", name="G", output=OutputKind.IMAGE, prompt=None,
                             urls=urls, text=None)
    await messenger.apply(effects)

    groups = api.calls("sendMediaGroup")
    assert [len(call.params["media"]) for call in groups] == [6, 6]
    assert [item["media"] for call in groups for item in call.params["media"]] == list(urls)  # by URL


@bounded()
async def test_an_album_telegram_refuses_is_sent_file_by_file(api, messenger, files):
    api.fail_next("sendMediaGroup", 400, description="Bad Request: failed to get HTTP URL content")
    await messenger.apply([SendAlbum(CHAT, ResultKind.PHOTO, (f"{files}/a.png", f"{files}/b.png"), "two")])

    assert [m.kind for m in api.messages(CHAT)] == ["photo", "photo"]
    assert [m.text for m in api.messages(CHAT)] == ["two", None]


@bounded()
async def test_an_album_with_a_refused_link_scheme_is_refused(api, messenger, files):
    with pytest.raises(ResultRefusedError):
        await messenger.apply([SendAlbum(CHAT, ResultKind.PHOTO, (f"{files}/a.png", "ftp://x/b.png"))])
    assert api.messages(CHAT) == []


@bounded()
async def test_the_fake_refuses_albums_as_telegram_does(api, bot, tmp_path):
    with pytest.raises(telegram.error.BadRequest, match="2-10 items"):
        await bot.send_media_group(CHAT, [telegram.InputMediaPhoto(png_bytes("x"))])
    with pytest.raises(telegram.error.BadRequest, match="own kind"):
        await bot.send_media_group(CHAT, [telegram.InputMediaPhoto(png_bytes("x")),
                                          telegram.InputMediaDocument(png_bytes("y"))])


# --- originals -------------------------------------------------------------------------------------------------


@bounded()
async def test_originals_are_sent_as_documents(api, messenger, tmp_path, files):
    one = local(tmp_path, "one.png", png_bytes("one"))
    await messenger.apply(original_effects(EN, CHAT, (one,)))
    await messenger.apply(original_effects(EN, CHAT, (local(tmp_path, "a.png", b"A"), local(tmp_path, "b.png", b"B"))))
    await messenger.apply(original_effects(EN, CHAT, (f"{files}/c.png",)))  # a PNG by URL: downloaded, uploaded

    single, *album, remote = api.messages(CHAT)
    assert (single.kind, single.upload.data, single.text) == ("document", png_bytes("one"), "📄 The original file")
    assert [m.kind for m in album] == ["document", "document"] and album[0].media_group_id == album[1].media_group_id
    assert (remote.kind, remote.media, remote.upload.data) == ("document", "upload", png_bytes("c"))


# --- photos that are not photos ----------------------------------------------------------------------------------


def test_photo_limits_are_read_from_the_file():
    assert image_size(png(300, 200)) == (300, 200)
    assert photo_problem(png(300, 200)) is None
    assert photo_problem(png(300, 200, color_type=6)) is DeliveryNote.TRANSPARENT
    assert photo_problem(png(9000, 1500)) is DeliveryNote.PHOTO_DIMENSIONS  # w + h > 10000
    assert photo_problem(png(4200, 200)) is DeliveryNote.PHOTO_DIMENSIONS  # ratio 21 > 20
    assert photo_problem(bytes(11 * MIB)) is DeliveryNote.PHOTO_TOO_LARGE
    jpeg = b"\xff\xd8\xff\xe0\x00\x04ab\xff\xc0\x00\x11\x08\x01\x2c\x02\x58" + bytes(12)
    assert image_size(jpeg) == (600, 300)


@pytest.mark.parametrize(("data", "note"), [
    (png(300, 200, color_type=6), DeliveryNote.TRANSPARENT),
    (png(9000, 1500), DeliveryNote.PHOTO_DIMENSIONS),
    (bytes(11 * MIB), DeliveryNote.PHOTO_TOO_LARGE),
])
@bounded()
async def test_a_picture_telegram_would_not_show_as_a_photo_goes_as_a_document_saying_why(
        api, messenger, tmp_path, data, note):
    await messenger.apply([SendMedia(CHAT, ResultKind.PHOTO, local(tmp_path, "p.png", data), "Done", notes=NOTES)])

    assert api.calls("sendPhoto") == []
    [message] = api.messages(CHAT)
    assert message.kind == "document" and message.text == f"Done\nnote:{note.value}"


@bounded()
async def test_the_fake_refuses_photo_dimensions_like_telegram(api, bot):
    with pytest.raises(telegram.error.BadRequest, match="(?i)photo_invalid_dimensions"):
        await bot.send_photo(CHAT, png(9000, 1500))


@bounded()
async def test_audio_over_the_upload_limit_is_a_link_saying_why(api, messenger, files):
    url = f"{files}/huge.mp3"
    await messenger.apply([SendMedia(CHAT, ResultKind.AUDIO, url, "Song", notes=NOTES)])

    assert api.calls("sendAudio") == []
    [message] = api.messages(CHAT)
    assert message.text == f"Song\nnote:too_large\n{url}"


@bounded()
async def test_an_audio_result_is_an_audio_message(api, messenger, tmp_path):
    from adapters.kie.fake_media import write_wav

    url = write_wav(tmp_path / "speech.wav", "hello").as_uri()
    effects = result_effects(EN, chat_id=CHAT, job_id="j1", name="TTS", output=OutputKind.AUDIO, prompt="hello",
                             urls=(url,), text=None)
    await messenger.apply(effects)

    [call] = api.calls("sendAudio")
    [message] = api.messages(CHAT)
    assert message.kind == "audio" and message.buttons[0][0][0] == "🔁 Again"


# --- the 📄 Original button in the bot -------------------------------------------------------------------------------


async def test_the_original_button_sends_the_result_files_as_documents_to_their_owner_only(tmp_path):
    from tests.harness import running_bot
    from tests.test_job_lifecycle import launch_z_image

    async with running_bot(tmp_path) as bot:
        job_id = await launch_z_image(bot)
        await bot.settle()
        job = await bot.app.storage.jobs.get(job_id)
        outcome = await bot.press("Оригинал")

        [document] = [e for e in outcome.effects if isinstance(e, SendMedia)]
        assert (document.kind, document.url) == (ResultKind.DOCUMENT, job.result_urls[0])

        stranger = await bot.app.core.handle(CallbackPress(UserRef(999, language_code="en"), 999, "cb-x", f"orig:{job_id}"))
        assert not any(isinstance(e, (SendMedia, SendAlbum)) for e in stranger.effects)


@bounded()
async def test_a_video_of_unannounced_size_over_the_upload_limit_is_a_link_saying_why(api, bot):
    routes = web.RouteTableDef()

    @routes.get("/long.mp4")
    async def long_video(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "video/mp4"})  # chunked: no Content-Length
        await response.prepare(request)
        for _ in range(51):
            await response.write(bytes(MIB))
        return response

    app = web.Application()
    app.add_routes(routes)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    base = f"http://{host}:{port}"
    try:
        clock = FakeTime()
        messenger = TelegramMessenger(bot, sleep=clock.sleep, clock=clock.clock,
                                      links=ResultLinks(trusted_origins=parse_origins(base)))
        api.fail_next("sendVideo", 400, description="Bad Request: failed to get HTTP URL content")
        await messenger.apply([SendMedia(CHAT, ResultKind.VIDEO, f"{base}/long.mp4", "Clip", notes=NOTES)])
    finally:
        await runner.cleanup()
    [message] = api.messages(CHAT)
    assert message.text == f"Clip\nnote:too_large\n{base}/long.mp4"


async def test_the_simulator_prints_an_album_as_one_message_with_every_file(tmp_path):
    from entrypoints.simulator_chat import SimulatedChat

    printed: list[str] = []
    chat = SimulatedChat(output=printed.append)
    urls = ((tmp_path / "a.png").as_uri(), (tmp_path / "b.png").as_uri())
    await chat.apply([SendAlbum(CHAT, ResultKind.PHOTO, urls, "Two cats")])

    assert len(printed) == 1 and "album of 2 photos" in printed[0] and "Two cats" in printed[0]
    assert str(tmp_path / "a.png") in printed[0] and str(tmp_path / "b.png") in printed[0]


async def test_a_multi_image_job_in_the_simulator_arrives_as_an_album_then_the_buttons(tmp_path):
    from tests.harness import running_bot

    async with running_bot(tmp_path, language="en") as bot:
        await bot.send("/start")
        await bot.app.core.process(CallbackPress(bot.driver.user, bot.user_id, "cb-1", "model:wan/2-7-image"))  # n: 1-4 pictures
        await bot.send("three foxes")
        await bot.press("Options")
        await bot.press("Number of images")
        await bot.press("3")
        await bot.press("Run")
        await bot.settle()

        albums = [e for e in bot.chat.effects if isinstance(e, SendAlbum)]
        assert len(albums) == 1 and len(albums[0].urls) == 3 and "three foxes" in albums[0].caption
        labels = [b.label for b in bot.last().buttons()]
        assert labels == ["🔁 Again", "🏠 Menu", "📄 Original"] and "3 files above" in bot.last().text
        outcome = await bot.press("Original")
        [originals] = [e for e in outcome.effects if isinstance(e, SendAlbum)]
        assert originals.kind is ResultKind.DOCUMENT and originals.urls == albums[0].urls
