"""Versioned SQL migrations: ``migrations/NNNN_name.sql``, applied in order, each recorded once.

All pending migrations run in ONE transaction that first takes ``pg_advisory_xact_lock(LOCK_KEY)``: two
processes starting together (a deploy overlap, the migrate command beside a booting bot) queue on the lock,
and the second finds everything recorded and applies nothing. A failing migration rolls back whole, the
record with it. ``schema_migrations(version, name, applied_at)`` is the record; re-running applies nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from adapters.storage.postgres.db import translate
from ports.storage import StorageUnavailableError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
LOCK_KEY = 0x7472_745F_6D69_6772  # "trt_migr": the advisory lock key of migrations, distinct from any other

_FILE_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

CREATE_RECORD = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str  # the file name without .sql, e.g. "0001_initial"
    sql: str


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Every migration file, by version; refuses stray or duplicate names rather than skipping them."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise ValueError(f"{path.name}: a migration file is named NNNN_lowercase_name.sql")
        version = int(match.group(1))
        if version in found:
            raise ValueError(f"{path.name}: version {version} is taken by {found[version].name}.sql")
        found[version] = Migration(version, path.stem, path.read_text(encoding="utf-8"))
    return [found[version] for version in sorted(found)]


async def apply_migrations(
    conn: asyncpg.Connection, migrations: list[Migration] | None = None, *, timeout: float = 300
) -> list[str]:
    """Apply the migrations not yet recorded, in one transaction under the advisory lock; their names.

    ``timeout`` (seconds) bounds each statement, the wait for the lock included, on the server (SET LOCAL
    statement_timeout, overriding a pool's shorter one for this transaction only) and on the client."""
    migrations = load_migrations() if migrations is None else migrations
    applied: list[str] = []
    async with conn.transaction():
        await conn.execute(f"SET LOCAL statement_timeout = {int(timeout * 1000)}", timeout=timeout)
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY, timeout=timeout)
        await conn.execute(CREATE_RECORD, timeout=timeout)
        done = {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations", timeout=timeout)}
        for migration in migrations:
            if migration.version in done:
                continue
            await conn.execute(migration.sql, timeout=timeout)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                migration.version,
                migration.name,
                timeout=timeout,
            )
            applied.append(migration.name)
    return applied


async def migrate(dsn: str, *, connect_timeout: float = 10, timeout: float = 300) -> list[str]:
    """Connect to ``dsn``, apply what is pending, disconnect; the names applied (empty: nothing to do).

    Raises StorageUnavailableError (from the original) when the database cannot be reached, ValueError when
    the DSN is malformed."""
    try:
        conn = await asyncpg.connect(dsn, timeout=connect_timeout, server_settings={"application_name": "trt-migrate"})
    except ValueError:
        raise  # a malformed DSN (asyncpg's ClientConfigurationError is a ValueError): a setting to fix
    except Exception as error:
        translated = translate(error) or StorageUnavailableError(f"cannot connect: {type(error).__name__}")
        raise translated from error
    try:
        return await apply_migrations(conn, timeout=timeout)
    except Exception as error:
        translated = translate(error)
        if translated is None:
            raise
        raise translated from error
    finally:
        await conn.close()
