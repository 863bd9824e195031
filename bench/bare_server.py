"""The floor for bench/ack_latency.py: a bare aiohttp server on loopback whose webhook handler only reads the
body and answers 200 ``{"ok": true}`` (no secret check, no JSON parse, no storage).

    python bench/bare_server.py PORT
"""

from __future__ import annotations

import sys

from aiohttp import web


async def webhook(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response({"ok": True})


async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True, "mode": "active"})


def main() -> None:
    app = web.Application()
    app.router.add_post("/webhook/{path}", webhook)
    app.router.add_get("/health", health)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
