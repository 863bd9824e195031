"""Small but real result files for the fake KIE gateway: a PNG, a WAV tone, a copied MP4, a transcript.

Everything here is synchronous and deterministic (the same seed gives the same bytes); the gateway calls the
``write_*`` functions through ``asyncio.to_thread`` because they touch the disk.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import struct
import sys
import wave
import zlib
from array import array
from functools import lru_cache
from pathlib import Path

SAMPLE_VIDEO = Path(__file__).with_name("assets") / "sample.mp4"

IMAGE_SIZE = 256
AUDIO_RATE = 22_050
AUDIO_SECONDS = 1.5

_TRANSCRIPTS = (
    "Hello everyone, and thank you for joining today's call. Let's start with a quick update on the project.",
    "Remind me to buy milk, bread and a dozen eggs on the way home tonight.",
    "The weather tomorrow will be mostly sunny, with a light breeze in the afternoon.",
    "Hi, it's me. I'm running about ten minutes late, so please start the meeting without me.",
)


def _digest(seed: str) -> bytes:
    return hashlib.sha256(seed.encode("utf-8")).digest()


# --- PNG ---------------------------------------------------------------------------------------------------


def png_bytes(seed: str, size: int = IMAGE_SIZE) -> bytes:
    """A size×size RGB PNG: a bilinear gradient between four corner colours taken from a hash of ``seed``."""
    digest = _digest(seed)
    top_left, top_right, bottom_left, bottom_right = (tuple(digest[i : i + 3]) for i in range(0, 12, 3))
    last = size - 1
    rows = bytearray()
    for y in range(size):
        left = [a + (b - a) * y // last for a, b in zip(top_left, bottom_left)]
        right = [a + (b - a) * y // last for a, b in zip(top_right, bottom_right)]
        rows.append(0)  # filter type "None" for this scanline
        for x in range(size):
            rows.extend(l + (r - l) * x // last for l, r in zip(left, right))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(bytes(rows), 9)) + _chunk(
        b"IEND", b""
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


# --- WAV ---------------------------------------------------------------------------------------------------


def wav_bytes(seed: str, seconds: float = AUDIO_SECONDS, rate: int = AUDIO_RATE) -> bytes:
    """A mono 16-bit sine tone (220–880 Hz, chosen by ``seed``) with short fades so it does not click."""
    frequency = 220 + int.from_bytes(_digest(seed)[:2], "big") % 661
    count = int(seconds * rate)
    fade = rate // 50  # 20 ms
    samples = array("h")
    for i in range(count):
        envelope = min(1.0, i / fade, (count - 1 - i) / fade)
        samples.append(int(12_000 * envelope * math.sin(2 * math.pi * frequency * i / rate)))
    if sys.byteorder == "big":  # WAV samples are little-endian
        samples.byteswap()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()


# --- MP4 ---------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def sample_video_bytes() -> bytes:
    """The committed 2-second 160×120 H.264 test pattern (see ``assets/sample.mp4``)."""
    return SAMPLE_VIDEO.read_bytes()


# --- text --------------------------------------------------------------------------------------------------


def transcript(seed: str) -> str:
    """A plausible speech-to-text transcript, picked by ``seed``."""
    return _TRANSCRIPTS[_digest(seed)[0] % len(_TRANSCRIPTS)]


# --- disk --------------------------------------------------------------------------------------------------


def write_file(path: Path, data: bytes) -> Path:
    """Write ``data`` atomically (temp file + rename), creating parent folders; return ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
    return path


def write_png(path: Path, seed: str) -> Path:
    return write_file(path, png_bytes(seed))


def write_wav(path: Path, seed: str) -> Path:
    return write_file(path, wav_bytes(seed))


def write_video(path: Path) -> Path:
    return write_file(path, sample_video_bytes())
