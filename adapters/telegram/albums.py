"""``SendAlbum`` on Telegram: one ``sendMediaGroup`` (2-10 files, the caption on the first, no keyboard).

- http(s) links go by URL (Telegram fetches them); ``file://`` files of the in-process fake generator are
  uploaded. Links with any other scheme (or file:// without the fake generator) are ``ResultRefusedError``.
- Whatever an album cannot carry as it is goes file by file through :class:`MediaSender`, which has every
  fallback (download and upload, photo → document with its explanation, link): Telegram refusing the album
  (a URL it cannot fetch, a photo it cannot process), documents by URL (Telegram takes only GIF/PDF/ZIP so),
  a local photo that is too large, too long or transparent, a local file over the upload limit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any
from urllib.parse import urlsplit

from telegram import Bot, InputFile, InputMediaAudio, InputMediaDocument, InputMediaPhoto, InputMediaVideo
from telegram.constants import ParseMode
from telegram.error import BadRequest

from adapters.telegram.limits import CAPTION_LIMIT, UPLOAD_MAX, ApiCaller
from adapters.telegram.markup import html_text
from adapters.telegram.media_sender import MediaSender, read_at_most
from adapters.telegram.photo_check import photo_problem
from adapters.telegram.result_links import ResultLinks
from ports.effects import ALBUM_MAX, ResultKind, ResultRefusedError, SendAlbum

log = logging.getLogger(__name__)

_INPUT_MEDIA = {ResultKind.PHOTO: InputMediaPhoto, ResultKind.VIDEO: InputMediaVideo,
                ResultKind.AUDIO: InputMediaAudio, ResultKind.DOCUMENT: InputMediaDocument}
_REFUSED = ("failed to get http url content", "wrong file identifier/http url specified",
            "wrong type of the web page content", "photo_invalid_dimensions", "image_process_failed",
            "photo_save_file_invalid", "group send failed")

Source = str | tuple[bytes, str]  # a URL for Telegram to fetch, or (bytes, file name) to upload


class AlbumSender:
    def __init__(self, bot: Bot, calls: ApiCaller, media: MediaSender, links: ResultLinks) -> None:
        self._bot, self._calls, self._media, self._links = bot, calls, media, links

    async def send(self, effect: SendAlbum) -> None:
        if effect.kind not in _INPUT_MEDIA:
            raise ValueError(f"an album holds photos, videos, audio or documents, not {effect.kind.value}")
        if len(effect.urls) > ALBUM_MAX:
            raise ValueError(f"an album holds at most {ALBUM_MAX} files, got {len(effect.urls)}")
        sources = await self._sources(effect)
        if sources is None or len(effect.urls) < 2:
            await self._one_by_one(effect, "not_an_album")
            return
        try:
            await self._post(effect, sources)
        except BadRequest as error:
            log.info("TELEGRAM_ALBUM_REFUSED", extra={"chat": effect.chat_id, "reason": error.message})
            await self._one_by_one(effect, "refused")

    async def _sources(self, effect: SendAlbum) -> list[Source] | None:
        """What the album sends, or None when it must go file by file."""
        found: list[Source] = []
        for url in effect.urls:
            scheme = urlsplit(url).scheme.lower()
            if scheme in ("http", "https"):
                if effect.kind is ResultKind.DOCUMENT:
                    return None  # documents by URL: Telegram takes only GIF/PDF/ZIP
                found.append(url)
            elif scheme == "file" and (path := self._links.local_file(url)) is not None:
                try:
                    data = await asyncio.to_thread(read_at_most, path, UPLOAD_MAX)
                except OSError:
                    return None  # MediaSender reports the file that cannot be read
                if data is None or (effect.kind is ResultKind.PHOTO and photo_problem(data) is not None):
                    return None
                found.append((data, path.name or "result"))
            else:
                log.error("RESULT_LINK_REFUSED", extra={"chat": effect.chat_id, "scheme": scheme[:16]})
                raise ResultRefusedError(f"a result link with scheme {scheme[:16]!r} is never delivered")
        return found

    async def _post(self, effect: SendAlbum, sources: list[Source]) -> None:
        caption = html_text(effect.caption, CAPTION_LIMIT) or None
        media_class = _INPUT_MEDIA[effect.kind]
        extra: dict[str, Any] = {"supports_streaming": True} if effect.kind is ResultKind.VIDEO else {}
        log.debug("TELEGRAM_SEND", extra={"method": "sendMediaGroup", "chat": effect.chat_id, "items": len(sources),
                                          "kind": effect.kind.value})

        def send() -> Awaitable[Any]:
            media = []
            for index, source in enumerate(sources):
                payload = source if isinstance(source, str) else InputFile(source[0], filename=source[1], attach=True)
                first = index == 0 and caption is not None
                media.append(media_class(media=payload, caption=caption if first else None,
                                         parse_mode=ParseMode.HTML if first else None, **extra))
            return self._bot.send_media_group(chat_id=effect.chat_id, media=media)

        await self._calls.call("sendMediaGroup", effect.chat_id, send,
                               expected=lambda error: any(p in error.message.lower() for p in _REFUSED))

    async def _one_by_one(self, effect: SendAlbum, reason: str) -> None:
        log.info("TELEGRAM_ALBUM_AS_FILES", extra={"chat": effect.chat_id, "files": len(effect.urls), "reason": reason})
        for item in effect.items():
            await self._media.send(item)
