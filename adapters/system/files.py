"""Files on the local disk as a MediaReader (the simulator's "/photo PATH": file_id is the path)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ports.media import MediaRef, MediaTooLargeError, MediaUnavailableError


class LocalFileReader:
    async def read(self, ref: MediaRef, max_bytes: int) -> bytes:
        return await asyncio.to_thread(self._read, Path(ref.file_id), max_bytes)

    @staticmethod
    def _read(path: Path, max_bytes: int) -> bytes:
        try:
            with path.open("rb") as handle:
                data = handle.read(max_bytes + 1)
        except OSError as error:
            raise MediaUnavailableError(f"cannot read {path}: {error.strerror}") from error
        if len(data) > max_bytes:
            raise MediaTooLargeError(f"{path} is larger than {max_bytes} bytes")
        return data
