"""PostgresStorage: ports.storage.Storage on one asyncpg pool, for any number of bot processes.

Create with ``await PostgresStorage.open(dsn)``; it applies pending migrations first (``migrate=False``
skips that, for a process that must not change the schema). Every connection of the pool carries the
server-side limits (``statement_timeout``, ``idle_in_transaction_session_timeout``) so that a stuck query or
a forgotten transaction is ended by PostgreSQL itself, and ``command_timeout`` bounds each call on the client
side. The pool's size is the runbook's: at most 10 connections per process by default.
"""

from __future__ import annotations

import asyncpg

from adapters.storage.postgres.audit import PostgresAudit
from adapters.storage.postgres.broadcasts import PostgresBroadcasts
from adapters.storage.postgres.budgets import PgSendPace, PgSubmitBudget
from adapters.storage.postgres.db import Database, translate
from adapters.storage.postgres.directory import PostgresDirectory
from adapters.storage.postgres.drafts import PostgresDrafts
from adapters.storage.postgres.free_usage import PostgresFreeUsage
from adapters.storage.postgres.inbox import PostgresInbox
from adapters.storage.postgres.jobs import PostgresJobs
from adapters.storage.postgres.ledger import PostgresLedger
from adapters.storage.postgres.migrations import apply_migrations
from adapters.storage.postgres.outbox import PostgresOutbox
from adapters.storage.postgres.payments import PostgresPayments
from adapters.storage.postgres.referrals import PostgresReferrals
from adapters.storage.postgres.runtime import PostgresRuntime
from adapters.storage.postgres.stats import PostgresStats
from adapters.storage.postgres.topups import PostgresTopups
from adapters.storage.postgres.users import PostgresUsers
from adapters.storage.postgres.uow import PostgresUnitOfWork
from ports.budgets import PaceSettings
from ports.clock import Clock

APPLICATION_NAME = "trt-bot"


class PostgresStorage:
    """ports.storage.Storage over PostgreSQL. ``pool`` is the asyncpg pool, for health checks and tests."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.users = PostgresUsers(db)
        self.ledger = PostgresLedger(db)
        self.drafts = PostgresDrafts(db)
        self.jobs = PostgresJobs(db)
        self.inbox = PostgresInbox(db)
        self.outbox = PostgresOutbox(db)
        self.payments, self.topups = PostgresPayments(db), PostgresTopups(db)
        self.free_usage, self.referrals = PostgresFreeUsage(db), PostgresReferrals(db)
        self.stats, self.directory = PostgresStats(db), PostgresDirectory(db)
        self.audit = PostgresAudit(db)
        self.runtime = PostgresRuntime(db)
        self.broadcasts = PostgresBroadcasts(db)

    def unit_of_work(self) -> PostgresUnitOfWork:
        """ports.uow.UnitOfWork: one transaction on one pooled connection (uow.py)."""
        return PostgresUnitOfWork(self._db)

    @property
    def pool(self) -> asyncpg.Pool:
        return self._db.pool

    @property
    def database(self) -> Database:
        """The pool with error translation, for the claims of several instances (claims.py)."""
        return self._db

    def shared_submit_budget(self, *, limit: int, span: float, clock: Clock | None = None) -> PgSubmitBudget:
        """KIE's submit budget, shared with every process on this database (time: the database's clock)."""
        return PgSubmitBudget(self._db, limit=limit, span=span, clock=clock)

    def shared_send_pace(self, settings: PaceSettings, clock: Clock | None = None) -> PgSendPace:
        """Telegram's sending pace, shared with every process on this database."""
        return PgSendPace(self._db, settings, clock)

    @classmethod
    async def open(
        cls,
        dsn: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        statement_timeout_ms: int = 15_000,
        idle_in_transaction_timeout_ms: int = 10_000,
        command_timeout: float = 20,
        acquire_timeout: float = 10,
        connect_timeout: float = 10,
        migrate: bool = True,
    ) -> PostgresStorage:
        """Open the pool (``min_size`` connections at once) and apply pending migrations.

        Raises StorageUnavailableError (from the original) when the server cannot be reached."""
        try:
            pool = await asyncpg.create_pool(
                dsn,
                reset=_no_reset,
                min_size=min_size,
                max_size=max_size,
                command_timeout=command_timeout,
                timeout=connect_timeout,
                server_settings={
                    "application_name": APPLICATION_NAME,
                    "statement_timeout": str(statement_timeout_ms),
                    "idle_in_transaction_session_timeout": str(idle_in_transaction_timeout_ms),
                    "timezone": "UTC",
                },
            )
        except Exception as error:
            translated = translate(error, max_size)
            if translated is None:
                raise
            raise translated from error
        db = Database(pool, max_size=max_size, acquire_timeout=acquire_timeout)
        if migrate:
            try:
                async with db.connection() as conn:
                    await apply_migrations(conn)
            except BaseException:
                await db.close()
                raise
        return cls(db)

    async def close(self) -> None:
        """Wait for the operations in flight, then close every connection."""
        await self._db.close()



async def _no_reset(connection: asyncpg.Connection) -> None:
    """asyncpg resets every connection it takes back (one more round trip per release: 34 of 77 queries
    per journey in bench/e2e_throughput.py). Nothing here needs it: pooled connections never LISTEN,
    hold no session advisory locks (migrations use transaction-scoped ones and SET LOCAL) and change
    no session settings; an aborted transaction is rolled back by the pool before reuse."""
