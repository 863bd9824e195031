"""Reply latency through the leader vs through a worker: two bot processes on one PostgreSQL database, webhooks
posted to both in the same run, interleaved.

    python bench/active_latency.py [--users 8] [--requests 25] [--think 0.05] [--root DIR]

Two bench/bot_process.py processes (main_render.py's wiring) share a throwaway database and one fake Bot API
(TimedBotApi); the first started holds the leader lock, the second is a worker (on code before issue #17: a
passive instance that only stores, the leader picking the update up on its next inbox read). --users users
each send --requests /start messages one after another (waiting for each reply, then --think seconds); a user's
k-th message goes to the leader or the worker in turn, so both see the same load at the same time. The reply
latency is from the start of the POST to the first Bot API call the bot made for that chat afterwards.

Printed: p50/p99 of the reply latency via the leader and via the worker, the ratio worker / leader (the
target: within 1.3x), the ack p50 of both, and how many requests got no reply within --timeout. --root runs
another checkout's bench/bot_process.py (its own code), e.g. a `git worktree` of main for a before/after.
Outbound pacing is off (Telegram's limits would measure Telegram, not the bot). All on loopback, bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402

from bench.common import (  # noqa: E402
    ROOT, SECRET_HEADER, SECRET_PATH, SECRET_TOKEN, Summary, TimedBotApi, base_env, free_port, health, stop_process,
    throwaway_database, wait_healthy,
)
from entrypoints.smoke_checks import user_json  # noqa: E402

USER_BASE = 7_100_000


class Target:
    def __init__(self, name: str, port: int) -> None:
        self.name, self.port = name, port
        self.reply_ms: list[float] = []
        self.ack_ms: list[float] = []
        self.missed = 0


async def spawn(root: Path, env: dict[str, str], log_path: Path) -> asyncio.subprocess.Process:
    log = open(log_path, "ab")  # noqa: SIM115 - the child keeps its own copy
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable, "bench/bot_process.py", cwd=root, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=log,
        )
    finally:
        log.close()


def start_update(user: int, update_id: int) -> bytes:
    message = {"message_id": update_id, "date": int(time.time()), "text": "/start",
               "chat": {"id": user, "type": "private"}, "from": user_json(user)}
    return json.dumps({"update_id": update_id, "message": message}).encode()


async def one_request(http: aiohttp.ClientSession, api: TimedBotApi, target: Target, user: int, update_id: int,
                      timeout: float) -> None:
    url = f"http://127.0.0.1:{target.port}/webhook/{SECRET_PATH}"
    headers = {SECRET_HEADER: SECRET_TOKEN, "Content-Type": "application/json"}
    started = time.perf_counter()
    async with http.post(url, data=start_update(user, update_id), headers=headers) as response:
        await response.read()
        status = response.status
    target.ack_ms.append((time.perf_counter() - started) * 1000)
    if status != 200:
        target.missed += 1
        return
    replied = await api.wait_until(user, lambda: api.first_reply_after(user, started), timeout)
    if replied is None:
        target.missed += 1
    else:
        target.reply_ms.append((replied - started) * 1000)


async def user_loop(http, api, targets: list[Target], user: int, ids, args: argparse.Namespace) -> None:
    for k in range(args.requests):
        await one_request(http, api, targets[(user + k) % 2], user, next(ids), args.timeout)
        await asyncio.sleep(args.think)


async def run(args: argparse.Namespace) -> int:
    root = Path(args.root).resolve() if args.root else ROOT
    workdir = Path(tempfile.mkdtemp(prefix="active-latency-"))
    async with AsyncExitStack() as stack:
        api = await stack.enter_async_context(TimedBotApi())
        dsn = await stack.enter_async_context(throwaway_database())
        processes, targets = [], []
        for name in ("leader", "worker"):
            port = free_port()
            env = base_env(api, port, DATABASE_URL=dsn, INSTANCE_ID=name, BENCH_TELEGRAM_LIMITS="off",
                           LOG_LEVEL=args.log_level, LOCK_RETRY_SECONDS="1",
                           RATE_LIMIT_BURST="1000", RATE_LIMIT_PER_SECOND="1000")  # the limiter is not measured here
            process = await spawn(root, env, workdir / f"{name}.log")
            processes.append(process)
            await wait_healthy(port, active=None, process=process)
            targets.append(Target(name, port))
        try:
            await asyncio.sleep(1.0)  # the first one has taken the lock by now
            roles = [await health(t.port) for t in targets]
            print("instances:", ", ".join(f"{t.name}: mode={b.get('mode')} lock={b.get('lock_acquired')} role={b.get('role')}"
                                          for t, b in zip(targets, roles) if b))
            if not roles[0] or not roles[0].get("lock_acquired"):
                print("the first instance does not hold the lock; see", workdir)
                return 1
            ids = iter(range(900_000_000, 901_000_000))
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
                for n in range(2):  # warm both: pools, prepared statements, PTB's client
                    await one_request(http, api, targets[n], USER_BASE - 1 - n, next(ids), args.timeout)
                for target in targets:
                    target.reply_ms.clear(), target.ack_ms.clear()
                started = time.perf_counter()
                await asyncio.gather(*(user_loop(http, api, targets, USER_BASE + u, ids, args)
                                       for u in range(args.users)))
                seconds = time.perf_counter() - started
        finally:
            for process in reversed(processes):
                await stop_process(process)
    return report(targets, args, seconds, root)


def report(targets: list[Target], args: argparse.Namespace, seconds: float, root: Path) -> int:
    leader, worker = targets
    print(f"\ncode: {root}; {args.users} users x {args.requests} /start each, alternating leader/worker; "
          f"{seconds:.1f} s")
    for target in targets:
        print(f"  via {target.name:<6}: reply {Summary.of(target.reply_ms).line()}  "
              f"ack p50={Summary.of(target.ack_ms).p50:.1f} ms  no reply: {target.missed}")
    lead, work = Summary.of(leader.reply_ms), Summary.of(worker.reply_ms)
    p50_ratio, p99_ratio = work.p50 / lead.p50, work.p99 / lead.p99
    print(f"  worker / leader: p50 {p50_ratio:.2f}x  p99 {p99_ratio:.2f}x  (target <= 1.3x)")
    return 0 if leader.missed == worker.missed == 0 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--requests", type=int, default=25)
    parser.add_argument("--think", type=float, default=0.05, help="seconds between a reply and the next message")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for a reply")
    parser.add_argument("--root", help="run this checkout's bot (default: this one)")
    parser.add_argument("--log-level", default="WARNING")
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
