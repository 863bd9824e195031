"""Chaos run (not part of CI): bot instances on one throwaway PostgreSQL database under steady load, killed and
restarted in turns, then checked; and, first, the same load against 1, 2 and 3 instances without kills.

    python bench/chaos.py [--quick] [--phases scale,burst,chaos] [--users 12] [--duration 75] [--turn 8] [--seed 1] [--keep]

Everything runs on loopback: the fake Bot API (bench/common.py's TimedBotApi, which timestamps every call; the bench
posts the webhooks as Telegram would), the fake KIE server (adapters/kie/fake_server, with KIE's real budget of
20 createTask per 10 s, each call timestamped), and the instances as subprocesses.

Scale (bench/chaos_scale.py): 1, 2, 3 instances of bench/bot_process.py, webhooks spread at random over all of
them, users browsing to the launch screen and topping up. Reported: updates answered per second, reply latency
for updates posted to the leader vs to the others (p50/p99 and the ratio), CPU per instance, of this process and
of the machine.

Burst (bench/chaos_burst.py): --burst-users (60) launches pressed at once on the instances: KIE's busiest 10 s at
most 20 calls and none refused, every picture delivered, the users beyond the budget told their queue place.

Chaos: --instances (3) main_render.py processes, users doing image journeys with paid launches (bench/journey.py)
and Stars top-ups (a share --topup-share), webhooks spread at random; a connection error or 503 is retried on
another instance, then with backoff (bench/chaos_load.py). Every --turn seconds one instance is hit, cycling
through (kill -9, leader), (SIGTERM, follower), (SIGTERM, leader), (kill -9, follower), and restarted after
--restart-delay. A share (--dup-share) of acknowledged updates is posted again later with the same update_id, as
Telegram redelivers. Afterwards (load stopped, inbox drained, jobs settled, instances stopped with SIGTERM) it
checks (bench/chaos_checks.py, bench/chaos_invariants.py): every acknowledged update answered, and answered once
unless a kill -9 fell in between (such repeats are counted apart: the README's at-least-once case); redeliveries
answered once; every update processed; every job delivered or refunded with its picture sent once; every Stars
payment credited; ledger == balances, running balances, no negative balance, no ledger key twice, one debit per
job, one credit per charge; KIE's busiest 10 s window at most 20 createTask; SIGTERM exits 0. Reported too: the
failover gap of each hit (from the hit to the next answer in each chat that was waiting for one) and the lock
takeover time. PASS/FAIL per check; exit status 1 on any failure. Instance logs are kept with --keep or on failure.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402

from bench.chaos_burst import burst_run  # noqa: E402
from bench.chaos_checks import Answers, check_answers, check_tables, failover_gaps  # noqa: E402
from bench.chaos_cluster import (  # noqa: E402
    CountingKie, Node, RoleWatch, make_nodes, roles, settle, wait_for_leader,
)
from bench.chaos_invariants import Verdicts, busiest_window, check_kie_budget, check_money, load_rows  # noqa: E402
from bench.chaos_load import Balancer, Tally, drive  # noqa: E402
from bench.chaos_logs import dispatch_counts, trace  # noqa: E402
from bench.chaos_scale import cpu_verdicts, scale_series, scale_table  # noqa: E402
from bench.common import Summary, TimedBotApi, cpu_seconds, throwaway_database  # noqa: E402
from bench.journey import Recorder  # noqa: E402

USER_BASE = 9_000_000
KIE_LIMIT, KIE_WINDOW = 20, 10.0
PLAN = [("kill9", "leader"), ("sigterm", "follower"), ("sigterm", "leader"), ("kill9", "follower")]


@dataclass
class Hit:
    at: float
    kind: str
    victim: str
    role: str
    code: int
    takeover: float | None  # seconds until another instance held the lock (a leader hit)


async def storm(nodes: list[Node], args: argparse.Namespace, start: float, end: float, hits: list[Hit],
                events: list[str]) -> None:
    """A hit every --turn seconds on the clock (a restart runs meanwhile: the next victim is one that is up)."""
    restarts: list[asyncio.Task[None]] = []
    turn, slot = 0, 1
    while start + slot * args.turn < end:
        await asyncio.sleep(max(0.0, start + slot * args.turn - time.perf_counter()))
        kind, want = PLAN[turn % len(PLAN)]
        turn += 1
        slot = max(slot + 1, int((time.perf_counter() - start) / args.turn) + 1)  # a slow hit skips missed slots
        current = await roles(nodes)
        victim = next((n for n in nodes if n.alive and current[n.name] == want), None)
        if victim is None:
            events.append(f"{time.perf_counter() - start:6.1f}s no {want} up: turn skipped ({current})")
            continue
        at = time.perf_counter()
        code = await victim.hit(kind, timeout=args.grace + 15)
        takeover = None
        if want == "leader":
            successor = await wait_for_leader(nodes, 30, exclude=victim)
            takeover = time.perf_counter() - at if successor else None
        hits.append(Hit(at, kind, victim.name, want, code, takeover))
        exited = f"exit {code}" if code != -999 else f"STILL RUNNING {args.grace + 15:g} s later: killed (-9)"
        events.append(f"{at - start:6.1f}s {kind} {victim.name} ({want}), {exited}"
                      + (f"; lock taken over after {takeover:.2f} s" if takeover is not None
                         else "; NO takeover within 30 s" if want == "leader" else ""))
        restarts.append(asyncio.create_task(restart(victim, args.restart_delay, start, events)))
    await asyncio.gather(*restarts)


async def restart(node: Node, delay: float, start: float, events: list[str]) -> None:
    await asyncio.sleep(delay)
    begun = time.perf_counter()
    await node.start()
    events.append(f"{begun - start:6.1f}s restarted {node.name}: /health answered after "
                  f"{time.perf_counter() - begun:.1f} s")


def kie_seconds(times: list[float], codes: list[int]) -> str:
    """The busiest 10 s window as calls per second (refused ones in brackets)."""
    _, first = busiest_window(times, KIE_WINDOW)
    cells = []
    for second in range(int(first), int(first + KIE_WINDOW) + 1):
        inside = [code for t, code in zip(times, codes) if second <= t < second + 1]
        refused = sum(1 for code in inside if code == 429)
        cells.append(f"+{second} s: {len(inside)}" + (f" ({refused} 429)" if refused else ""))
    return ", ".join(cells)


async def chaos_run(args: argparse.Namespace, workdir: Path) -> int:
    rng = random.Random(args.seed)
    hits: list[Hit] = []
    events: list[str] = []
    recorder, tally = Recorder(), Tally()
    v = Verdicts()
    async with throwaway_database() as dsn, TimedBotApi() as api, \
            CountingKie(speed=args.kie_speed, rate_limit=KIE_LIMIT, rate_window=KIE_WINDOW) as kie:
        nodes = make_nodes(args.instances, api, kie, dsn, workdir / "chaos", "main_render.py",
                           LOCK_RETRY_SECONDS=str(args.lock_retry), SHUTDOWN_GRACE_S=str(args.grace),
                           RATE_LIMIT_BURST="100", RATE_LIMIT_PER_SECOND="100")
        await asyncio.gather(*(node.start() for node in nodes))
        await wait_for_leader(nodes, 30)
        connector = aiohttp.TCPConnector(limit=100)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=10)) as http, \
                RoleWatch(nodes) as watch:
            balancer = Balancer(http, nodes, watch, rng, args.post_deadline)
            resent: set[int] = set()
            resends: list[asyncio.Task[int]] = []
            plain_post = balancer.post

            async def post(update: dict[str, Any]) -> int:
                status = await plain_post(update)
                if status == 200 and rng.random() < args.dup_share and update["update_id"] not in resent:
                    resent.add(update["update_id"])
                    resends.append(asyncio.create_task(resend(update)))
                return status

            async def resend(update: dict[str, Any]) -> int:
                await asyncio.sleep(rng.uniform(0.2, 3.0))
                return await plain_post(update)

            balancer.post = post  # type: ignore[method-assign]
            cpu0, bench0 = {n.name: n.cpu() for n in nodes}, cpu_seconds()
            start = time.perf_counter()
            end = start + args.duration
            storm_task = asyncio.create_task(storm(nodes, args, start, end, hits, events))
            await drive(api, balancer, recorder, tally, [USER_BASE + u for u in range(args.users)], end, rng,
                        args.topup_share, args.step_timeout)
            await storm_task
            await asyncio.gather(*resends)
            load_seconds = time.perf_counter() - start
            for node in nodes:  # a turn may have left one down
                if not node.alive:
                    await node.start()
            pending, unfinished = await settle(dsn, args.settle)
            cpu1, bench1 = {n.name: n.cpu() for n in nodes}, cpu_seconds()
            total_seconds = time.perf_counter() - start
        stops = [await node.hit("sigterm", timeout=args.grace + 15) for node in nodes]
        kills = [h.at for h in hits if h.kind == "kill9"]
        answers = Answers(api, balancer.posted)
        counts = check_answers(answers, resent, kills, v)
        tables = await check_tables(dsn, api, balancer.posted, kills, v)
        check_money(await load_rows(dsn), v)
        kie_times = [t - start for t in kie.create_at]
        check_kie_budget(kie_times, kie.create_codes, KIE_LIMIT, KIE_WINDOW, v)
        if not v.checks[-1].ok:
            v.notes.append("createTask calls per second, busiest stretch: " + kie_seconds(kie_times, kie.create_codes)
                           + "; hits at " + ", ".join(f"+{h.at - start:.1f} s {h.kind} {h.role}" for h in hits))
        sigterm_codes = [h.code for h in hits if h.kind == "sigterm"] + stops
        v.add("SIGTERM exits 0 within the grace", all(code == 0 for code in sigterm_codes),
              f"exit codes {sigterm_codes} (-999: still running {args.grace + 15:g} s after SIGTERM, then killed)")
        gaps = failover_gaps(answers, [(h.at, h.kind, h.victim, h.role) for h in hits])

    print(f"\n## chaos: {args.instances} instances, {args.users} users, {args.duration:g} s of load, a hit every "
          f"{args.turn:g} s; LOCK_RETRY_SECONDS={args.lock_retry:g}, SHUTDOWN_GRACE_S={args.grace:g}; "
          f"load {load_seconds:.1f} s, settled after {total_seconds:.1f} s (inbox pending {pending}, jobs "
          f"unfinished {unfinished})")
    for line in sorted(events):
        print("  " + line)
    replies: dict[str, list[float]] = {}
    for update_id, p in balancer.posted.items():
        found = answers.of(update_id)
        if found:
            replies.setdefault(p.role, []).append((found[0].at - p.first_at) * 1000)
    print(f"journeys: {recorder.journeys} image (launched, picture received), {tally.topups} top-ups; abandoned "
          f"at {dict(recorder.stuck) or 'none'}; updates acknowledged {len(balancer.posted)} (+{len(resent)} posted "
          f"again); webhook attempts by status {dict(balancer.attempts)}")
    for role, values in sorted(replies.items()):
        print(f"reply to updates acknowledged by a {role if role != 'down' else 'just restarted instance'}: "
              f"{Summary.of(values).line()}")
    processed = dispatch_counts({n.name: n.log for n in nodes})
    print(f"updates processed per instance (DISPATCH lines in its logs, all its lives): {processed}")
    print(f"KIE: {len(kie.create_at)} createTask calls for {tables['jobs']} jobs; CPU over the run (% of a core): "
          + ", ".join(f"{n} {(cpu1[n] - cpu0[n]) / total_seconds * 100:.0f}" for n in cpu0)
          + f", bench process {(bench1 - bench0) / total_seconds * 100:.0f}")
    print("\n| # | at | hit | victim (role) | exit | lock takeover s | chats waiting | failover gap worst / median s |")
    print("|---|---|---|---|---|---|---|---|")
    for i, (hit, gap) in enumerate(zip(hits, gaps), 1):
        takeover = f"{hit.takeover:.2f}" if hit.takeover is not None else "–"
        print(f"| {i} | {hit.at - start:.1f} s | {hit.kind} | {hit.victim} ({hit.role}) | {hit.code} | {takeover} | "
              f"{gap.affected} | " + (f"{gap.worst:.2f} / {gap.median:.2f} |" if gap.affected else "– |"))
    for i, gap in enumerate(gaps, 1):
        if gap.worst > args.slow_gap and gap.worst_update is not None:
            v.notes.append(f"hit {i} ({gap.kind} {gap.victim}, {gap.role}): slowest chat waited {gap.worst:.2f} s for "
                           + trace({n.name: n.log for n in nodes}, gap.worst_update))
    print(f"\nduplicates: {counts['repeats_documented']} updates answered again across a kill -9 (documented), "
          f"{counts['repeats_unexplained']} without one; {tables['pictures_again']} pictures sent again\n")
    for check in v.checks:
        print(check.line())
    for note in v.notes:
        print("note: " + note)
    failed = v.failed()
    print(f"\n{len(v.checks) - len(failed)}/{len(v.checks)} checks passed")
    return 1 if failed else 0


async def run(args: argparse.Namespace, workdir: Path) -> int:
    code = 0
    if "scale" in args.phases:
        results = await scale_series(args.scale_counts, args.scale_users, args.scale_seconds, workdir, args.seed,
                                     args.topup_share)
        print(f"\n## scale: {args.scale_users} users, {args.scale_seconds:g} s per setting, no kills, pacing off")
        print("\n".join(scale_table(results)))
        for line in cpu_verdicts(results):
            print(line)
    if "burst" in args.phases:
        v = Verdicts()
        lines = await burst_run(args.instances, args.burst_users, workdir, args.seed, args.kie_speed, args.burst_wait, v)
        print(f"\n## burst: {args.burst_users} launches at once on {args.instances} instances")
        for line in lines + [check.line() for check in v.checks]:
            print(line)
        code |= 1 if v.failed() else 0
    if "chaos" in args.phases:
        code |= await chaos_run(args, workdir)
    return code


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="about a minute: shorter phases")
    parser.add_argument("--phases", default="scale,burst,chaos")
    parser.add_argument("--burst-users", type=int, default=None, help="launches at once (default 60, quick 30)")
    parser.add_argument("--burst-wait", type=float, default=90.0, help="seconds a burst user waits for the picture")
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--users", type=int, default=None, help="chaos users (default 16, quick 12)")
    parser.add_argument("--duration", type=float, default=None, help="seconds of chaos load (default 75, quick 24)")
    parser.add_argument("--turn", type=float, default=None, help="seconds between hits (default 8, quick 5)")
    parser.add_argument("--scale-counts", default="1,2,3")
    parser.add_argument("--scale-users", type=int, default=16)
    parser.add_argument("--scale-seconds", type=float, default=None, help="per setting (default 12, quick 4)")
    parser.add_argument("--restart-delay", type=float, default=1.0)
    parser.add_argument("--dup-share", type=float, default=0.1, help="share of acknowledged updates posted twice")
    parser.add_argument("--topup-share", type=float, default=0.25, help="share of journeys that are top-ups")
    parser.add_argument("--kie-speed", type=float, default=2.0, help="fake KIE: a 4 s image takes 4/speed s")
    parser.add_argument("--lock-retry", type=float, default=0.5, help="LOCK_RETRY_SECONDS of the instances")
    parser.add_argument("--grace", type=float, default=5.0, help="SHUTDOWN_GRACE_S of the instances")
    parser.add_argument("--step-timeout", type=float, default=30.0, help="seconds a user waits for a screen")
    parser.add_argument("--post-deadline", type=float, default=60.0, help="seconds a webhook post is retried")
    parser.add_argument("--settle", type=float, default=90.0, help="seconds to wait for inbox and jobs to finish")
    parser.add_argument("--slow-gap", type=float, default=3.0, help="trace the slowest chat of a hit above this (s)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the instance logs")
    args = parser.parse_args(argv)
    quick = args.quick
    args.users = args.users or (12 if quick else 16)
    args.duration = args.duration or (24.0 if quick else 75.0)
    args.turn = args.turn or (5.0 if quick else 8.0)
    args.scale_seconds = args.scale_seconds or (4.0 if quick else 12.0)
    args.burst_users = args.burst_users or (30 if quick else 60)
    args.scale_counts = [int(n) for n in args.scale_counts.split(",") if n]
    args.phases = set(args.phases.split(","))
    return args


class _NoLostConnections(logging.Filter):
    """A kill -9 cuts requests to the fakes mid-body; aiohttp logs each with a traceback. Expected here."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, (ConnectionError, asyncio.CancelledError, asyncio.IncompleteReadError))


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    logging.getLogger("aiohttp.server").addFilter(_NoLostConnections())
    workdir = Path(tempfile.mkdtemp(prefix="trt-chaos-"))
    code = 1
    started = time.perf_counter()
    try:
        code = asyncio.run(run(args, workdir))
    finally:
        print(f"\nwhole run {time.perf_counter() - started:.0f} s")
        if code == 0 and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"instance logs kept in {workdir}")
    return code


if __name__ == "__main__":
    sys.exit(main())
