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
        job = task is not None and task.get_name().startswith("job-")
        (job_counts if job else counts)[kind] += 1
        by_sql[f"[{'job ' if job else ''}{kind}] {short(query)}"] += 1
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


# --- the journey bench: python bench/pgcount.py [--users N] [--before REV ...] ---------------------------------

STEPS = ("/start", "category", "model", "prompt", "launch")


def _journey(tree: str, users: int, work: str) -> dict[str, Any]:
    """Run bench/pgcount_journey.py (this tree's) on ``tree``'s code; its JSON answer."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).with_name("pgcount_journey.py")
    env = {**os.environ, "PYTHONPATH": tree}
    out = subprocess.run([sys.executable, str(script), "--users", str(users), "--tmp", work], env=env, check=True,
                         capture_output=True, text=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _tree(rev: str, work: str) -> str:
    """A directory holding ``rev``'s files (git archive), or ``rev`` itself when it is a directory."""
    import subprocess
    from pathlib import Path

    if Path(rev).is_dir():
        return rev
    target = Path(work) / f"tree-{rev.replace('/', '_')}"
    target.mkdir(parents=True, exist_ok=True)
    root = Path(__file__).resolve().parents[1]
    archive = subprocess.run(["git", "-C", str(root), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return str(target)


def main() -> None:
    """PostgreSQL round trips per update over the journey /start → category → model → prompt → launch, per step,
    for this tree and each ``--before`` revision (or directory), measured the same way in the same run."""
    import argparse
    import tempfile
    from pathlib import Path

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--users", type=int, default=20, help="journeys (each a new user)")
    parser.add_argument("--before", action="append", default=[], help="a git revision or a directory to compare")
    parser.add_argument("--statements", action="store_true", help="list this tree's statements per step")
    args = parser.parse_args()
    here = str(Path(__file__).resolve().parents[1])
    with tempfile.TemporaryDirectory(prefix="pgcount-") as work:
        runs = [(rev, _journey(_tree(rev, work), args.users, f"{work}/{index}"))
                for index, rev in enumerate(args.before)]
        runs.append(("this tree", _journey(here, args.users, f"{work}/here")))
    print(f"PostgreSQL round trips per update (statements + BEGIN/COMMIT), {args.users} journeys, each a new user")
    print(f"{'tree':<14}" + "".join(f"{step:>10}" for step in STEPS) + f"{'per update':>12}{'job':>8}")
    for name, run in runs:
        row = "".join(f"{run['per_step'][step]:>10.2f}" for step in STEPS)
        print(f"{name:<14}{row}{run['per_update']:>12.2f}{run['job_per_journey']:>8.2f}")
    print("job: the launched job's own round trips (submit, poll, deliver), per journey, not in per update")
    if args.statements:
        by_step = runs[-1][1].get("by_step_sql", {})
        for step in STEPS:
            print(f"\n{step}:")
            for sql, calls in sorted(by_step.get(step, {}).items(), key=lambda item: -item[1]):
                if sql.startswith("[job "):
                    continue  # the launched job's own calls, made while the step was waited for
                print(f"  {calls / args.users:5.2f}  {sql}")


if __name__ == "__main__":
    main()
