"""Webhook acknowledgement latency: the bot (main_render.py, webhook mode) against a bare aiohttp server.

    python bench/ack_latency.py [--n 1000] [--rate 100] [--concurrency 8] [--start-share 0.2]
                                [--targets bare,postgres,json]

The same N valid updates (distinct update_ids; edited_message updates the bot stores and ignores, plus a share of
/start messages from distinct new users, which the bot really processes meanwhile: user, welcome credit, menu
sent to the fake Bot API) are posted at a fixed rate R/s by C concurrent keep-alive connections (aiohttp client,
loopback) to each target in turn:

- bare: bench/bare_server.py, a handler that only reads the body and answers 200 (the floor);
- postgres: main_render.py with DATABASE_URL = a throwaway database (dropped afterwards);
- json: main_render.py with JSON files in a temporary DATA_DIR.

Every target runs as a subprocess, like in production: the server gets a core of its own instead of sharing one
event loop with the load generator and the fake Bot API (which would add their CPU time to every ack). The ack
time is from the request's start to the full response. "late" is how far the generator fell behind its schedule
(all C connections busy): when it is not ~0, the offered rate was not achieved.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402

from bench.common import (  # noqa: E402
    ACK_LIMIT_MS, SECRET_HEADER, SECRET_PATH, SECRET_TOKEN, Summary, TimedBotApi, base_env, cpu_seconds, free_port,
    ratio, start_process, stop_process, throwaway_database, wait_healthy,
)
from entrypoints.smoke_checks import user_json  # noqa: E402

UPDATE_BASE = 700_000_000
USER_BASE = 5_000_000


def make_updates(n: int, start_share: float) -> list[tuple[bytes, int | None]]:
    """(body, user id of a /start or None) for each update; ids are distinct and increasing."""
    every = max(1, round(1 / start_share)) if start_share > 0 else 0
    now = int(time.time())
    updates = []
    for i in range(n):
        update_id = UPDATE_BASE + i
        if every and i % every == 0:
            user = USER_BASE + i
            message = {"message_id": 1, "date": now, "text": "/start", "chat": {"id": user, "type": "private"},
                       "from": user_json(user)}
            updates.append((json.dumps({"update_id": update_id, "message": message}).encode(), user))
        else:
            message = {"message_id": 10 + i, "date": now, "edit_date": now, "text": "edited",
                       "chat": {"id": 1, "type": "private"}, "from": user_json(1)}
            updates.append((json.dumps({"update_id": update_id, "edited_message": message}).encode(), None))
    return updates


@dataclass
class Run:
    target: str
    acks: Summary
    late: Summary
    statuses: dict[int, int]
    cpu_ms_per_update: float | None
    processed: str


async def blast(port: int, updates: list[tuple[bytes, int | None]], rate: float, concurrency: int
                ) -> tuple[list[float], list[float], dict[int, int]]:
    """Post every update once at ``rate``/s over ``concurrency`` connections; ack and lateness times in ms."""
    url = f"http://127.0.0.1:{port}/webhook/{SECRET_PATH}"
    headers = {SECRET_HEADER: SECRET_TOKEN, "Content-Type": "application/json"}
    acks: list[float] = []
    late: list[float] = []
    statuses: dict[int, int] = {}
    next_index = iter(range(len(updates)))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as http:
        t0 = time.perf_counter() + 0.05

        async def worker() -> None:
            for i in next_index:
                due = t0 + i / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                started = time.perf_counter()
                try:
                    async with http.post(url, data=updates[i][0], headers=headers) as response:
                        await response.read()
                        status = response.status
                except (aiohttp.ClientError, TimeoutError):
                    status = 0
                acks.append((time.perf_counter() - started) * 1000)
                late.append(max(0.0, started - due) * 1000)
                statuses[status] = statuses.get(status, 0) + 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return acks, late, statuses


async def warm_up(port: int, count: int) -> None:
    if count:
        warm = [(json.dumps({"update_id": UPDATE_BASE - 1 - i, "edited_message": {
            "message_id": 1, "date": 0, "text": "w", "chat": {"id": 1, "type": "private"}, "from": user_json(1)}}).encode(),
            None) for i in range(count)]
        await blast(port, warm, rate=50, concurrency=2)


async def measure(target: str, api: TimedBotApi, updates: list[tuple[bytes, int | None]], args: argparse.Namespace,
                  workdir: Path, dsn: str | None) -> Run:
    port = free_port()
    log = workdir / f"{target}.log"
    if target == "bare":
        process = await start_process("bench/bare_server.py", base_env(api, port), log, str(port))
        processes_updates = False
    else:
        extra = {"DATABASE_URL": dsn} if target == "postgres" else {"DATA_DIR": str(workdir / "json-data")}
        process = await start_process("main_render.py", base_env(api, port, **extra), log)
        processes_updates = True
    try:
        await wait_healthy(port, active=True, process=process)
        await warm_up(port, args.warmup)
        cpu_before = cpu_seconds(process.pid)
        acks, late, statuses = await blast(port, updates, args.rate, args.concurrency)
        cpu = cpu_seconds(process.pid) - cpu_before
        processed = "-"
        if processes_updates:
            processed = await replies_seen(api, [user for _, user in updates if user is not None], timeout=60)
    finally:
        await stop_process(process)
    return Run(target, Summary.of(acks), Summary.of(late), statuses, cpu * 1000 / len(updates), processed)


async def replies_seen(api: TimedBotApi, users: list[int], timeout: float) -> str:
    """Wait until every /start user got the menu (the bot really processed them); "k/n users answered"."""
    deadline = time.perf_counter() + timeout
    while True:
        answered = sum(1 for user in users if api.by_chat.get(user))
        if answered == len(users) or time.perf_counter() > deadline:
            return f"{answered}/{len(users)} /start answered"
        await asyncio.sleep(0.1)


def report(runs: list[Run], args: argparse.Namespace) -> int:
    print(f"\nN={args.n} updates at {args.rate:g}/s over {args.concurrency} connections; "
          f"{args.start_share:.0%} are /start from new users\n")
    print(f"{'target':<9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'late max':>9} {'cpu ms/upd':>10}  statuses / processing")
    for run in runs:
        cpu = f"{run.cpu_ms_per_update:.2f}" if run.cpu_ms_per_update is not None else "-"
        print(f"{run.target:<9} {run.acks.p50:>8.2f} {run.acks.p99:>8.2f} {run.acks.max:>8.2f} {run.late.max:>9.1f} "
              f"{cpu:>10}  {run.statuses} {run.processed}")
    bare = next((run for run in runs if run.target == "bare"), None)
    failed = False
    for run in runs:
        if run.target == "bare":
            continue
        if bare is not None:
            print(f"ratio {run.target}/bare: p50 {ratio(run.acks.p50, bare.acks.p50)}, "
                  f"p99 {ratio(run.acks.p99, bare.acks.p99)}, max {ratio(run.acks.max, bare.acks.max)}")
        ok = run.acks.p99 < ACK_LIMIT_MS and set(run.statuses) == {200}
        failed |= not ok
        print(f"{'PASS' if ok else 'FAIL'} {run.target}: p99 {run.acks.p99:.1f} ms vs the runbook's < {ACK_LIMIT_MS:.0f} ms"
              f" (max {run.acks.max:.1f} ms), all 200: {set(run.statuses) == {200}}")
    return 1 if failed else 0


async def main_async(args: argparse.Namespace) -> int:
    updates = make_updates(args.n, args.start_share)
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    runs = []
    with tempfile.TemporaryDirectory(prefix="trt-bench-ack-") as directory:
        workdir = Path(directory)
        async with TimedBotApi() as api:
            for target in targets:
                if target == "postgres":
                    async with throwaway_database() as dsn:
                        runs.append(await measure(target, api, updates, args, workdir, dsn))
                else:
                    runs.append(await measure(target, api, updates, args, workdir, None))
                print(f"{target}: acks {runs[-1].acks.line()}  {runs[-1].processed}", flush=True)
    return report(runs, args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="updates per target")
    parser.add_argument("--rate", type=float, default=100.0, help="updates per second offered")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent connections")
    parser.add_argument("--start-share", type=float, default=0.2, help="share of /start updates from new users")
    parser.add_argument("--warmup", type=int, default=20, help="harmless updates before measuring")
    parser.add_argument("--targets", default="bare,postgres,json")
    return asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
