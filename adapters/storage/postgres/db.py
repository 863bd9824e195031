"""The asyncpg pool behind every role, and the one place where asyncpg errors become port errors.

Every role borrows a connection with ``Database.connection()`` or ``Database.transaction()``; whatever the
server or the driver raises inside is translated on the way out:

- the store cannot be reached or used now (connection refused or lost, pool exhausted, statement or
  idle-in-transaction timeout, server shutting down, deadlock or serialization failure, too many
  connections) -> ``StorageUnavailableError`` raised from the original, so the cause stays in the traceback;
- a value PostgreSQL cannot take (a number out of range, a bad argument type) -> ``ValueError``;
- any other database error -> ``StorageError`` (a bug or a missing schema: not worth retrying).

Port errors raised by the roles themselves (InsufficientBalanceError, ...) pass through untouched.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import NoReturn

import asyncpg

from ports.storage import ConstraintViolationError, StorageError, StorageUnavailableError

log = logging.getLogger(__name__)

RUNBOOK_HINT = "see the runbook, Database Issues"

# Errors that mean "not now" rather than "never": the caller may retry later.
_TRANSIENT = (
    OSError,  # includes TimeoutError (command_timeout, connect timeout) and ConnectionRefusedError
    asyncpg.PostgresConnectionError,  # class 08: connection lost, cannot connect
    asyncpg.InsufficientResourcesError,  # class 53: too many connections, out of memory, disk full
    asyncpg.OperatorInterventionError,  # class 57: statement_timeout (query canceled), admin shutdown
    asyncpg.IdleInTransactionSessionTimeoutError,
    asyncpg.TransactionRollbackError,  # class 40: deadlock, serialization failure
    asyncpg.ReadOnlySQLTransactionError,  # a standby answered (failover in progress)
    asyncpg.InvalidAuthorizationSpecificationError,  # class 28: wrong password, unknown role
    asyncpg.InvalidCatalogNameError,  # the database does not exist
    asyncpg.InterfaceError,  # connection closed, pool closing
)


def translate(error: BaseException, max_size: int | None = None) -> BaseException | None:
    """The port error for an asyncpg/OS error, or None when ``error`` is not one of them."""
    if isinstance(error, (StorageError, asyncpg.ClientConfigurationError)):
        return None  # already a port error; a bad DSN or option is a ValueError of its own
    if isinstance(error, asyncpg.TooManyConnectionsError):
        pool = f"this pool opens up to max_size={max_size}" if max_size else "each pool opens up to its max_size"
        return StorageUnavailableError(
            f"PostgreSQL refused a new connection: {error}. Too many connections: {pool} per process; keep "
            "max_size x processes below the server's max_connections (and any role or database CONNECTION "
            f"LIMIT), and look for sessions stuck 'idle in transaction' ({RUNBOOK_HINT})"
        )
    if isinstance(error, TimeoutError):
        return StorageUnavailableError(f"PostgreSQL did not answer in time ({type(error).__name__}: {error})")
    if isinstance(error, asyncpg.QueryCanceledError):
        return StorageUnavailableError(f"a statement ran past statement_timeout and was canceled: {error}")
    if isinstance(error, _TRANSIENT):
        return StorageUnavailableError(f"PostgreSQL unavailable: {type(error).__name__}: {error}")
    if isinstance(error, asyncpg.DataError):
        return ValueError(f"PostgreSQL cannot store this value: {error}")
    if isinstance(error, asyncpg.IntegrityConstraintViolationError):
        return ConstraintViolationError(f"a storage constraint refused the change: {error}")
    if isinstance(error, asyncpg.UndefinedTableError):
        return StorageError(f"{error}: the schema is missing; run `python -m entrypoints.migrate`")
    if isinstance(error, asyncpg.PostgresError):
        return StorageError(f"PostgreSQL error {type(error).__name__}: {error}")
    return None


class Database:
    """An asyncpg pool with error translation and a bound on the wait for a free connection."""

    def __init__(self, pool: asyncpg.Pool, *, max_size: int, acquire_timeout: float) -> None:
        self.pool = pool
        self.max_size = max_size
        self.acquire_timeout = acquire_timeout

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection in autocommit mode (each statement is its own transaction)."""
        try:
            conn = await self.pool.acquire(timeout=self.acquire_timeout)
        except TimeoutError as error:
            raise StorageUnavailableError(
                f"no free database connection within {self.acquire_timeout:g} s: all max_size={self.max_size} "
                f"connections of the pool are busy; raise the pool size or find what holds them ({RUNBOOK_HINT})"
            ) from error
        except Exception as error:
            self.reraise(error)
        try:
            yield conn
        except Exception as error:
            self.reraise(error)
        finally:
            await self._release(conn)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection inside one transaction: committed when the block ends, rolled back when it
        raises (a port error included, so a refused debit leaves nothing behind)."""
        async with self.connection() as conn, conn.transaction():
            yield conn

    async def close(self, timeout: float = 10) -> None:
        """Wait (up to ``timeout``) for the connections in use to come back, then close them all."""
        try:
            await asyncio.wait_for(self.pool.close(), timeout)
        except Exception as error:  # a connection still held, or the server went away first
            log.warning("closing the PostgreSQL pool: %s: %s; terminating it", type(error).__name__, error)
            self.pool.terminate()

    def reraise(self, error: Exception) -> NoReturn:
        translated = translate(error, self.max_size)
        if translated is None:
            raise error
        raise translated from error

    async def _release(self, conn: asyncpg.Connection) -> None:
        # The work is committed (or rolled back) by now; a connection that cannot be reset is terminated by
        # asyncpg and replaced on the next acquire, so a failure here must not turn a success into an error.
        try:
            await self.pool.release(conn)
        except Exception as error:
            log.warning("a PostgreSQL connection could not be returned to the pool and was dropped: %s", error)
