"""The media length is read from real files' own headers (mutagen), not from what Telegram reports."""

from __future__ import annotations

import io
import wave

from adapters.kie import fake_media
from adapters.media.mutagen_probe import MutagenProbe


def stdlib_wav(seconds: int, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x00" * rate * seconds)
    return buffer.getvalue()


async def test_a_wav_written_by_the_stdlib_measures_its_length():
    assert await MutagenProbe().duration_s(stdlib_wav(70)) == 70.0


async def test_the_fake_generators_wav_and_mp4_measure_their_length():
    probe = MutagenProbe()
    assert await probe.duration_s(fake_media.wav_bytes("x", seconds=3)) == 3.0
    assert abs(await probe.duration_s(fake_media.sample_video_bytes()) - 2.0) < 0.1


async def test_bytes_that_are_no_media_file_have_no_length():
    probe = MutagenProbe()
    assert await probe.duration_s(b"#!/bin/sh\nrm -rf /\n" * 10) is None
    assert await probe.duration_s(fake_media.png_bytes("x")) is None
    assert await probe.duration_s(b"") is None
