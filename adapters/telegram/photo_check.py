"""Would Telegram show these bytes as a photo? Its limits (Bot API sendPhoto): at most 10 MB, width + height at
most 10000, the side ratio at most 20. A PNG with transparency is flattened by sendPhoto, so it goes as a
document too. Dimensions are read from PNG and JPEG headers only (other formats: unknown, let Telegram judge)."""

from __future__ import annotations

import struct

from ports.effects import DeliveryNote

PHOTO_UPLOAD_MAX = 10 << 20
PHOTO_SIDES_MAX = 10_000  # width + height
PHOTO_RATIO_MAX = 20
_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG or JPEG header; None when unknown."""
    if data[:8] == _PNG and data[12:16] == b"IHDR" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:2] != b"\xff\xd8":
        return None
    index = 2
    while index + 9 <= len(data):
        if data[index] != 0xFF:
            index += 1
            continue
        marker = data[index + 1]
        if marker in _JPEG_SOF:
            height, width = struct.unpack(">HH", data[index + 5:index + 9])
            return width, height
        if marker == 0xFF or 0xD0 <= marker <= 0xD9 or marker == 0x01:  # fill byte, or a marker without length
            index += 1 if marker == 0xFF else 2
            continue
        (length,) = struct.unpack(">H", data[index + 2:index + 4])
        index += 2 + length
    return None


def transparent_png(data: bytes) -> bool:
    """A PNG with an alpha channel (colour types 4, 6) or a tRNS chunk before its image data."""
    if data[:8] != _PNG or len(data) < 26:
        return False
    if data[25] in (4, 6):
        return True
    head = data[: data.find(b"IDAT")] if b"IDAT" in data else data
    return b"tRNS" in head


def photo_problem(data: bytes) -> DeliveryNote | None:
    """Why these bytes should go as a document rather than a photo; None when a photo is fine."""
    if len(data) > PHOTO_UPLOAD_MAX:
        return DeliveryNote.PHOTO_TOO_LARGE
    if transparent_png(data):
        return DeliveryNote.TRANSPARENT
    size = image_size(data)
    if size is not None:
        width, height = size
        if width + height > PHOTO_SIDES_MAX or max(width, height) > PHOTO_RATIO_MAX * max(min(width, height), 1):
            return DeliveryNote.PHOTO_DIMENSIONS
    return None
