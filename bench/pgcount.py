"""Counts the SQL a process sends through asyncpg, by kind and by statement: an in-process stand-in for
pg_stat_statements (which needs shared_preload_libraries, i.e. a server restart we must not do).

``install()`` wraps asyncpg's public query methods (execute, executemany, fetch, fetchrow, fetchval) on the
Connection class, which pooled connections, transactions (BEGIN/COMMIT go through ``execute``) and the pool's
reset on release (``Connection.reset`` → ``execute(reset query)``) all use. Each counted call is one client
round trip at least; a statement not yet in the connection's prepared-statement cache costs one more (once per
statement per connection), which is not counted.
"""

from __future__ import annotations

import asyncio
import collections
import re
from typing import Any

from asyncpg.connection import Connection

KINDS = ("statement", "transaction", "pool_reset")
counts: collections.Counter[str] = collections.Counter()  # every call, the job runner's excluded
job_counts: collections.Counter[str] = collections.Counter()  # calls made by the job runner's tasks (job-<id>)
by_sql: collections.Counter[str] = collections.Counter()
_installed = False


def kind_of(sql: str) -> str:
    head = sql.lstrip()[:40].upper()
    if head.startswith("SELECT PG_ADVISORY_UNLOCK_ALL"):
        return "pool_reset"  # asyncpg's Connection.get_reset_query(), run by Pool.release
    if head.startswith(("BEGIN", "START TRANSACTION", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")):
        return "transaction"
    return "statement"


def short(sql: str, width: int = 110) -> str:
    text = re.sub(r"\s+", " ", sql).strip()
    return text if len(text) <= width else text[: width - 1] + "…"


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    for name in ("execute", "executemany", "fetch", "fetchrow", "fetchval"):
        setattr(Connection, name, _counting(getattr(Connection, name)))


def _counting(original: Any) -> Any:
    async def counted(self: Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        kind = kind_of(query)
        task = asyncio.current_task()
        (job_counts if task is not None and task.get_name().startswith("job-") else counts)[kind] += 1
        by_sql[f"[{kind}] {short(query)}"] += 1
        return await original(self, query, *args, **kwargs)

    counted.__name__ = original.__name__
    counted.__doc__ = original.__doc__
    return counted


def snapshot() -> dict[str, Any]:
    return {"counts": dict(counts + job_counts), "by_sql": dict(by_sql)}


def delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    def minus(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
        return {key: value - b.get(key, 0) for key, value in a.items() if value - b.get(key, 0)}

    return {"counts": minus(after["counts"], before["counts"]), "by_sql": minus(after["by_sql"], before["by_sql"])}
