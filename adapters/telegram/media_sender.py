"""``SendMedia`` on Telegram: by URL when Telegram can fetch it, else downloaded and uploaded, else a link.

- ``file://`` → upload the local file (photo ≤ 10 MB as a photo, else as a document; others ≤ 50 MB), only
  when the in-process fake generator is wired; otherwise, like any other scheme (``ftp:``, ``javascript:``),
  ``ResultRefusedError``: the job fails and is refunded.
- ``http(s)://`` → the bot fetches nothing itself unless :mod:`adapters.telegram.result_links` says the host is
  public (or an origin trusted by configuration); an unfetchable link goes to Telegram by URL and, refused
  there, as a text link. Fetchable: HEAD for the size (unknown size: try by URL). Within Telegram's fetch limits (photo 5 MB,
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

import httpx
from telegram import Bot, InputFile
from telegram.constants import ParseMode
from telegram.error import BadRequest

from adapters.telegram.limits import (
    BY_URL_MAX,
    CAPTION_LIMIT,
    PHOTO_BY_URL_MAX,
    TEXT_LIMIT,
    UPLOAD_MAX,
    ApiCaller,
    clip,
    utf16_len,
)
from adapters.telegram.markup import html_text, inline_markup
from adapters.telegram.result_links import ResultLinks, UnsafeLinkError, content_type_fits
from adapters.telegram.photo_check import photo_problem
from ports.effects import DeliveryNote, MessengerUnavailableError, ResultKind, ResultRefusedError, SendFile, SendMedia
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


class _TooLarge:
    """_download's answer for a body over the limit (sent as a link, saying why)."""


_TOO_LARGE = _TooLarge()


