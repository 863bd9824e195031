"""The scale part of bench/chaos.py: the same users against 1, 2 and 3 instances on one database (a fresh one each
time), no kills, and what each setting gives: updates answered per second, reply latency for updates posted to
the leader and to the other instances (p50/p99 and their ratio), CPU per instance, of this bench process and of
the whole machine (to say what is CPU-bound).

The instances are bench/bot_process.py (main_render.py's wiring) with Telegram's outbound pacing lifted
(BENCH_TELEGRAM_LIMITS=off): with it, each chat gets at most one message a second and the run would measure
Telegram's limits, not the instances. The per-user inbound limit (2 updates/s) is raised for the same reason:
a simulated user taps faster than a person. The image journeys stop at the launch screen (no KIE): launches are
capped at 20 per 10 s for the whole account whatever the number of instances, and would measure KIE's budget.
The chaos part (bench/chaos.py) does launch.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.chaos_checks import Answers
from bench.chaos_cluster import CountingKie, RoleWatch, cpu_spent, database_cpu, make_nodes, wait_for_leader
from bench.chaos_load import Balancer, Tally, drive
from bench.chaos_logs import dispatch_counts
from bench.common import Summary, TimedBotApi, cpu_seconds, machine_busy, throwaway_database
from bench.journey import Recorder

USER_BASE = 7_000_000


@dataclass
class ScaleResult:
    instances: int
    seconds: float
    answered: int  # acknowledged updates answered
    posted: int
    journeys: int  # to the launch screen, and top-ups
    reply: Summary  # ms, all updates
    to_leader: Summary
    to_follower: Summary
    cpu: dict[str, float]  # instance → share of one core over the window
    bench_cpu: float  # this process (users, fake Bot API, fake KIE), share of one core
    db_cpu: float  # the PostgreSQL backends serving this database, share of one core
    machine: float  # busy cores of the whole machine (every process, other users' included)
    processed: dict[str, int]  # instance → updates it processed (DISPATCH lines in its log)

    @property
    def ours(self) -> float:
        """Cores busy with this run: instances, bench process, database backends."""
        return sum(self.cpu.values()) + self.bench_cpu + self.db_cpu

    @property
    def rate(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0


async def scale_run(instances: int, users: int, duration: float, workdir: Path, seed: int,
                    topup_share: float) -> ScaleResult:
    rng = random.Random(seed)
    async with throwaway_database() as dsn, TimedBotApi() as api, CountingKie(rate_limit=10**6) as kie:
        nodes = make_nodes(instances, api, kie, dsn, workdir / f"scale{instances}", "bench/bot_process.py", BENCH_TELEGRAM_LIMITS="off",
                           LOCK_RETRY_SECONDS="0.5", RATE_LIMIT_BURST="100", RATE_LIMIT_PER_SECOND="100")
        try:
            await asyncio.gather(*(node.start() for node in nodes))  # whichever is first takes the lock
            if await wait_for_leader(nodes, 30) is None:
                raise RuntimeError("no instance took the leader lock within 30 s")
            connector = aiohttp.TCPConnector(limit=200)
            async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=10)) as http, \
                    RoleWatch(nodes) as watch:
                balancer, recorder, tally = Balancer(http, nodes, watch, rng, 30.0), Recorder(), Tally()
                db0 = await database_cpu(dsn)
                cpu0, bench0, (busy0, _) = {n.name: n.cpu() for n in nodes}, cpu_seconds(), machine_busy()
                started = time.perf_counter()
                await drive(api, balancer, recorder, tally, [USER_BASE + 1000 * instances + u for u in range(users)],
                            started + duration, rng, topup_share, step_timeout=20.0, launch=False)
                seconds = time.perf_counter() - started
                cpu1, bench1, (busy1, _) = {n.name: n.cpu() for n in nodes}, cpu_seconds(), machine_busy()
                db_cpu = cpu_spent(db0, await database_cpu(dsn))
        finally:
            for node in nodes:
                if node.alive:
                    await node.hit("sigterm")
    answers = Answers(api, balancer.posted)
    reply: dict[str, list[float]] = {"leader": [], "follower": []}
    everything = []
    for update_id, p in balancer.posted.items():
        events = answers.of(update_id)
        if events:
            ms = (events[0].at - p.first_at) * 1000
            everything.append(ms)
            reply.setdefault(p.role, []).append(ms)
    return ScaleResult(
        instances, seconds, len(everything), len(balancer.posted), tally.browsed + tally.topups,
        Summary.of(everything), Summary.of(reply["leader"]), Summary.of(reply["follower"]),
        {name: (cpu1[name] - cpu0[name]) / seconds for name in cpu0}, (bench1 - bench0) / seconds, db_cpu / seconds,
        (busy1 - busy0) / seconds, dispatch_counts({n.name: n.log for n in nodes}),
    )


def scale_table(results: list[ScaleResult]) -> list[str]:
    lines = [
        "| instances | updates answered/s | journeys | reply p50 / p99 ms (all) | to leader p50 / p99 | "
        "to others p50 / p99 | others ÷ leader (p50 / p99) | CPU per instance (% of a core) | bench process | "
        "PostgreSQL backends | machine busy (cores of 2) | of which outside this run | updates processed by |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ratio = (f"{r.to_follower.p50 / r.to_leader.p50:.2f}x / {r.to_follower.p99 / r.to_leader.p99:.2f}x"
                 if r.to_follower.n and r.to_leader.n else "–")
        follower = f"{r.to_follower.p50:.0f} / {r.to_follower.p99:.0f}" if r.to_follower.n else "–"
        lines.append(
            f"| {r.instances} | {r.rate:.1f} | {r.journeys} | {r.reply.p50:.0f} / {r.reply.p99:.0f} | "
            f"{r.to_leader.p50:.0f} / {r.to_leader.p99:.0f} | {follower} | {ratio} | "
            f"{', '.join(f'{name} {share * 100:.0f}' for name, share in r.cpu.items())} | {r.bench_cpu * 100:.0f} % | "
            f"{r.db_cpu * 100:.0f} % | {r.machine:.2f} | {max(0.0, r.machine - r.ours):.2f} | "
            f"{', '.join(f'{name} {n}' for name, n in r.processed.items())} |")
    return lines


async def scale_series(counts: list[int], users: int, duration: float, workdir: Path, seed: int,
                       topup_share: float) -> list[ScaleResult]:
    results = []
    for n in counts:
        results.append(await scale_run(n, users, duration, workdir, seed, topup_share))
        await asyncio.sleep(0.5)
    return results


def cpu_verdicts(results: list[ScaleResult]) -> list[str]:
    """Per setting: what was busy, and whether the machine's two cores were the limit."""
    lines = []
    for r in results:
        parts = {**{f"instance {k}": x for k, x in r.cpu.items()}, "bench process": r.bench_cpu, "PostgreSQL": r.db_cpu}
        top = max(parts, key=parts.__getitem__)
        others = max(0.0, r.machine - r.ours)
        if r.machine < 1.85:
            bound = f"not CPU-bound: {2 - r.machine:.2f} core idle"
        elif others > r.ours:
            bound = "the machine was saturated, mostly by other processes: this run's rates are lower bounds"
        else:
            bound = "CPU-bound: this run kept the machine's 2 cores busy"
        lines.append(f"- {r.instances} instance(s): this run used {r.ours:.2f} cores (largest: {top} "
                     f"{parts[top]:.2f}); the machine {r.machine:.2f} of 2 ({others:.2f} by other processes); {bound}.")
    return lines
