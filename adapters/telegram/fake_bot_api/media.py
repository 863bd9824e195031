"""Media and files: sendPhoto/Video/Audio/Document (by upload, by known ``file_id`` or by URL, which the fake
fetches itself like Telegram does), sendMediaGroup (2-10 items; photos and videos may mix, audio and documents
only with their own kind; the caption of each item; no keyboard) and getFile. A photo beyond Telegram's
dimensions (w + h > 10000, ratio > 20) is refused with PHOTO_INVALID_DIMENSIONS, as Telegram does."""

from __future__ import annotations

from typing import Any

import aiohttp

from adapters.telegram.fake_bot_api.html import parse_text, utf16_length
from adapters.telegram.fake_bot_api.messages import check_markup
from adapters.telegram.fake_bot_api.models import (
    BY_URL_MAX,
    GET_FILE_MAX,
    PHOTO_BY_URL_MAX,
    PHOTO_UPLOAD_MAX,
    URL_FAILED,
    WRONG_FILE,
    WRONG_TYPE,
    ApiError,
    SentMessage,
    UploadedFile,
)
from adapters.telegram.fake_bot_api.state import BotState
from adapters.telegram.photo_check import PHOTO_RATIO_MAX, PHOTO_SIDES_MAX, image_size

MEDIA_METHODS = {"sendphoto": "photo", "sendvideo": "video", "sendaudio": "audio", "senddocument": "document"}
INVALID_DIMENSIONS = "Bad Request: PHOTO_INVALID_DIMENSIONS"
_GROUP_KINDS = {"photo": "visual", "video": "visual", "audio": "audio", "document": "document"}
_DOCUMENT_URL_TYPES = {"application/pdf", "application/zip", "image/gif"}


class MediaMethods(BotState):
    async def _send_media(self, kind: str, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat_id = self._target_chat(params)
        source = params.get("caption")
        caption = parse_text(source, params.get("parse_mode")) if source else None
        if caption and utf16_length(caption) > 1024:
            raise ApiError(400, "Bad Request: message caption is too long")
        markup = check_markup(params.get("reply_markup"))
        upload, sent = await self._media_input(kind, params.get(kind), files)
        stored = self._new_file(kind, upload.data)
        message = SentMessage(chat_id, 0, kind, text=caption, html=source, parse_mode=params.get("parse_mode"),
                              reply_markup=markup, media=sent, upload=upload, file_id=stored.file_id)
        return self._message_json(self._store(chat_id, message))

    async def _send_media_group(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat_id = self._target_chat(params)
        items = params.get("media")
        if not isinstance(items, list) or not 2 <= len(items) <= 10:
            raise ApiError(400, "Bad Request: media must include 2-10 items")
        kinds = {_GROUP_KINDS.get(item.get("type")) if isinstance(item, dict) else None for item in items}
        if None in kinds or len(kinds) > 1:
            raise ApiError(400, "Bad Request: audio and documents can only be grouped with their own kind")
        prepared = []
        for item in items:
            kind, source = item["type"], item.get("caption")
            caption = parse_text(source, item.get("parse_mode")) if source else None
            if caption and utf16_length(caption) > 1024:
                raise ApiError(400, "Bad Request: message caption is too long")
            upload, sent = await self._media_input(kind, item.get("media"), files)
            prepared.append((kind, caption, source, item.get("parse_mode"), upload, sent))
        group = f"group-{len(self._files) + 1}"
        sent_messages = []
        for kind, caption, source, parse_mode, upload, sent in prepared:  # all or nothing, as Telegram
            stored = self._new_file(kind, upload.data)
            message = SentMessage(chat_id, 0, kind, text=caption, html=source, parse_mode=parse_mode, media=sent,
                                  upload=upload, file_id=stored.file_id, media_group_id=group)
            sent_messages.append(self._message_json(self._store(chat_id, message)))
        return sent_messages

    async def _media_input(self, kind: str, value: Any, files: dict[str, UploadedFile]) -> tuple[UploadedFile, str]:
        if isinstance(value, str) and value.startswith("attach://"):
            value = files.get(value.removeprefix("attach://"))
        elif value is None:
            value = files.get(kind)
        if isinstance(value, UploadedFile):
            if kind == "photo" and len(value.data) > PHOTO_UPLOAD_MAX:
                raise ApiError(400, "Bad Request: PHOTO_SAVE_FILE_INVALID")
            if kind == "photo":
                _check_dimensions(value.data)
            return value, "upload"
        if not isinstance(value, str) or not value:
            raise ApiError(400, f"Bad Request: there is no {kind} in the request")
        if value.startswith(("http://", "https://")):
            return await self._fetch(kind, value), value
        if value in self._files:
            stored = self._files[value]
            return UploadedFile(stored.file_path.rsplit("/", 1)[-1], "application/octet-stream", stored.data), value
        raise ApiError(400, WRONG_FILE)

    async def _fetch(self, kind: str, url: str) -> UploadedFile:
        """Telegram downloads media sent by URL itself, within its own limits."""
        assert self._session is not None
        limit = PHOTO_BY_URL_MAX if kind == "photo" else BY_URL_MAX
        try:
            async with self._session.get(url) as response:
                if response.status != 200:
                    raise ApiError(400, URL_FAILED)
                content_type = response.content_type
                body = await response.content.read(limit + 1)
        except aiohttp.ClientError as error:
            raise ApiError(400, URL_FAILED) from error
        if len(body) > limit:
            raise ApiError(400, URL_FAILED)
        if (kind == "photo" and not content_type.startswith("image/")) or (
                kind == "document" and content_type not in _DOCUMENT_URL_TYPES):
            raise ApiError(400, WRONG_TYPE)
        if kind == "photo":
            _check_dimensions(body)
        return UploadedFile(url.rsplit("/", 1)[-1], content_type, body)

    async def _get_file(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        stored = self._files.get(params.get("file_id", ""))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if len(stored.data) > GET_FILE_MAX:
            raise ApiError(400, "Bad Request: file is too big")
        result = {"file_id": stored.file_id, "file_unique_id": f"u-{stored.file_id}", "file_path": stored.file_path}
        if stored.announce_size:
            result["file_size"] = len(stored.data)
        return result


def _check_dimensions(data: bytes) -> None:
    size = image_size(data)
    if size is None:
        return
    width, height = size
    if width + height > PHOTO_SIDES_MAX or max(width, height) > PHOTO_RATIO_MAX * max(min(width, height), 1):
        raise ApiError(400, INVALID_DIMENSIONS)
