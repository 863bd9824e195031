"""ports.storage.Inbox on PostgreSQL: the ``inbox`` table, one row per Telegram update id.

``put`` is one ``INSERT ... ON CONFLICT DO NOTHING`` (its RETURNING tells a new id from a seen one, pending
or done); the payload column is TEXT holding the update's JSON as received (migration 0006: JSONB refuses
U+0000, which real updates may carry, and would parse every insert for nothing); ``done`` sets ``done_at``
and drops the payload, keeping the id for deduplication. Ids done more than RETENTION ago are deleted by
``prune``, which ``done`` runs itself every ``prune_every`` calls, so the table holds about one day of ids.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Sequence

from adapters.storage.entity_codec import payload_text
from adapters.storage.postgres import codec, outbox
from adapters.storage.postgres.db import Database
from ports.outbox import OutboxMessage
from ports.storage import InboxUpdate

RETENTION = timedelta(hours=24)  # Telegram redelivers an update for at most 24 h

PUT = (
    "INSERT INTO inbox (update_id, payload, received_at, chat_id, cid) VALUES ($1, $2, $3, $4, $5) "
    "ON CONFLICT (update_id) DO NOTHING RETURNING update_id"
)
PENDING = f"SELECT {codec.UPDATE_COLUMNS} FROM inbox WHERE done_at IS NULL ORDER BY update_id LIMIT $1"
DONE = "UPDATE inbox SET done_at = $2, payload = NULL WHERE update_id = $1 AND done_at IS NULL"
# Done, its messages, and the messages sent since the last commit marked sent ($3), in one statement: one
# transaction, with no BEGIN/COMMIT round trips.
DONE_WITH_OUTBOX = (f"WITH done AS ({DONE}), marked AS ({outbox.SENT.replace('$1', '$3')}) "
                    + outbox.INSERT.format(rows=outbox.ROWS.format(4, 5, 6, 7, 8, 9)))
DEPTH = "SELECT count(*) FROM inbox WHERE done_at IS NULL"
PRUNE = "DELETE FROM inbox WHERE done_at < $1"


class PostgresInbox:
    def __init__(self, db: Database, prune_every: int = 100) -> None:
        self._db = db
        self.prune_every = prune_every
        self._done_calls = 0

    async def put(self, update: InboxUpdate) -> bool:
        for name in ("update_id", "received_at", "chat_id", "cid"):  # exact types, an aware time
            codec.validated_field(InboxUpdate, name, getattr(update, name))
        text = payload_text(update)  # as received, or the payload checked as JSON data and serialised
        async with self._db.connection() as conn:
            new = await conn.fetchval(PUT, update.update_id, text, update.received_at, update.chat_id, update.cid)
        return new is not None

    async def pending(self, limit: int = 100) -> list[InboxUpdate]:
        async with self._db.connection() as conn:
            rows = await conn.fetch(PENDING, codec.count(limit))
        return [codec.update(row) for row in rows]

    async def done(self, update_id: int, now: datetime, messages: Sequence[OutboxMessage] = (),
                   sent: Sequence[str] = ()) -> None:
        """Mark the update done, store its outbox ``messages`` and mark the ``sent`` keys sent: one statement."""
        if type(update_id) is not int:
            raise TypeError(f"an update id is an int, got {type(update_id).__name__}")
        now = codec.aware(now)
        columns = outbox.arrays(messages) if messages or sent else None
        self._done_calls += 1
        async with self._db.connection() as conn:
            if columns is None:
                await conn.execute(DONE, update_id, now)
            else:
                await conn.execute(DONE_WITH_OUTBOX, update_id, now, list(sent), *columns)
            if self.prune_every > 0 and self._done_calls % self.prune_every == 0:
                await conn.execute(PRUNE, now - RETENTION)

    async def depth(self) -> int:
        async with self._db.connection() as conn:
            return await conn.fetchval(DEPTH)

    async def prune(self, now: datetime) -> int:
        """Forget the ids done more than RETENTION before ``now``; how many were forgotten."""
        async with self._db.connection() as conn:
            status = await conn.execute(PRUNE, codec.aware(now) - RETENTION)
        return int(status.split()[-1])
