"""The floor with storage: a bare aiohttp webhook that reads the body, takes its update_id and makes it durable
with one INSERT in autocommit (PostgreSQL commits it with a WAL flush: synchronous_commit as the server has it),
then answers 200. What an ack of ours cannot be cheaper than. (The bare floor without storage is
bench/bare_server.py.)

    python bench/peers/floor_server.py PORT DSN
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys

import asyncpg
from aiohttp import web

TABLE = "bench_floor_inbox"


async def main(port: int, dsn: str) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=2, max_size=10)
    await pool.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (update_id bigint PRIMARY KEY, body text NOT NULL)")

    async def webhook(request: web.Request) -> web.Response:
        body = await request.read()
        update_id = json.loads(body)["update_id"]
        await pool.execute(f"INSERT INTO {TABLE} VALUES ($1, $2) ON CONFLICT DO NOTHING", update_id, body.decode())
        return web.json_response({"ok": True})

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "mode": "active"})

    app = web.Application()
    app.router.add_post("/webhook/{path}", webhook)
    app.router.add_get("/health", health)
    runner = web.AppRunner(app, access_log=None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await stop.wait()
    await runner.cleanup()
    await pool.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
