"""The webhook's per-request intake work, before and after issue 15's "parse once; store the raw body".

    python bench/webhook_intake.py [--n 20000] [--no-postgres]

Before (main at ee76652): ``json.loads`` of the body; the storage checked the payload by walking and copying it
(``entity_codec.encode``) and serialised it again (``json.dumps``); PostgreSQL then parsed that text into JSONB.
After: ``read_update`` parses once (with its strictness checks: a walk for depth and, only when the body has a
``\\u`` escape, for lone surrogates) and the body text itself is stored (TEXT column; spliced into inbox.json).

Measured in-process with ``time.process_time`` on two real updates (a /start message and a button press, as
Telegram sends them: non-ASCII escaped), so the figures are CPU per update for the intake step alone; the
PostgreSQL part inserts the same text into a JSONB and a TEXT column of a temporary table on a throwaway
database (tests/pg.py), one INSERT per update inside one transaction (so the WAL flush, the same for both, is
left out), and reports the best of three rounds of wall time per INSERT.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.storage.entity_codec import encode, payload_text  # noqa: E402
from adapters.telegram.update_body import read_update  # noqa: E402
from adapters.telegram.updates import update_chat_id  # noqa: E402
from ports.storage import InboxUpdate  # noqa: E402

NOW = datetime(2026, 12, 6, tzinfo=timezone.utc)
USER = {"id": 123456789, "is_bot": False, "first_name": "Анна", "last_name": "К.", "username": "anna_k",
        "language_code": "ru"}
CHAT = {"id": 123456789, "first_name": "Анна", "last_name": "К.", "username": "anna_k", "type": "private"}
START = {"update_id": 500000001, "message": {"message_id": 1201, "from": USER, "chat": CHAT, "date": 1767225600,
                                             "text": "/start", "entities": [{"offset": 0, "length": 6,
                                                                             "type": "bot_command"}]}}
PRESS = {"update_id": 500000002, "callback_query": {
    "id": "4382000000000000001", "from": USER, "chat_instance": "-7000000000000000001", "data": "cat:image",
    "message": {"message_id": 1202, "from": {"id": 999000, "is_bot": True, "first_name": "TRT", "username": "TrtBot"},
                "chat": CHAT, "date": 1767225601, "text": "👋 Привет! Выберите раздел:",
                "reply_markup": {"inline_keyboard": [[{"text": "🖼 Картинки", "callback_data": "cat:image"},
                                                      {"text": "🎬 Видео", "callback_data": "cat:video"}],
                                                     [{"text": "💰 Баланс", "callback_data": "balance"}]]}}}}


def before(body: bytes) -> str:
    payload = json.loads(body)
    update = InboxUpdate(payload["update_id"], payload, NOW, update_chat_id(payload), "cid")
    record = encode(update)
    return json.dumps(record["payload"], ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def after(body: bytes) -> str:
    read = read_update(body)
    update = InboxUpdate(read.update_id, read.payload, NOW, update_chat_id(read.payload), "cid", read.text)
    return payload_text(update)


def cpu_us(step, body: bytes, n: int) -> float:
    for _ in range(200):
        step(body)
    started = time.process_time()
    for _ in range(n):
        step(body)
    return (time.process_time() - started) / n * 1e6


async def postgres_us(texts: list[str], n: int) -> dict[str, float]:
    import asyncpg

    from tests.pg import scratch_database

    results: dict[str, float] = {}
    async with scratch_database() as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            for kind in ("jsonb", "text"):
                await conn.execute(f"CREATE TEMP TABLE t_{kind} (id bigint PRIMARY KEY, payload {kind})")
            for _ in range(3):  # rounds, alternating the kinds; the best of each (the machine may be shared)
                for kind in ("jsonb", "text"):
                    await conn.execute(f"TRUNCATE t_{kind}")
                    cast = "::jsonb" if kind == "jsonb" else ""
                    sql = f"INSERT INTO t_{kind} (id, payload) VALUES ($1, $2{cast})"
                    started = time.perf_counter()
                    async with conn.transaction():  # one commit: the WAL flush is not what is compared
                        for i in range(n):
                            await conn.execute(sql, i, texts[i % len(texts)])
                    spent = (time.perf_counter() - started) / n * 1e6
                    results[kind] = min(results.get(kind, spent), spent)
        finally:
            await conn.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    bodies = {"/start": json.dumps(START).encode(), "button": json.dumps(PRESS).encode()}
    for name, body in bodies.items():
        old, new = cpu_us(before, body, args.n), cpu_us(after, body, args.n)
        print(f"{name:7} {len(body):5} B  before {old:6.1f} µs  after {new:6.1f} µs  ({(new - old) / old:+.0%})")
    if not args.no_postgres:
        texts = [body.decode() for body in bodies.values()]
        timings = asyncio.run(postgres_us(texts, args.n // 10))
        change = (timings["text"] - timings["jsonb"]) / timings["jsonb"]
        print(f"INSERT  JSONB {timings['jsonb']:6.1f} µs  TEXT {timings['text']:6.1f} µs  ({change:+.0%})")


if __name__ == "__main__":
    main()
