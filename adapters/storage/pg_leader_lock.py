"""ports.leader.LeaderLock over a PostgreSQL session-level advisory lock.

The lock lives as long as ONE dedicated connection (never a pooled one: a pool would hand the session, and
the lock with it, to unrelated code). When the process dies, or its connection is cut, the server frees
the lock at once and a passive instance takes over on its next try. A process that hangs with its
connection still open would keep the lock for ever, so the holder also writes a heartbeat row
(``leader_heartbeat``) on acquire and on every heartbeat(); a contender that finds the lock taken and the
row older than ``stale_after`` seconds terminates the holder's backend - only if that backend really holds
our advisory lock per ``pg_locks`` (checked in the same statement that terminates it) - and tries again.

Call heartbeat() well within ``stale_after`` (every stale_after / 4, say), or a contender will evict a
live leader. The DSN must reach PostgreSQL directly or through a session-mode pooler: a transaction-mode
pooler (PgBouncer) would move the session lock between clients.

Times come from the database server's clock (``clock_timestamp()``), so instances on hosts whose clocks
disagree do not evict each other; pass ``now`` (returning aware datetimes) to use another clock.

Database errors never escape: try_acquire()/heartbeat() return False (and the lock is dropped: the
connection is closed so the server frees anything it held), release() swallows them. The DSN is never
logged; connection errors are logged by class name only.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from datetime import datetime

import asyncpg

log = logging.getLogger(__name__)

TABLE = "leader_heartbeat"
# Keep identical to the PostgreSQL migrations (which may create the table too); idempotent.
HEARTBEAT_TABLE_DDL = (
    "CREATE TABLE IF NOT EXISTS leader_heartbeat ("
    "lock_key BIGINT PRIMARY KEY, instance_id TEXT, backend_pid INT, beat_at TIMESTAMPTZ)"
)

# A granted session advisory lock on the bigint key $1 in the current database, as pg_locks shows it:
# the key's high 32 bits in classid, the low 32 bits in objid, objsubid 1 (the two-int4 form uses 2).
_OUR_LOCK = """
    l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND l.classid::bigint = (($1::bigint >> 32) & 4294967295)
    AND l.objid::bigint = ($1::bigint & 4294967295)
"""

# Write our heartbeat row, but only while this session holds the lock; no row back = the lock is lost.
_BEAT = f"""
    INSERT INTO leader_heartbeat AS h (lock_key, instance_id, backend_pid, beat_at)
    SELECT $1, $2, pg_backend_pid(), COALESCE($3::timestamptz, clock_timestamp())
    WHERE EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = pg_backend_pid() AND {_OUR_LOCK})
    ON CONFLICT (lock_key) DO UPDATE
        SET instance_id = EXCLUDED.instance_id, backend_pid = EXCLUDED.backend_pid, beat_at = EXCLUDED.beat_at
    RETURNING backend_pid
"""

# Terminate the holder only if its heartbeat is stale AND the pid in its row is the backend that holds our
# advisory lock right now (never ourselves, never a backend of another database or another key).
_EVICT_STALE = f"""
    SELECT h.instance_id, h.backend_pid,
           EXTRACT(EPOCH FROM COALESCE($2::timestamptz, clock_timestamp()) - h.beat_at)::float8 AS stale_for,
           pg_terminate_backend(h.backend_pid) AS terminated
    FROM leader_heartbeat h
    WHERE h.lock_key = $1
      AND h.backend_pid <> pg_backend_pid()
      AND h.beat_at < COALESCE($2::timestamptz, clock_timestamp()) - make_interval(secs => $3::float8)
      AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = h.backend_pid AND {_OUR_LOCK})
