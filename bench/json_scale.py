"""JSON storage at scale: webhook acks, CPU per update and RSS with 100 … 100,000 users already stored, for two
checkouts of the code in one run (before: a worktree of an older commit; after: this one).

    git worktree add /tmp/json-before ee76652      # the code before the journal
    python bench/json_scale.py [--before /tmp/json-before] [--users 100,1000,10000,100000]
                               [--n 500] [--rate 50] [--concurrency 8]

For each user count a state.json is generated once (this checkout's json_state.State; the document format is
the same in both): every user has a welcome credit, a payment and one delivered paid job, about 1.2 KB a user,
like the 5,000-user state measured in issue 14 (6.2 MB). Each code then starts (main_render.py, webhook mode,
DATA_DIR = a copy of that directory) as a subprocess, takes a short warm-up, and gets the same N updates at a
fixed rate (bench/ack_latency.py's driver: 20 % /start from new users, which the bot really processes: user,
welcome credit, menu; the rest edited messages it stores and ignores). Reported per run: ack p50/p99/max,
CPU ms per update (the process's user+system time from the first update until every /start was answered or
``--drain`` seconds passed, divided by N), RSS at the end and its peak (VmHWM), and how many /start were
answered. The machine is shared (2 cores, other work running): compare ratios within one run, not absolutes.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.storage.json_state import State  # noqa: E402
from bench.ack_latency import blast, make_updates, replies_seen, warm_up  # noqa: E402
from bench.common import (  # noqa: E402
    ROOT, Summary, TimedBotApi, base_env, cpu_seconds, free_port, machine_busy, rss_kib, stop_process, wait_healthy,
)
from adapters.storage.entity_codec import encode  # noqa: E402
from core import accounts  # noqa: E402
from ports.model import Account, Job, JobState, User  # noqa: E402

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
# --compact-bytes: the bot with a journal compacted every N bytes whatever the snapshot's size, to measure acks
# while the compaction child folds a large snapshot.
COMPACTING_BOT = """
import runpy, sys
from adapters.storage import json_file
json_file.COMPACT_MIN_BYTES, json_file.COMPACT_RATIO = int(sys.argv[1]), 0.0
sys.argv = ["main_render.py"]
runpy.run_path("main_render.py", run_name="__main__")
"""


@dataclass
class Row:
    code: str
    users: int
    state_mb: float
    start_s: float
    acks: Summary
    cpu_ms: float
    rss_mb: float
    peak_mb: float
    answered: str
    machine_busy: float


def preload(users: int, directory: Path) -> float:
    """Write ``directory/state.json`` with ``users`` users; its size in MB."""
    state = State.empty()
    for user in range(1, users + 1):  # the rows core/cashier.py writes: welcome credit, a payment, a paid job
        job = Job(
            id=f"j{user}", user_id=user, chat_id=user, model_id="flux-2/pro-text-to-image",
            input={"prompt": "a cat on a red sofa, studio light"}, price=30, state=JobState.DELIVERED,
            created_at=NOW, updated_at=NOW, deadline_at=NOW + timedelta(minutes=10), language="ru",
            result_urls=("https://tempfile.example/abc/result-1.png",),
        )
        rows: list[tuple[str, str, object]] = [("users", "add", User(user, NOW, None, "ru", f"user{user}", "Name"))]
        account = Account(user)
        for move in (lambda a: accounts.credit(a, 100, f"welcome:{user}", "welcome", NOW),
                     lambda a: accounts.credit(a, 500, f"pay:{user}", "payment", NOW),
                     lambda a: accounts.debit(a, 30, f"launch:{job.id}", "launch", NOW)):
            movement = move(account)
            account = movement.account
            rows += [("ledger", "add", entry) for entry in movement.entries]
        rows += [("accounts", "put", account), ("jobs", "add", job)]
        state.apply([[table, kind, list(encode(value).values())] for table, kind, value in rows])
    directory.mkdir(parents=True, exist_ok=True)
    data = state.dump()
    (directory / "state.json").write_bytes(data)
    return len(data) / 1e6


async def run(code: Path, label: str, users: int, state_mb: float, seed: Path, workdir: Path,
              args: argparse.Namespace) -> Row:
    data_dir = workdir / f"{label}-{users}"
    shutil.copytree(seed, data_dir)
    updates = make_updates(args.n, 0.2)
    starters = [user for _, user in updates if user is not None]
    async with TimedBotApi() as api:
        port = free_port()
        log = open(workdir / f"{label}-{users}.log", "ab")  # noqa: SIM115 - the child has its own copy
        try:
            command = ["main_render.py"]
            if label == "after" and args.compact_bytes:
                command = ["-c", COMPACTING_BOT, str(args.compact_bytes)]
            process = await asyncio.create_subprocess_exec(
                sys.executable, *command, cwd=code, env=base_env(api, port, DATA_DIR=str(data_dir)),
                stdout=asyncio.subprocess.DEVNULL, stderr=log)
        finally:
            log.close()
        try:
            started = time.perf_counter()
            await wait_healthy(port, active=True, process=process, timeout=600)
            start_s = time.perf_counter() - started
            await warm_up(port, args.warmup)
            cpu_before, (busy_before, total_before) = cpu_seconds(process.pid), machine_busy()
            acks, _, statuses = await blast(port, updates, args.rate, args.concurrency)
            answered = await replies_seen(api, starters, timeout=args.drain)
            cpu = cpu_seconds(process.pid) - cpu_before
            busy_after, total_after = machine_busy()
            rss, peak = rss_kib(process.pid), rss_kib(process.pid, "VmHWM")
        finally:
            await stop_process(process)
    if set(statuses) != {200}:
        answered += f" statuses {statuses}"
    busy = (busy_after - busy_before) / max(total_after - total_before, 1e-9)
    return Row(label, users, state_mb, start_s, Summary.of(acks), cpu * 1000 / args.n, rss / 1024, peak / 1024,
               answered.replace(" /start answered", ""), busy)


def table(rows: list[Row]) -> str:
    lines = ["| code | users | state.json MB | start s | ack p50 ms | ack p99 ms | ack max ms | CPU ms/update "
             "| RSS MB (peak) | /start answered | machine busy |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    for r in rows:
        lines.append(f"| {r.code} | {r.users:,} | {r.state_mb:.1f} | {r.start_s:.1f} | {r.acks.p50:.1f} | "
                     f"{r.acks.p99:.1f} | {r.acks.max:.1f} | {r.cpu_ms:.2f} | {r.rss_mb:.0f} ({r.peak_mb:.0f}) | "
                     f"{r.answered} | {r.machine_busy:.0%} |")
    return "\n".join(lines)


def verdict(rows: list[Row]) -> list[str]:
    after = sorted((r for r in rows if r.code == "after"), key=lambda r: r.users)
    if len(after) < 2:
        return []
    low, high = after[0], after[-1]
    return [
        f"after: CPU/update {high.users:,} vs {low.users:,} users: {high.cpu_ms / low.cpu_ms:.2f}x (target <= 1.5x)",
        f"after: ack p99 {high.users:,} vs {low.users:,} users: {high.acks.p99 / low.acks.p99:.2f}x (target <= 1.5x)",
        f"after: ack p99 at {high.users:,} users: {high.acks.p99:.1f} ms (target < 20 ms)",
    ]


async def main_async(args: argparse.Namespace) -> int:
    codes = [("after", ROOT)] + ([("before", Path(args.before))] if args.before else [])
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="trt-bench-json-scale-") as directory:
        workdir = Path(directory)
        for users in (int(u) for u in args.users.split(",")):
            seed = workdir / f"seed-{users}"
            state_mb = await asyncio.to_thread(preload, users, seed)
            for label, code in codes:
                if label == "before" and users > args.before_max_users:
                    continue
                row = await run(code, label, users, state_mb, seed, workdir, args)
                rows.append(row)
                print(table([row]).splitlines()[-1], flush=True)
                shutil.rmtree(workdir / f"{label}-{users}", ignore_errors=True)
            shutil.rmtree(seed, ignore_errors=True)
    print(f"\nN={args.n} updates at {args.rate:g}/s over {args.concurrency} connections, 20% /start\n")
    print(table(rows))
    for line in verdict(rows):
        print(line)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default="", help="a checkout of the code before (a git worktree)")
    parser.add_argument("--before-max-users", type=int, default=10**9, help="skip larger sizes for before")
    parser.add_argument("--users", default="100,1000,10000,100000")
    parser.add_argument("--n", type=int, default=500, help="updates per run")
    parser.add_argument("--rate", type=float, default=50.0, help="updates per second offered")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--compact-bytes", type=int, default=0,
                        help="after: compact each journal every N bytes (0: the default, journal >= snapshot)")
    parser.add_argument("--drain", type=float, default=60.0, help="seconds to wait for the /start answers")
    return asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
