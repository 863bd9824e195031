"""MediaProbe on mutagen: the playing time of audio (MP3, OGG, WAV, M4A, FLAC) and MP4/MOV video read
from the file's own headers, without decoding it. WebM (Matroska) is not read: None."""

from __future__ import annotations

import asyncio
import io

import mutagen
from mutagen import MutagenError


class MutagenProbe:
    async def duration_s(self, data: bytes) -> float | None:
        return await asyncio.to_thread(self._duration, data)

    @staticmethod
    def _duration(data: bytes) -> float | None:
        try:
            found = mutagen.File(io.BytesIO(data))
        except (MutagenError, ValueError, EOFError, OSError):
            return None
        length = getattr(getattr(found, "info", None), "length", None) if found is not None else None
        return float(length) if length and length > 0 else None
