"""TelegramMediaReader: getFile and the file download through PTB, against FakeBotApi on loopback."""

from __future__ import annotations

import socket

import pytest
import telegram

from adapters.telegram.files import TelegramMediaReader
from ports.media import MediaKind, MediaRef, MediaTooLargeError, MediaUnavailableError
from tests.fakes import bounded

MIB = 1 << 20


@pytest.fixture
def reader(bot: telegram.Bot) -> TelegramMediaReader:
    return TelegramMediaReader(bot)


@bounded()
async def test_reads_the_bytes_of_a_file_the_user_sent(api, reader):
    api.add_file("AgADphoto", b"\xff\xd8jpeg-bytes", file_path="photos/file_7.jpg")

    data = await reader.read(MediaRef(MediaKind.PHOTO, "AgADphoto", size=12), max_bytes=1_000)

    assert data == b"\xff\xd8jpeg-bytes"
    assert [call.params for call in api.calls("getFile")] == [{"file_id": "AgADphoto"}]
    assert api.downloads == ["photos/file_7.jpg"]


@bounded()
async def test_a_file_over_max_bytes_is_refused_before_any_request(api, reader):
    with pytest.raises(MediaTooLargeError):
        await reader.read(MediaRef(MediaKind.VIDEO, "BAADvideo", size=5_000), max_bytes=4_999)

    assert [call.method for call in api.calls()] == ["getMe"]  # only the bot's own initialize()


@bounded()
async def test_a_file_over_telegrams_20_mb_download_limit_is_refused_before_any_request(api, reader):
    with pytest.raises(MediaTooLargeError):
        await reader.read(MediaRef(MediaKind.VIDEO, "BAADvideo", size=20 * MIB + 1), max_bytes=100 * MIB)

    assert api.calls("getFile") == []


@bounded()
async def test_a_file_of_unknown_size_is_refused_when_get_file_announces_more_than_max_bytes(api, reader):
    api.add_file("BQADdoc", bytes(3_000))

    with pytest.raises(MediaTooLargeError):
        await reader.read(MediaRef(MediaKind.DOCUMENT, "BQADdoc"), max_bytes=2_000)

    assert api.downloads == []


@bounded()
async def test_the_size_is_checked_again_after_the_download(api, reader):
    api.add_file("BQADdoc", bytes(3_000), announce_size=False)

    with pytest.raises(MediaTooLargeError):
        await reader.read(MediaRef(MediaKind.DOCUMENT, "BQADdoc"), max_bytes=2_000)

    assert len(api.downloads) == 1


@bounded()
async def test_telegrams_file_is_too_big_answer_is_media_too_large(api, reader):
    api.add_file("BAADbig", bytes(20 * MIB + 1))

    with pytest.raises(MediaTooLargeError, match="too big"):
        await reader.read(MediaRef(MediaKind.VIDEO, "BAADbig"), max_bytes=100 * MIB)


@bounded()
async def test_an_expired_file_id_is_media_unavailable(reader):
    with pytest.raises(MediaUnavailableError, match="(?i)invalid file_id") as raised:
        await reader.read(MediaRef(MediaKind.PHOTO, "AgADgone"), max_bytes=1_000)

    assert isinstance(raised.value.__cause__, telegram.error.BadRequest)


@bounded()
async def test_an_unreachable_bot_api_is_media_unavailable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bot = telegram.Bot("1:x", base_url=f"http://127.0.0.1:{port}/bot")

    with pytest.raises(MediaUnavailableError, match="NetworkError"):
        await TelegramMediaReader(bot).read(MediaRef(MediaKind.AUDIO, "CQAD"), max_bytes=1_000)