class MediaSender:
    def __init__(
        self, bot: Bot, calls: ApiCaller, *, send_text: SendText, http_client: httpx.AsyncClient | None,
        links: ResultLinks | None = None,
    ) -> None:
        self._bot, self._calls, self._send_text, self._http = bot, calls, send_text, http_client
        self._links = links or ResultLinks()
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
        local = self._links.local_file(effect.url) if scheme == "file" else None
        if local is not None:
            await self._send_local(effect, local)
        elif scheme in ("http", "https"):
            await self._send_remote(effect)
        else:
            log.error("RESULT_LINK_REFUSED", extra={"chat": effect.chat_id, "scheme": scheme[:16]})
            raise ResultRefusedError(f"a result link with scheme {scheme[:16]!r} is never delivered")

    async def send_file(self, effect: SendFile) -> None:
        if effect.kind not in (ResultKind.PHOTO, ResultKind.DOCUMENT):
            raise ValueError(f"SendFile sends a photo or a document by file_id, not {effect.kind.value}")
        if not effect.file_id:
            raise ValueError("SendFile.file_id is empty")
        await self._post(effect, effect.file_id)

    # --- local files -------------------------------------------------------------------------------------

    async def _send_local(self, effect: SendMedia, path: Path) -> None:
        try:
            data = await asyncio.to_thread(read_at_most, path, UPLOAD_MAX)
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
            fetchable = await self._links.fetchable(effect.url)
            size, content_type = await self._probe(client, effect.url) if fetchable else (None, None)
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
            if not fetchable:
                await self._link(effect, "not_fetchable")
                return
            if size is not None and size > UPLOAD_MAX:
                await self._link(effect, "too_large", DeliveryNote.TOO_LARGE)
                return
            data = await self._download(client, effect.url, UPLOAD_MAX, effect.kind)
        if isinstance(data, _TooLarge):
            await self._link(effect, "too_large", DeliveryNote.TOO_LARGE)
            return
        if data is None:
            await self._link(effect, "download_failed")
            return
        await self._upload(effect, data, _file_name(effect.url, effect.kind))

    @asynccontextmanager
    async def _client(self) -> AsyncIterator[httpx.AsyncClient]:
        """One client for the sender's lifetime: creating one loads the CA bundle (~50 ms of CPU that
        blocks the event loop), which a per-picture client paid on every delivery (bench profile)."""
        if self._http is None:
            self._http = httpx.AsyncClient(follow_redirects=False, timeout=_TIMEOUT)
            self._owns_http = True
        yield self._http

    # --- sending -----------------------------------------------------------------------------------------

    async def _upload(self, effect: SendMedia, data: bytes, filename: str) -> None:
        kind, note = effect.kind, None
        if kind is ResultKind.PHOTO:
            note = photo_problem(data)  # over 10 MB, beyond the dimensions, or transparent: sendDocument keeps it
            if note is not None:
                log.info("TELEGRAM_PHOTO_AS_DOCUMENT", extra={"chat": effect.chat_id, "reason": note.value})
                kind = ResultKind.DOCUMENT
        try:
            await self._post(effect, lambda: InputFile(data, filename=filename), kind=kind, note=note,
                             expected=_PHOTO_REFUSED if kind is ResultKind.PHOTO else ())
        except BadRequest as error:  # Telegram could not process the picture as a photo: send it as a file
            log.info("TELEGRAM_PHOTO_AS_DOCUMENT", extra={"chat": effect.chat_id, "reason": error.message})
            await self._post(effect, lambda: InputFile(data, filename=filename), kind=ResultKind.DOCUMENT,
                             note=DeliveryNote.PHOTO_DIMENSIONS)

    async def _post(
        self,
        effect: SendMedia | SendFile,
        media: str | Callable[[], InputFile],
        *,
        kind: ResultKind | None = None,
        expected: tuple[str, ...] = (),
        note: DeliveryNote | None = None,
    ) -> None:
        kind = kind or effect.kind
        method = _METHODS[kind]
        caption = html_text(with_note(effect, note), CAPTION_LIMIT) or None
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

    async def _probe(self, client: httpx.AsyncClient, url: str) -> tuple[int | None, str | None]:
        """(size, content type) announced by a HEAD request; ``None`` for what the server does not say."""
        try:
            async with self._links.open(client, "HEAD", url, _TIMEOUT) as response:
                if response.status_code >= 400:
                    return None, None
                length = response.headers.get("content-length", "")
                return (int(length) if length.isdigit() else None), _content_type(response)
        except (httpx.HTTPError, UnsafeLinkError) as error:
            log.info("TELEGRAM_MEDIA_HEAD_FAILED", extra={"error": type(error).__name__})
            return None, None

    async def _download(
        self, client: httpx.AsyncClient, url: str, limit: int, kind: ResultKind
    ) -> bytes | _TooLarge | None:
        """The body of ``url`` if it fits in ``limit`` bytes and its type fits ``kind``; ``_TOO_LARGE`` when it
        does not fit; else ``None`` (the reason is logged)."""
        try:
            async with self._links.open(client, "GET", url, _TIMEOUT) as response:
                if response.status_code >= 400:
                    log.info("TELEGRAM_MEDIA_DOWNLOAD_FAILED", extra={"status": response.status_code})
                    return None
                if not content_type_fits(kind, _content_type(response)):
                    log.warning("TELEGRAM_MEDIA_DOWNLOAD_WRONG_TYPE",
                                extra={"kind": kind.value, "type": (_content_type(response) or "")[:64]})
                    return None
                length = response.headers.get("content-length", "")
                if length.isdigit() and int(length) > limit:
                    log.info("TELEGRAM_MEDIA_DOWNLOAD_TOO_LARGE", extra={"size": length, "limit": limit})
                    return _TOO_LARGE
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > limit:
                        log.info("TELEGRAM_MEDIA_DOWNLOAD_TOO_LARGE", extra={"size": f">{limit}", "limit": limit})
                        return _TOO_LARGE
                return bytes(body)
        except (httpx.HTTPError, UnsafeLinkError) as error:
            log.info("TELEGRAM_MEDIA_DOWNLOAD_FAILED", extra={"error": type(error).__name__})
            return None

    async def _link(self, effect: SendMedia, reason: str, note: DeliveryNote | None = None) -> None:
        log.info("TELEGRAM_MEDIA_AS_LINK", extra={"chat": effect.chat_id, "kind": effect.kind.value, "reason": reason})
        room = TEXT_LIMIT - utf16_len(effect.url) - 1
        text = with_note(effect, note)
        caption = clip(text, max(room, 1)) if text else ""
        await self._send_text(effect.chat_id, f"{caption}\n{effect.url}" if caption else effect.url, effect.keyboard)


def with_note(effect: SendMedia | SendFile, note: DeliveryNote | None) -> str:
    """The caption, with the core's explanation of why the file went in another form (when it gave one)."""
    explanation = getattr(effect, "notes", {}).get(note.value, "") if note is not None else ""
    return "\n".join(part for part in (effect.caption, explanation) if part)


def _content_type(response: httpx.Response) -> str | None:
    return response.headers.get("content-type", "").split(";", 1)[0].strip().lower() or None


def read_at_most(path: Path, limit: int) -> bytes | None:
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
