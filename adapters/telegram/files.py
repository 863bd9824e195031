"""The ``MediaReader`` port for files users send to the bot: getFile, then the download from the file URL.

Telegram lets bots download files up to 20 MB, so a bigger (or over ``max_bytes``) file is refused before any
request. The size is checked again after the download (``file_size`` is optional in updates). Library errors
become ``MediaUnavailableError`` (expired file_id, network); messages never contain the file URL, which
carries the bot token.
"""

from __future__ import annotations

import logging

from telegram import Bot
from telegram.error import BadRequest, TelegramError

from adapters.telegram.limits import GET_FILE_MAX
from ports.media import MediaRef, MediaTooLargeError, MediaUnavailableError

log = logging.getLogger(__name__)


class TelegramMediaReader:
    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def read(self, ref: MediaRef, max_bytes: int) -> bytes:
        limit = min(max_bytes, GET_FILE_MAX)
        if ref.size is not None and ref.size > limit:
            raise MediaTooLargeError(f"{ref.kind.value} of {ref.size} bytes is over the {limit}-byte limit")
        try:
            file = await self._bot.get_file(ref.file_id)
            if file.file_size is not None and file.file_size > limit:
                raise MediaTooLargeError(f"{ref.kind.value} of {file.file_size} bytes is over the {limit}-byte limit")
            data = await file.download_as_bytearray()
        except BadRequest as error:
            if "file is too big" in error.message.lower():
                raise MediaTooLargeError(f"Telegram will not hand out this {ref.kind.value}: {error.message}") from error
            log.info("TELEGRAM_FILE_UNAVAILABLE", extra={"kind": ref.kind.value, "reason": error.message})
            raise MediaUnavailableError(f"Telegram refused the {ref.kind.value}: {error.message}") from error
        except TelegramError as error:
            log.info("TELEGRAM_FILE_UNAVAILABLE", extra={"kind": ref.kind.value, "error": type(error).__name__})
            raise MediaUnavailableError(f"cannot fetch the {ref.kind.value} from Telegram: {type(error).__name__}") from error
        except RuntimeError as error:  # PTB: getFile answered without a file_path
            raise MediaUnavailableError(f"Telegram gave no download path for the {ref.kind.value}") from error
        if len(data) > limit:
            raise MediaTooLargeError(f"{ref.kind.value} of {len(data)} bytes is over the {limit}-byte limit")
        return bytes(data)
