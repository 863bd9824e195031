"""Chaos run (not part of CI): sustained journeys against TWO main_render.py processes sharing one PostgreSQL
database, one fake Bot API and one fake KIE server, while the active instance is, in turns, killed with -9 or
stopped with SIGTERM, and restarted.

    python bench/chaos.py [--users 12] [--duration 50] [--turn 8] [--dup-share 0.1] [--seed 1] [--keep]

- Users do journeys back to back (/start → category → Z-Image → prompt → 🚀 Запустить → picture); a step with no
  answer within --step-timeout abandons the journey and the user starts again with /start.
- Webhooks go to either instance at random, like a load balancer; a 503 or a connection error is retried with
  backoff (Telegram does the same) until --post-deadline.
- A share (--dup-share) of acknowledged updates is posted again later with the same update_id, as Telegram
  redelivers (Stars payments see this most): it must not be answered twice.
- Every --turn seconds the active instance (per /health) gets SIGKILL (odd turns) or SIGTERM (even turns), then is
  started again on the same port after --restart-delay.

Afterwards (load stopped, inbox drained, jobs settled, both stopped with SIGTERM) bench/chaos_checks.py verifies
from the database and the fakes: every acknowledged update processed and answered exactly once (repeats across a
kill -9 are reported as the documented at-least-once case), every job delivered or refunded with its picture sent,
ledger sums equal balances, no negative balance, one debit per job, clean SIGTERM exits. PASS/FAIL per check;
exit status 1 on any failure. Instance logs are kept with --keep or on failure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402
import asyncpg  # noqa: E402

from adapters.kie.fake_server import FakeKieServer  # noqa: E402
from bench.chaos_checks import Verdicts, check_answers, check_database  # noqa: E402
from bench.common import (  # noqa: E402
    SECRET_HEADER, SECRET_PATH, SECRET_TOKEN, Summary, TimedBotApi, base_env, free_port, health, start_process,
    throwaway_database, wait_healthy,
)
from bench.journey import Recorder, User  # noqa: E402

USER_BASE = 9_000_000


@dataclass
class Node:
    name: str
    port: int
    env: dict[str, str]
    log: Path
    process: Any = None
    starts: int = 0

    async def start(self) -> None:
        self.process = await start_process("main_render.py", self.env, self.log)
        self.starts += 1

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None


@dataclass
class Storm:
    kills: list[float] = field(default_factory=list)  # perf_counter of every SIGKILL
    events: list[str] = field(default_factory=list)
    exit_codes: list[tuple[str, int]] = field(default_factory=list)  # (signal, exit code)
    takeovers: dict[str, list[float]] = field(default_factory=lambda: {"kill9": [], "sigterm": []})
    attempts: dict[str, int] = field(default_factory=dict)  # status of every webhook attempt (0 = connection error)


class Balancer:
    """Posts an update to a random instance; retries 503s and connection errors with backoff, like Telegram."""

    def __init__(self, http: aiohttp.ClientSession, nodes: list[Node], storm: Storm, recorder: Recorder,
                 deadline: float, rng: random.Random) -> None:
        self.http, self.nodes, self.storm, self.recorder, self.deadline, self.rng = http, nodes, storm, recorder, deadline, rng
        self.posted: dict[int, dict[str, Any]] = {}

    async def post(self, update: dict[str, Any]) -> int:
        body, headers = json.dumps(update).encode(), {SECRET_HEADER: SECRET_TOKEN, "Content-Type": "application/json"}
        started = time.perf_counter()
        status, attempt = 0, 0
        while time.perf_counter() - started < self.deadline:
            node = self.rng.choice(self.nodes)
            try:
                async with self.http.post(f"http://127.0.0.1:{node.port}/webhook/{SECRET_PATH}", data=body,
                                          headers=headers) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            self.storm.attempts[str(status)] = self.storm.attempts.get(str(status), 0) + 1
            if status == 200:
                self.recorder.ack_ms.append((time.perf_counter() - started) * 1000)
                self.posted.setdefault(update["update_id"], update)
                return 200
            if status not in (0, 502, 503, 504):
                return status
            await asyncio.sleep(min(0.1 * 2**attempt, 2.0) * self.rng.uniform(0.5, 1.0))
            attempt += 1
        return status


async def active_node(nodes: list[Node]) -> Node | None:
    for node in nodes:
        body = await health(node.port) if node.alive else None
        if body and body.get("lock_acquired"):  # the leader (every instance is "active" since issue 17)
            return node
    return None


async def leads(node: Node, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not ((await health(node.port)) or {}).get("lock_acquired"):
            await asyncio.sleep(0.05)


async def chaos(nodes: list[Node], storm: Storm, args: argparse.Namespace, end: float) -> None:
    turn = 0
    while time.perf_counter() + args.turn < end:
        await asyncio.sleep(args.turn)
        victim = await active_node(nodes)
        if victim is None:
            storm.events.append(f"{time.perf_counter() - end + args.duration:6.1f}s no active instance found; turn skipped")
            continue
        other = next(n for n in nodes if n is not victim)
        kind = "kill9" if turn % 2 == 0 else "sigterm"
        hit = time.perf_counter()
        if kind == "kill9":
            victim.process.kill()
            storm.kills.append(hit)
        else:
            victim.process.terminate()
        code = await asyncio.wait_for(victim.process.wait(), 60)
        storm.exit_codes.append((kind, code))
        try:
            await leads(other, timeout=30)
            storm.takeovers[kind].append(time.perf_counter() - hit)
            taken = f"{other.name} active after {storm.takeovers[kind][-1]:.2f} s"
        except TimeoutError:
            taken = f"{other.name} NOT active within 30 s"
        storm.events.append(f"{hit - end + args.duration:6.1f}s {kind} {victim.name} (exit {code}); {taken}")
        await asyncio.sleep(args.restart_delay)
        await victim.start()
        await wait_healthy(victim.port, active=None, timeout=30, process=victim.process)
        turn += 1


async def settle(dsn: str, timeout: float) -> str:
    """Wait until the inbox is drained and every job has finished; what is left."""
    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.perf_counter() + timeout
        while True:
            pending = await conn.fetchval("SELECT count(*) FROM inbox WHERE done_at IS NULL")
            running = await conn.fetchval("SELECT count(*) FROM jobs WHERE state NOT IN ('delivered', 'refunded')")
            if (pending == 0 and running == 0) or time.perf_counter() > deadline:
                return f"inbox pending {pending}, jobs unfinished {running}"
            await asyncio.sleep(0.5)
    finally:
        await conn.close()


async def run(args: argparse.Namespace, workdir: Path) -> int:
    rng = random.Random(args.seed)
    storm, recorder = Storm(), Recorder()
    async with throwaway_database() as dsn, TimedBotApi() as api, FakeKieServer(speed=args.kie_speed, rate_limit=10**6) as kie:
        common = {"DATABASE_URL": dsn, "KIE_API_KEY": kie.api_key, "KIE_API_BASE_URL": kie.api_base_url,
                  "KIE_UPLOAD_BASE_URL": kie.upload_base_url, "LOCK_RETRY_SECONDS": str(args.lock_retry),
                  "SHUTDOWN_GRACE_S": str(args.grace)}
        nodes = []
        for name in ("a", "b"):
            port = free_port()
            nodes.append(Node(name, port, base_env(api, port, INSTANCE_ID=name, **common), workdir / f"{name}.log"))
        for node in nodes:
            await node.start()
            await wait_healthy(node.port, active=None, process=node.process)
        await wait_healthy(nodes[0].port, active=True)
        connector = aiohttp.TCPConnector(limit=80)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=10)) as http:
            balancer = Balancer(http, nodes, storm, recorder, args.post_deadline, rng)
            resent: set[int] = set()
            resends: list[asyncio.Task[int]] = []

            async def post(update: dict[str, Any]) -> int:
                status = await balancer.post(update)
                if status == 200 and rng.random() < args.dup_share and update["update_id"] not in resent:
                    resent.add(update["update_id"])
                    resends.append(asyncio.create_task(resend(update)))
                return status

            async def resend(update: dict[str, Any]) -> int:
                await asyncio.sleep(rng.uniform(0.2, 3.0))
                return await balancer.post(update)

            start = time.perf_counter()
            end = start + args.duration

            async def user_loop(uid: int) -> None:
                user, n = User(api, post, recorder, uid, args.step_timeout, tag=True), 0
                while time.perf_counter() < end:
                    n += 1
                    await user.journey(f"c{uid}x{n}")

            storm_task = asyncio.create_task(chaos(nodes, storm, args, end))
            await asyncio.gather(*(user_loop(USER_BASE + u) for u in range(args.users)))
            await storm_task
            await asyncio.gather(*resends)
            for node in nodes:  # a turn may have left one down
                if not node.alive:
                    await node.start()
            left = await settle(dsn, args.settle)
            load_seconds = time.perf_counter() - start
        stops = []
        for node in nodes:
            node.process.terminate()
            stops.append(("final sigterm", await asyncio.wait_for(node.process.wait(), 60)))
        storm.exit_codes += stops
        v = Verdicts()
        check_answers(api, balancer.posted, resent, storm.kills, v)
        counts = await check_database(dsn, api, balancer.posted, storm.kills, v)
        sigterm_codes = [code for kind, code in storm.exit_codes if kind != "kill9"]
        v.add("SIGTERM exits 0", all(code == 0 for code in sigterm_codes), f"exit codes {sigterm_codes}")
        creates = len(kie.requests_to("createTask"))
    print(f"\nchaos: {args.users} users for {args.duration:g} s (+ settle), turn every {args.turn:g} s; "
          f"LOCK_RETRY_SECONDS={args.lock_retry:g}, SHUTDOWN_GRACE_S={args.grace:g}; {load_seconds:.1f} s in all")
    for line in storm.events:
        print("  " + line)
    print(f"journeys completed {recorder.journeys}; abandoned at {recorder.stuck or 'none'}; updates acknowledged "
          f"{len(balancer.posted)} (+{len(resent)} posted twice); webhook attempts by status {storm.attempts}")
    print(f"ack incl. retries: {Summary.of(recorder.ack_ms).line()}; reply: {Summary.of(recorder.reply_ms).line()}")
    for kind, times in storm.takeovers.items():
        if times:
            print(f"takeover after {kind}: {', '.join(f'{t:.2f}' for t in times)} s")
    print(f"after settling: {left}; {counts['jobs']} jobs, KIE createTask calls {creates} "
          f"({creates - counts['jobs']:+d} vs jobs: a job re-submitted after a crash between createTask and storing "
          f"its task id)\n")
    for check in v.checks:
        print(check.line())
    for note in v.notes:
        print("note: " + note)
    failed = [c for c in v.checks if not c.ok]
    print(f"\n{len(v.checks) - len(failed)}/{len(v.checks)} checks passed")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=12)
    parser.add_argument("--duration", type=float, default=50.0, help="seconds of load")
    parser.add_argument("--turn", type=float, default=8.0, help="seconds between two hits on the active instance")
    parser.add_argument("--restart-delay", type=float, default=1.0)
    parser.add_argument("--dup-share", type=float, default=0.1, help="share of acknowledged updates posted twice")
    parser.add_argument("--kie-speed", type=float, default=2.0, help="fake KIE: a 4 s image takes 4/speed s")
    parser.add_argument("--lock-retry", type=float, default=0.5, help="LOCK_RETRY_SECONDS of both instances")
    parser.add_argument("--grace", type=float, default=5.0, help="SHUTDOWN_GRACE_S of both instances")
    parser.add_argument("--step-timeout", type=float, default=30.0, help="seconds a user waits for a screen")
    parser.add_argument("--post-deadline", type=float, default=60.0, help="seconds a webhook post is retried")
    parser.add_argument("--settle", type=float, default=90.0, help="seconds to wait for inbox and jobs to finish")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the instance logs")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="trt-chaos-"))
    code = 1
    try:
        code = asyncio.run(run(args, workdir))
    finally:
        if code == 0 and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"instance logs kept in {workdir}")
    return code


if __name__ == "__main__":
    sys.exit(main())