"""

_HOLDER = "SELECT instance_id FROM leader_heartbeat WHERE lock_key = $1"

_DELETE_OWN_ROW = "DELETE FROM leader_heartbeat WHERE lock_key = $1 AND backend_pid = pg_backend_pid()"

_DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError, TimeoutError)


def lock_key_for(secret: str) -> int:
    """A signed 64-bit advisory-lock key from a secret (the bot token): the first 8 bytes of its sha256.
    Two bots sharing one database get different keys; the secret itself is never stored or sent."""
    return int.from_bytes(hashlib.sha256(secret.encode("utf-8")).digest()[:8], "big", signed=True)


def _describe(error: BaseException) -> str:
    """An error for the log, without the DSN: the class name, and the SQLSTATE for server errors."""
    state = getattr(error, "sqlstate", None)
    return f"{type(error).__name__}({state})" if state else type(error).__name__


class PostgresLeaderLock:
    """LeaderLock on ``pg_try_advisory_lock(key)`` held by one dedicated connection (opened lazily,
    reopened when lost). ``instance_id`` names this process in the heartbeat row and the log."""

    def __init__(
        self,
        dsn: str,
        key: int,
        *,
        instance_id: str,
        stale_after: float = 60.0,
        now: Callable[[], datetime] | None = None,
        connect_timeout: float = 5.0,
        command_timeout: float = 5.0,
        takeover_wait: float = 2.0,
    ) -> None:
        if not -(2**63) <= key < 2**63:
            raise ValueError("the lock key must be a signed 64-bit integer")
        if stale_after <= 0:
            raise ValueError("stale_after must be positive")
        self._dsn = dsn
        self.key = key
        self.instance_id = instance_id
        self.stale_after = stale_after
        self._now = now
        self._connect_timeout = connect_timeout
        self._command_timeout = command_timeout
        self._takeover_wait = takeover_wait
        self._conn: asyncpg.Connection | None = None
        self._held = False
        self._busy = asyncio.Lock()  # one query at a time on the one connection
        self._last_error: str | None = None
        self.holder: str | None = None  # the instance id holding the lock, as last seen (ours while held)

    def __repr__(self) -> str:  # never shows the DSN
        return f"PostgresLeaderLock(key={self.key}, instance_id={self.instance_id!r}, held={self._held})"

    @property
    def held(self) -> bool:
        return self._held

    async def try_acquire(self) -> bool:
        async with self._busy:
            if self._held:
                return await self._beat()
            try:
                conn = await self._connection()
                if await self._try_lock(conn):
                    return await self._start_holding(conn)
                if not await self._evict_stale_holder(conn):
                    self.holder = await conn.fetchval(_HOLDER, self.key)
                    return False
                deadline = asyncio.get_running_loop().time() + self._takeover_wait
                while True:  # the terminated backend frees the lock as it exits, a moment later
                    if await self._try_lock(conn):
                        return await self._start_holding(conn)
                    if asyncio.get_running_loop().time() >= deadline:
                        return False
                    await asyncio.sleep(0.05)
            except _DB_ERRORS as error:
                self._note_error(error)
                await self._drop_connection()
                return False
            except BaseException:  # cancelled mid-query: we may hold the lock unknowingly; free it
                self._abort()
                raise

    async def heartbeat(self) -> bool:
        async with self._busy:
            if not self._held:
                return False
            return await self._beat()

    async def release(self) -> None:
        async with self._busy:
            was_held, self._held, self.holder = self._held, False, None
            conn, self._conn = self._conn, None
            if conn is None:
                return
            if was_held and not conn.is_closed():
                try:
                    await conn.execute(_DELETE_OWN_ROW, self.key)
                    await conn.fetchval("SELECT pg_advisory_unlock($1::bigint)", self.key)
                except _DB_ERRORS as error:  # closing the connection below frees the lock anyway
                    self._note_error(error)
                except BaseException:  # cancelled: cut the session, which frees the lock
                    conn.terminate()
                    raise
            await self._close(conn)
            if was_held:
                log.info("LEADER_RELEASED", extra={"instance": self.instance_id, "key": self.key})

    # --- steps (called with self._busy held) -------------------------------------------------------

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is not None and not self._conn.is_closed():
            return self._conn
        self._conn = None
        # command_timeout bounds every query on this connection
        conn = await asyncpg.connect(
            self._dsn, timeout=self._connect_timeout, command_timeout=self._command_timeout
        )
        try:
            await self._ensure_table(conn)
        except BaseException:
            conn.terminate()
            raise
        self._conn = conn
        if self._last_error is not None:
            log.info("LEADER_DB_AVAILABLE", extra={"instance": self.instance_id})
            self._last_error = None
        return conn

    async def _ensure_table(self, conn: asyncpg.Connection) -> None:
        if await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", TABLE):
            return
        try:
            await conn.execute(HEARTBEAT_TABLE_DDL)
        except (asyncpg.DuplicateTableError, asyncpg.UniqueViolationError):
            pass  # another instance (or the migrations) created it at the same moment

    async def _try_lock(self, conn: asyncpg.Connection) -> bool:
        return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1::bigint)", self.key))

    async def _start_holding(self, conn: asyncpg.Connection) -> bool:
        pid = await conn.fetchval(_BEAT, self.key, self.instance_id, self._stamp())
        if pid is None:  # cannot happen right after pg_try_advisory_lock succeeded; stay safe anyway
            await self._drop_connection()
            return False
        self._held = True
        self.holder = self.instance_id
        log.info("LEADER_ACQUIRED", extra={"instance": self.instance_id, "key": self.key, "backend_pid": pid})
        return True

    async def _evict_stale_holder(self, conn: asyncpg.Connection) -> bool:
        """Terminate the holder if its heartbeat is stale and it really holds our lock; True if done."""
        row = await conn.fetchrow(_EVICT_STALE, self.key, self._stamp(), float(self.stale_after))
        if row is None:
            return False
        log.warning("LEADER_STALE_TAKEOVER", extra={
            "instance": self.instance_id, "holder": row["instance_id"], "stale_for_s": round(row["stale_for"], 1),
            "holder_pid": row["backend_pid"], "terminated": row["terminated"],
        })
        return bool(row["terminated"])

    async def _beat(self) -> bool:
        """Refresh our row while pg_locks shows the lock is ours; else (or on any error) the lock is lost."""
        conn = self._conn
        try:
            if conn is None or conn.is_closed():
                return await self._lose("connection closed")
            pid = await conn.fetchval(_BEAT, self.key, self.instance_id, self._stamp())
        except _DB_ERRORS as error:
            self._note_error(error)
            return await self._lose(f"heartbeat failed: {_describe(error)}")
        except BaseException:
            self._abort()
            raise
        if pid is None:
            return await self._lose("lock no longer held by this session")
        return True

    async def _lose(self, reason: str) -> bool:
        self._held, self.holder = False, None
        log.warning("LEADER_LOST", extra={"instance": self.instance_id, "key": self.key, "reason": reason})
        await self._drop_connection()  # whatever the session still holds is freed with it
        return False

    def _stamp(self) -> datetime | None:
        return self._now() if self._now is not None else None

    def _note_error(self, error: BaseException) -> None:
        described = _describe(error)
        if described != self._last_error:
            log.warning("LEADER_DB_UNAVAILABLE", extra={"instance": self.instance_id, "error": described})
            self._last_error = described

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await self._close(conn)

    async def _close(self, conn: asyncpg.Connection) -> None:
        try:
            await conn.close(timeout=self._command_timeout)
        except _DB_ERRORS:
            conn.terminate()
        except BaseException:  # cancelled: never leave the session (and a lock it may hold) open
            conn.terminate()
            raise

    def _abort(self) -> None:
        """Cut the connection at once (sync): the server frees the lock whatever state we were in."""
        if self._held:
            log.warning("LEADER_LOST", extra={"instance": self.instance_id, "key": self.key, "reason": "cancelled"})
        self._held, self.holder = False, None
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()
