"""Files that users send to the bot (photos, audio, video) and how their bytes are read."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol


class MediaKind(str, Enum):
    PHOTO = "photo"
    VIDEO = "video"
    AUDIO = "audio"
    VOICE = "voice"
    DOCUMENT = "document"


@dataclass(frozen=True)
class MediaRef:
    """A file a user sent, as the transport knows it (a Telegram file_id, a local path in the simulator)."""

    kind: MediaKind
    file_id: str
    size: int | None = None
    mime_type: str | None = None
    file_name: str | None = None
    duration_s: int | None = None


class MediaTooLargeError(Exception):
    """The file is larger than the transport can fetch or than the caller allowed."""


class MediaUnavailableError(Exception):
    """The file could not be fetched (expired file_id, missing path, network)."""


class MediaReader(Protocol):
    async def read(self, ref: MediaRef, max_bytes: int) -> bytes:
        """Return the file's bytes; raise MediaTooLargeError beyond ``max_bytes``."""
        ...


class MediaProbe(Protocol):
    """Reads what a file's bytes say about it, for checks the transport's metadata cannot answer."""

    async def duration_s(self, data: bytes) -> float | None:
        """The playing time of an audio or video file in seconds; None when it cannot be told
        (an unknown container, damaged data)."""
        ...
