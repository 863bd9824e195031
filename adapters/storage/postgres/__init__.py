"""PostgreSQL storage (asyncpg): PostgresStorage implements ports.storage.Storage; ``migrate(dsn)`` applies
the versioned SQL migrations in migrations/ (PostgresStorage.open applies them too)."""

from adapters.storage.postgres.migrations import migrate
from adapters.storage.postgres.storage import PostgresStorage

__all__ = ["PostgresStorage", "migrate"]
