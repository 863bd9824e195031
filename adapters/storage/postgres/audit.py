"""ports.admin.AuditLog on PostgreSQL: the ``audit_log`` table of 0001 (index ``audit_log_newest`` of 0003).

``actor`` is a TEXT column (it may also name 'system'); the admin's Telegram id is stored as its decimal text
and read back as an int. ``details`` is JSONB, validated as JSON data first (entity_codec, like the JSON
storage) and parsed on the way out, so each entry returned is a fresh copy. Newest first means by ``at``,
then by recording order (``id``), as in the JSON storage. Unlike the JSON storage (which keeps the newest
json_admin.AUDIT_CAP entries), the table keeps every entry.
"""

from __future__ import annotations

import json

from adapters.storage.checks import count
from adapters.storage.entity_codec import encode
from adapters.storage.postgres import codec
from adapters.storage.postgres.db import Database
from ports.admin import AuditEntry

INSERT = "INSERT INTO audit_log (at, actor, action, details) VALUES ($1, $2, $3, $4::jsonb)"
RECENT = "SELECT at, actor, action, details FROM audit_log ORDER BY at DESC, id DESC LIMIT $1"


class PostgresAudit:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, entry: AuditEntry) -> None:
        record = encode(entry)  # actor an int, action a str, details JSON data, at aware: else Type/ValueError
        details = json.dumps(record["details"], ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        async with self._db.connection() as conn:
            await conn.execute(INSERT, entry.at, str(entry.actor), entry.action, details)

    async def recent(self, limit: int = 20) -> list[AuditEntry]:
        async with self._db.connection() as conn:
            rows = await conn.fetch(RECENT, count(limit))
        return [
            AuditEntry(
                at=codec.utc(row["at"]),
                actor=int(row["actor"]),
                action=row["action"],
                details=json.loads(row["details"]),
            )
            for row in rows
        ]
