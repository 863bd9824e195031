"""The KIE client's httpx stack imports nothing per request: sniffio (which httpcore imports on every request to
tell asyncio from trio) is installed, so the import is a sys.modules hit instead of a failed sys.path walk."""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

import httpx
from aiohttp import web

from tests.fakes import bounded


class _LookupRecorder:
    """A meta-path finder that records lookups and finds nothing (the next finder does the real work)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        self.names.append(name)
        return None


def test_sniffio_is_installed_for_httpcore():
    assert importlib.util.find_spec("sniffio") is not None


@bounded()
async def test_httpx_requests_attempt_no_imports():
    async def ok(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    recorder = _LookupRecorder()
    try:
        async with httpx.AsyncClient() as client:
            await client.get(f"http://{host}:{port}/")  # warm: first-use imports are fine
            sys.meta_path.insert(0, recorder)
            try:
                for _ in range(3):
                    assert (await client.get(f"http://{host}:{port}/")).status_code == 200
            finally:
                sys.meta_path.remove(recorder)
    finally:
        await runner.cleanup()

    assert recorder.names == []
