"""End-to-end throughput: K simulated users each do the whole journey (/start → category → Z-Image → prompt →
🚀 Запустить → the picture) at once, against the bot in webhook mode, with PostgreSQL and with JSON storage.

    python bench/e2e_throughput.py [--users 100] [--storages postgres,json] [--limits off|real]
                                   [--kie-speed 1000] [--poll 0.05] [--profile bench-profile.pyisession]

The bot runs as a subprocess (bench/bot_process.py: main_render.py's wiring with the job runner polling every
--poll s instead of 2.5 s), so its CPU time is its own: the users, the fake Bot API (TimedBotApi, which timestamps
every call) and the fake KIE HTTP server (FakeKieServer, tasks done in 4 s / --kie-speed) live in this process.
KIE is reached over HTTP through the production KieHttpGateway.

--limits off (default) lifts the messenger's outbound pacing (1 message/s per chat, 30/s overall: Telegram's
limits, which would otherwise cap the run at 30 sends/s and measure Telegram rather than the bot); --limits real
keeps them.

Reported: journeys/s and updates/s over the load window; p50/p99 of the ack, of the time from an update to
the first Bot API call the bot made for that chat afterwards, and from the launch to the picture; database
round trips per update, counted inside the bot process by wrapping asyncpg's query methods (bench/pgcount.py:
statements, BEGIN/COMMIT, and the pool's reset query on every release), cross-checked with pg_stat_database
transactions over the process's whole life; CPU ms per update (the bot process's CPU time over the window /
updates, job driving and delivery included).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402

from adapters.kie.fake_server import FakeKieServer  # noqa: E402
from bench.common import (  # noqa: E402
    Summary, TimedBotApi, base_env, cpu_seconds, free_port, machine_busy, start_process, stop_process, throwaway_database, transactions,
    wait_healthy,
)
from bench.journey import Recorder, User, direct_poster  # noqa: E402
from bench.pgcount import delta  # noqa: E402

STEPS_PER_JOURNEY = 5
USER_BASE = 6_000_000


@dataclass
class Result:
    storage: str
    users: int
    done: int
    seconds: float
    recorder: Recorder
    cpu_ms_per_update: float
    rss_kib: int
    queries: dict[str, Any]
    xacts: int | None
    bench_cpu_s: float
    machine_busy: float  # share of all cores busy over the window


async def signal_and_read(process: asyncio.subprocess.Process, path: Path) -> dict[str, Any]:
    """SIGUSR1 → the bot writes its stats file; wait for it and read it."""
    path.unlink(missing_ok=True)
    process.send_signal(signal.SIGUSR1)
    async with asyncio.timeout(10):
        while not path.exists():
            await asyncio.sleep(0.01)
    return json.loads(path.read_text())


async def run_storage(storage: str, args: argparse.Namespace, api: TimedBotApi, kie: FakeKieServer, workdir: Path,
                      user_base: int) -> Result:
    """One storage; users are ``user_base`` + n (distinct per storage: the fake Bot API is shared)."""
    async with AsyncExitStack() as stack:
        extra = {
            "KIE_API_KEY": kie.api_key, "KIE_API_BASE_URL": kie.api_base_url, "KIE_UPLOAD_BASE_URL": kie.upload_base_url,
            "BENCH_POLL_FIRST": str(args.poll), "BENCH_POLL_MAX": str(max(args.poll * 4, 0.2)),
            "BENCH_TELEGRAM_LIMITS": args.limits, "BENCH_COUNT_QUERIES": "1",
            "BENCH_STATS": str(workdir / f"{storage}.stats.json"), "LOG_LEVEL": args.log_level,
        }
        dsn = None
        if storage == "postgres":
            dsn = await stack.enter_async_context(throwaway_database())
            extra["DATABASE_URL"] = dsn
        else:
            extra["DATA_DIR"] = str(workdir / f"{storage}-data")
        if args.profile:
            extra["BENCH_PROFILE"] = str(Path(args.profile).resolve().with_suffix(f".{storage}.pyisession"))
        xacts_before = await transactions(dsn) if dsn else None
        port = free_port()
        log = (Path(args.logs) if args.logs else workdir) / f"{storage}.log"
        process = await start_process("bench/bot_process.py", base_env(api, port, **extra), log)
        try:
            await wait_healthy(port, active=True, process=process)
            timeout = aiohttp.ClientTimeout(total=30)
            connector = aiohttp.TCPConnector(limit=args.connections)
            async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
                warm = Recorder()
                for n in range(2):  # prepared statements, pool connections, PTB's client: warm before measuring
                    await User(api, direct_poster(http, port, warm), warm, user_base - 1 - n, args.timeout).journey(f"warm{n}")
                recorder = Recorder()
                post = direct_poster(http, port, recorder)
                stats_path = workdir / f"{storage}.stats.json"
                before = await signal_and_read(process, stats_path)
                if args.profile:
                    process.send_signal(signal.SIGUSR2)
                started = time.perf_counter()
                bench_cpu, (busy0, total0) = cpu_seconds(), machine_busy()
                users = [User(api, post, recorder, user_base + n, args.timeout) for n in range(args.users)]
                await asyncio.gather(*(user.journey(f"bench{user.id}") for user in users))
                seconds = time.perf_counter() - started
                bench_cpu, (busy1, total1) = cpu_seconds() - bench_cpu, machine_busy()
                if args.profile:
                    process.send_signal(signal.SIGUSR2)
                after = await signal_and_read(process, stats_path)
        finally:
            code = await stop_process(process)
            if code != 0:
                print(f"⚠️ the {storage} bot exited with {code}; see {log} (kept with --logs DIR)")
        xacts = (await transactions(dsn) - xacts_before) if dsn else None
    updates = args.users * STEPS_PER_JOURNEY
    return Result(
        storage, args.users, recorder.journeys, seconds, recorder,
        (after["cpu_s"] - before["cpu_s"]) * 1000 / updates, after["rss_kib"],
        delta(before["queries"], after["queries"]), xacts, bench_cpu, (busy1 - busy0) / max(total1 - total0, 1e-9),
    )


def report(results: list[Result], args: argparse.Namespace) -> int:
    print(f"\n{args.users} users × 1 journey ({STEPS_PER_JOURNEY} updates each), all at once; outbound limits "
          f"{args.limits}; KIE tasks take {4000 / args.kie_speed:.0f} ms; job polling every {args.poll:g} s\n")
    head = (f"{'storage':<9} {'journeys/s':>10} {'updates/s':>9} {'ack p50/p99 ms':>15} {'reply p50/p99 ms':>17} "
            f"{'result p50/p99 ms':>18} {'db calls/upd':>12} {'cpu ms/upd':>10}")
    print(head)
    failed = False
    for r in results:
        updates = r.users * STEPS_PER_JOURNEY
        ack, reply, result = (Summary.of(x) for x in (r.recorder.ack_ms, r.recorder.reply_ms, r.recorder.result_ms))
        calls = sum(r.queries["counts"].values()) / updates if r.queries["counts"] else 0.0
        print(f"{r.storage:<9} {r.done / r.seconds:>10.1f} {updates / r.seconds:>9.1f} "
              f"{ack.p50:>7.1f}/{ack.p99:<7.1f} {reply.p50:>8.1f}/{reply.p99:<8.1f} {result.p50:>8.1f}/{result.p99:<9.1f} "
              f"{calls:>12.2f} {r.cpu_ms_per_update:>10.2f}")
        failed |= r.done != r.users
    for r in results:
        updates = r.users * STEPS_PER_JOURNEY
        print(f"\n[{r.storage}] {r.done}/{r.users} journeys completed in {r.seconds:.2f} s; statuses {r.recorder.statuses}; "
              f"abandoned at {r.recorder.stuck or 'none'}; bot RSS after {r.rss_kib / 1024:.1f} MiB")
        print(f"  CPU over the window: bot {r.cpu_ms_per_update * updates / 1000:.2f} s, this process (users, fake Bot API, "
              f"fake KIE) {r.bench_cpu_s:.2f} s; machine {r.machine_busy:.0%} busy ({os.cpu_count()} cores)")
        if r.queries["counts"]:
            kinds = ", ".join(f"{k} {v / updates:.2f}" for k, v in sorted(r.queries["counts"].items()))
            print(f"  asyncpg calls per update: {kinds}")
            print(f"  per journey, by statement (top {args.top}):")
            for sql, n in sorted(r.queries["by_sql"].items(), key=lambda kv: -kv[1])[: args.top]:
                print(f"    {n / r.users:6.2f}  {sql}")
        if r.xacts is not None:
            print(f"  pg_stat_database transactions over the bot's whole life (startup, warm-up, shutdown included): "
                  f"{r.xacts} = {r.xacts / updates:.2f} per measured update (an upper bound)")
    if args.profile:
        print(f"\nprofiles saved next to {args.profile} (.<storage>.pyisession); summarise with bench/profile_report.py")
    return 1 if failed else 0


async def main_async(args: argparse.Namespace) -> int:
    results = []
    with tempfile.TemporaryDirectory(prefix="trt-bench-e2e-") as directory:
        async with TimedBotApi() as api, FakeKieServer(speed=args.kie_speed, rate_limit=10**6) as kie:
            for index, storage in enumerate(s.strip() for s in args.storages.split(",") if s.strip()):
                results.append(await run_storage(storage, args, api, kie, Path(directory), USER_BASE + index * 1_000_000))
                r = results[-1]
                print(f"{storage}: {r.done}/{r.users} journeys in {r.seconds:.2f} s", flush=True)
        return report(results, args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--storages", default="postgres,json")
    parser.add_argument("--limits", choices=("off", "real"), default="off", help="outbound Telegram pacing")
    parser.add_argument("--kie-speed", type=float, default=1000.0, help="fake KIE: a 4 s image takes 4/speed s")
    parser.add_argument("--poll", type=float, default=0.05, help="job polling interval of the runner, seconds")
    parser.add_argument("--connections", type=int, default=40, help="webhook connections (Telegram's default max)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds a user waits for a screen")
    parser.add_argument("--log-level", default="INFO", help="the bot's LOG_LEVEL (production default INFO)")
    parser.add_argument("--top", type=int, default=30, help="statements listed per storage")
    parser.add_argument("--logs", help="keep the bots' logs in this directory")
    parser.add_argument("--profile", help="save a pyinstrument session of the load window to this path (+.storage)")
    return asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
