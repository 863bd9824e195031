"""ports.outbox.Outbox on PostgreSQL: the ``outbox`` table (migration 0009), one row per message not sent yet.

Messages are added by one statement (``unnest`` over arrays), on their own or together with marking their
update done (inbox.py ``DONE_WITH_OUTBOX``: one statement is one transaction, so no BEGIN/COMMIT round trips).
A sent message keeps its key (and drops its effect) for RETENTION, then is deleted (every ``prune_every`` marks).
The effect column is the effect as JSON text (ports/effect_codec.py).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Sequence

from adapters.storage.postgres import codec
from adapters.storage.postgres.db import Database
from ports.effect_codec import decode as decode_effect
from ports.effect_codec import encode as encode_effect
from ports.outbox import RETENTION, OutboxMessage

COLUMNS = "seq, key, chat_id, effect, created_at, cid, attempts, next_attempt_at"
# The rows to insert, as parallel arrays starting at parameter $n (see ``arrays``).
ROWS = ("SELECT * FROM unnest(${0}::text[], ${1}::bigint[], ${2}::text[], ${3}::timestamptz[], ${4}::text[], "
        "${5}::timestamptz[])")
INSERT = ("INSERT INTO outbox (key, chat_id, effect, created_at, cid, next_attempt_at) {rows} "
          "ON CONFLICT (key) DO NOTHING")
ADD = INSERT.format(rows=ROWS.format(1, 2, 3, 4, 5, 6))
PENDING = f"SELECT {COLUMNS} FROM outbox WHERE sent_at IS NULL ORDER BY seq LIMIT $1"
PENDING_FOR_CHAT = f"SELECT {COLUMNS} FROM outbox WHERE sent_at IS NULL AND chat_id = $2 ORDER BY seq LIMIT $1"
# Sent: the effect is dropped (the key is all a repeat needs); rows sent more than RETENTION ago are deleted.
SENT = "UPDATE outbox SET sent_at = $2, effect = '' WHERE key = ANY($1::text[]) AND sent_at IS NULL"
RETRY = "UPDATE outbox SET attempts = $2, next_attempt_at = $3 WHERE key = $1 AND sent_at IS NULL"
DROP_CHAT = "UPDATE outbox SET sent_at = $2, effect = '' WHERE chat_id = $1 AND sent_at IS NULL"
DEPTH = "SELECT count(*) FROM outbox WHERE sent_at IS NULL"
PRUNE = "DELETE FROM outbox WHERE sent_at < $1"


def arrays(messages: Sequence[OutboxMessage]) -> list[list[Any]]:
    """The messages as the six parallel arrays ROWS reads; TypeError/ValueError for one that cannot be stored."""
    columns: list[list[Any]] = [[], [], [], [], [], []]
    for message in messages:
        if type(message.key) is not str or not message.key:
            raise ValueError("an outbox message needs a key")
        if type(message.chat_id) is not int:
            raise TypeError(f"chat_id: expected int, got {type(message.chat_id).__name__}")
        effect = json.dumps(encode_effect(message.effect), ensure_ascii=False, separators=(",", ":"))
        due = None if message.next_attempt_at is None else codec.aware(message.next_attempt_at)
        values = (message.key, message.chat_id, effect, codec.aware(message.created_at), str(message.cid), due)
        for column, value in zip(columns, values):
            column.append(value)
    return columns


def message(row: Any) -> OutboxMessage:
    return OutboxMessage(row["key"], row["chat_id"], decode_effect(json.loads(row["effect"])), row["created_at"],
                         row["cid"], row["seq"], row["attempts"], row["next_attempt_at"])


class PostgresOutbox:
    def __init__(self, db: Database, prune_every: int = 200) -> None:
        self._db = db
        self.prune_every = prune_every
        self._marks = 0

    async def add(self, messages: Sequence[OutboxMessage]) -> None:
        if not messages:
            return
        columns = arrays(messages)
        async with self._db.connection() as conn:
            await conn.execute(ADD, *columns)

    async def pending(self, limit: int = 100, chat_id: int | None = None) -> list[OutboxMessage]:
        async with self._db.connection() as conn:
            if chat_id is None:
                rows = await conn.fetch(PENDING, codec.count(limit))
            else:
                rows = await conn.fetch(PENDING_FOR_CHAT, codec.count(limit), chat_id)
        return [message(row) for row in rows]

    async def sent(self, keys: Sequence[str], now: datetime) -> None:
        now = codec.aware(now)
        self._marks += 1
        async with self._db.connection() as conn:
            await conn.execute(SENT, list(keys), now)
            if self.prune_every > 0 and self._marks % self.prune_every == 0:
                await conn.execute(PRUNE, now - RETENTION)

    async def retry_later(self, key: str, attempts: int, next_attempt_at: datetime) -> None:
        async with self._db.connection() as conn:
            await conn.execute(RETRY, key, codec.count(attempts), codec.aware(next_attempt_at))

    async def drop_chat(self, chat_id: int, now: datetime) -> int:
        async with self._db.connection() as conn:
            status = await conn.execute(DROP_CHAT, chat_id, codec.aware(now))
        return int(status.split()[-1])

    async def depth(self) -> int:
        async with self._db.connection() as conn:
            return await conn.fetchval(DEPTH)
