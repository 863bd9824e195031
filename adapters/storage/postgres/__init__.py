"""PostgreSQL storage (asyncpg): PostgresStorage implements ports.storage.Storage; ``migrate(dsn)`` applies
the versioned SQL migrations in migrations/ (PostgresStorage.open applies them too). For several instances on
one database: the claims and leases of ports.claims (claims.py) and the LISTEN connection (listener.py)."""

from adapters.storage.postgres.claims import (
    INBOX_CHANNEL, JOBS_CHANNEL, PostgresInboxClaims, PostgresJobLeases, PostgresWakeups,
)
from adapters.storage.postgres.listener import PostgresListener
from adapters.storage.postgres.migrations import migrate
from adapters.storage.postgres.storage import PostgresStorage

__all__ = [
    "INBOX_CHANNEL", "JOBS_CHANNEL", "PostgresInboxClaims", "PostgresJobLeases", "PostgresListener", "PostgresStorage",
    "PostgresWakeups", "migrate",
]
