"""``SendMedia`` on Telegram: by URL when Telegram can fetch it, else downloaded and uploaded, else a link.

- ``file://`` → upload the local file (photo ≤ 10 MB as a photo, else as a document; others ≤ 50 MB).
- ``http(s)://`` → HEAD for the size (unknown size: try by URL). Within Telegram's fetch limits (photo 5 MB,
  others 20 MB) send the URL; a BadRequest about the URL ("failed to get HTTP URL content", "wrong file
  identifier/HTTP URL specified", "wrong type of the web page content") falls back to download + upload
  within the upload limits, and that to a text message with the link. Documents by URL only work for
  GIF/PDF/ZIP, so a document of another announced type is downloaded straight away.
- kind ``LINK`` always sends the link as text.
- ``SendFile`` re-sends a file Telegram already has by its ``file_id`` (``sendPhoto`` / ``sendDocument``); no
  fallback: a wrong or expired id is Telegram's "wrong file identifier", i.e. ``MessengerUnavailableError``.

Caption ≤ 1024 UTF-16 units, HTML-escaped; the keyboard goes on the media message. Downloads use httpx
(an injected client, or a short-lived one per effect); file reads run in a thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import httpx
from telegram import Bot, InputFile
from telegram.constants import ParseMode
from telegram.error import BadRequest

from adapters.telegram.limits import (
    BY_URL_MAX,
    CAPTION_LIMIT,
    PHOTO_BY_URL_MAX,
    PHOTO_UPLOAD_MAX,
    TEXT_LIMIT,
    UPLOAD_MAX,
    ApiCaller,
    clip,
    utf16_len,
)
from adapters.telegram.markup import html_text, inline_markup
from ports.effects import MessengerUnavailableError, ResultKind, SendFile, SendMedia
from ports.screens import Keyboard

log = logging.getLogger(__name__)

SendText = Callable[[int, str, Keyboard], Awaitable[None]]

_URL_REFUSED = ("failed to get http url content", "wrong file identifier/http url specified",
                "wrong type of the web page content")
_PHOTO_REFUSED = ("photo_invalid_dimensions", "image_process_failed", "photo_save_file_invalid")
_DOCUMENT_BY_URL_TYPES = ("application/pdf", "application/zip", "image/gif")
_METHODS = {
    ResultKind.PHOTO: "sendPhoto",
    ResultKind.VIDEO: "sendVideo",
    ResultKind.AUDIO: "sendAudio",
    ResultKind.DOCUMENT: "sendDocument",
}
_DEFAULT_SUFFIX = {ResultKind.PHOTO: ".jpg", ResultKind.VIDEO: ".mp4", ResultKind.AUDIO: ".mp3"}
_TIMEOUT = httpx.Timeout(10.0, read=60.0)


class MediaSender:
    def __init__(self, bot: Bot, calls: ApiCaller, *, send_text: SendText, http_client: httpx.AsyncClient | None) -> None:
        self._bot, self._calls, self._send_text, self._http = bot, calls, send_text, http_client
        self._owns_http = False

    async def aclose(self) -> None:
        """Close the HTTP client this sender created for itself (a given one belongs to the caller)."""
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http, self._owns_http = None, False

    async def send(self, effect: SendMedia) -> None:
        if effect.kind is ResultKind.LINK:
            await self._link(effect, "link")
            return
        scheme = urlsplit(effect.url).scheme.lower()
        if scheme == "file":
            await self._send_local(effect)
        elif scheme in ("http", "https"):
            await self._send_remote(effect)
        else:
            raise ValueError(f"SendMedia needs an http(s) or file:// URL, got scheme {scheme!r}")

    async def send_file(self, effect: SendFile) -> None:
        if effect.kind not in (ResultKind.PHOTO, ResultKind.DOCUMENT):
            raise ValueError(f"SendFile sends a photo or a document by file_id, not {effect.kind.value}")
        if not effect.file_id:
            raise ValueError("SendFile.file_id is empty")
        await self._post(effect, effect.file_id)

    # --- local files -------------------------------------------------------------------------------------

    async def _send_local(self, effect: SendMedia) -> None:
        parts = urlsplit(effect.url)
        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"file:// URL on another host: {parts.netloc!r}")
        path = Path(url2pathname(parts.path))
        try:
            data = await asyncio.to_thread(_read_at_most, path, UPLOAD_MAX)
        except OSError as error:
            raise MessengerUnavailableError(f"cannot read result file {path.name}: {error.strerror}") from error
        if data is None:
            log.error("TELEGRAM_MEDIA_TOO_LARGE",
                      extra={"chat": effect.chat_id, "file": path.name, "limit": UPLOAD_MAX})
            raise MessengerUnavailableError(f"result file {path.name} is over Telegram's {UPLOAD_MAX}-byte upload limit")
        await self._upload(effect, data, path.name or _fallback_name(effect.kind))

    # --- remote files ------------------------------------------------------------------------------------

    async def _send_remote(self, effect: SendMedia) -> None:
        async with self._client() as client:
            size, content_type = await _probe(client, effect.url)
            by_url_max = PHOTO_BY_URL_MAX if effect.kind is ResultKind.PHOTO else BY_URL_MAX
            document_refused = (effect.kind is ResultKind.DOCUMENT and content_type is not None
                                and content_type not in _DOCUMENT_BY_URL_TYPES)
            if (size is None or size <= by_url_max) and not document_refused:
                try:
                    refusals = _URL_REFUSED + (_PHOTO_REFUSED if effect.kind is ResultKind.PHOTO else ())
                    await self._post(effect, effect.url, expected=refusals)
                    return
                except BadRequest as error:
                    log.info("TELEGRAM_URL_REFUSED",
                             extra={"chat": effect.chat_id, "kind": effect.kind.value, "reason": error.message})
            if size is not None and size > UPLOAD_MAX:
                await self._link(effect, "too_large")
                return
            data = await _download(client, effect.url, UPLOAD_MAX)
        if data is None:
            await self._link(effect, "download_failed")
            return
        await self._upload(effect, data, _file_name(effect.url, effect.kind))

    @asynccontextmanager
    async def _client(self) -> AsyncIterator[httpx.AsyncClient]:
        """One client for the sender's lifetime: creating one loads the CA bundle (~50 ms of CPU that
        blocks the event loop), which a per-picture client paid on every delivery (bench profile)."""
        if self._http is None:
            self._http = httpx.AsyncClient(follow_redirects=True, timeout=_TIMEOUT)
            self._owns_http = True
        yield self._http

    # --- sending -----------------------------------------------------------------------------------------

    async def _upload(self, effect: SendMedia, data: bytes, filename: str) -> None:
        kind = effect.kind
        if kind is ResultKind.PHOTO and len(data) > PHOTO_UPLOAD_MAX:
            kind = ResultKind.DOCUMENT  # sendDocument keeps the original, and allows 50 MB
        try:
            await self._post(effect, lambda: InputFile(data, filename=filename), kind=kind,
                             expected=_PHOTO_REFUSED if kind is ResultKind.PHOTO else ())
        except BadRequest as error:  # Telegram could not process the picture as a photo: send it as a file
            log.info("TELEGRAM_PHOTO_AS_DOCUMENT", extra={"chat": effect.chat_id, "reason": error.message})
            await self._post(effect, lambda: InputFile(data, filename=filename), kind=ResultKind.DOCUMENT)

    async def _post(
        self,
        effect: SendMedia | SendFile,
        media: str | Callable[[], InputFile],
        *,
        kind: ResultKind | None = None,
        expected: tuple[str, ...] = (),
    ) -> None:
        kind = kind or effect.kind
        method = _METHODS[kind]
        caption = html_text(effect.caption, CAPTION_LIMIT) or None
        markup = inline_markup(effect.keyboard)
        source = "upload" if not isinstance(media, str) else "file_id" if isinstance(effect, SendFile) else "url"
        log.debug("TELEGRAM_SEND method=%s chat=%s source=%s caption_len=%d", method, effect.chat_id, source,
                  len(effect.caption))

        def send() -> Awaitable[Any]:
            payload = media if isinstance(media, str) else media()
            common: dict[str, Any] = {"chat_id": effect.chat_id, "caption": caption, "parse_mode": ParseMode.HTML,
                                      "reply_markup": markup}
            if kind is ResultKind.PHOTO:
                return self._bot.send_photo(photo=payload, **common)
            if kind is ResultKind.VIDEO:
                return self._bot.send_video(video=payload, supports_streaming=True, **common)
            if kind is ResultKind.AUDIO:
                return self._bot.send_audio(audio=payload, **common)
            return self._bot.send_document(document=payload, **common)

        await self._calls.call(method, effect.chat_id, send,
                               expected=lambda error: any(p in error.message.lower() for p in expected))

    async def _link(self, effect: SendMedia, reason: str) -> None:
        log.info("TELEGRAM_MEDIA_AS_LINK", extra={"chat": effect.chat_id, "kind": effect.kind.value, "reason": reason})
        room = TEXT_LIMIT - utf16_len(effect.url) - 1
        caption = clip(effect.caption, max(room, 1)) if effect.caption else ""
        await self._send_text(effect.chat_id, f"{caption}\n{effect.url}" if caption else effect.url, effect.keyboard)


async def _probe(client: httpx.AsyncClient, url: str) -> tuple[int | None, str | None]:
    """(size, content type) announced by a HEAD request; ``None`` for what the server does not say."""
    try:
        response = await client.head(url, follow_redirects=True, timeout=_TIMEOUT)
    except httpx.HTTPError as error:
        log.info("TELEGRAM_MEDIA_HEAD_FAILED", extra={"error": type(error).__name__})
        return None, None
    if response.status_code >= 400:
        return None, None
    length = response.headers.get("content-length", "")
    content_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower() or None
    return (int(length) if length.isdigit() else None), content_type


async def _download(client: httpx.AsyncClient, url: str, limit: int) -> bytes | None:
    """The body of ``url`` if it fits in ``limit`` bytes, else ``None`` (the reason is logged)."""
    try:
        async with client.stream("GET", url, follow_redirects=True, timeout=_TIMEOUT) as response:
            if response.status_code >= 400:
                log.info("TELEGRAM_MEDIA_DOWNLOAD_FAILED", extra={"status": response.status_code})
                return None
            length = response.headers.get("content-length", "")
            if length.isdigit() and int(length) > limit:
                log.info("TELEGRAM_MEDIA_DOWNLOAD_TOO_LARGE", extra={"size": length, "limit": limit})
                return None
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > limit:
                    log.info("TELEGRAM_MEDIA_DOWNLOAD_TOO_LARGE", extra={"size": f">{limit}", "limit": limit})
                    return None
            return bytes(body)
    except httpx.HTTPError as error:
        log.info("TELEGRAM_MEDIA_DOWNLOAD_FAILED", extra={"error": type(error).__name__})
        return None


def _read_at_most(path: Path, limit: int) -> bytes | None:
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    return None if len(data) > limit else data


def _file_name(url: str, kind: ResultKind) -> str:
    name = PurePosixPath(unquote(urlsplit(url).path)).name[-64:]
    if not name:
        return _fallback_name(kind)
    return name if "." in name else name + _DEFAULT_SUFFIX.get(kind, "")


def _fallback_name(kind: ResultKind) -> str:
    return "result" + _DEFAULT_SUFFIX.get(kind, ".bin")
