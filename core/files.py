"""Files users send: which input kind they can fill, size limits, and what the bytes really are.

The declared MIME type and file name come from the user and are not trusted: the type is read from
the file's first bytes, and only formats the generator accepts pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from ports.catalog import InputKind
from ports.media import MediaKind, MediaRef

MB = 1024 * 1024
# Telegram bots can download files up to 20 MB (getFile); photos for KIE stay well below.
MAX_BYTES = {InputKind.IMAGE: 10 * MB, InputKind.VIDEO: 20 * MB, InputKind.AUDIO: 20 * MB}


@dataclass(frozen=True)
class FileType:
    kind: InputKind
    extension: str
    mime_type: str


def input_kind(ref: MediaRef) -> InputKind | None:
    """The catalog input kind a file can fill, from how it was sent (a document by its declared type;
    the bytes are checked later by ``sniff``)."""
    if ref.kind is MediaKind.PHOTO:
        return InputKind.IMAGE
    if ref.kind is MediaKind.VIDEO:
        return InputKind.VIDEO
    if ref.kind in (MediaKind.AUDIO, MediaKind.VOICE):
        return InputKind.AUDIO
    mime = (ref.mime_type or "").lower()
    for prefix, kind in (("image/", InputKind.IMAGE), ("video/", InputKind.VIDEO), ("audio/", InputKind.AUDIO)):
        if mime.startswith(prefix):
            return kind
    return None


def sniff(data: bytes) -> FileType | None:
    """The real format of the bytes, or None when it is not one the generator takes."""
    head = data[:16]
    if head.startswith(b"\xff\xd8\xff"):
        return FileType(InputKind.IMAGE, "jpg", "image/jpeg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return FileType(InputKind.IMAGE, "png", "image/png")
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return FileType(InputKind.IMAGE, "webp", "image/webp")
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return FileType(InputKind.AUDIO, "wav", "audio/wav")
    if head.startswith(b"OggS"):
        return FileType(InputKind.AUDIO, "ogg", "audio/ogg")
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return FileType(InputKind.AUDIO, "mp3", "audio/mpeg")
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"M4A ", b"M4B "):
            return FileType(InputKind.AUDIO, "m4a", "audio/mp4")
        if brand == b"qt  ":
            return FileType(InputKind.VIDEO, "mov", "video/quicktime")
        return FileType(InputKind.VIDEO, "mp4", "video/mp4")
    if head.startswith(b"\x1aE\xdf\xa3"):
        return FileType(InputKind.VIDEO, "webm", "video/webm")
    return None
