"""Floods: how long OTHER users wait for a reply while a few chats flood the bot, against the same run unflooded.

    python bench/flood.py [--code DIR] [--scenarios quiet,burst,steady,groups] [--seconds 20] [--others 8]
                          [--storage json|postgres]

The bot runs as a subprocess (``DIR/bench/bot_process.py``: main_render.py's wiring, in webhook mode, with
Telegram's real outbound pacing, 1 message/s per chat and 30/s overall) against the fake Bot API on loopback
(TimedBotApi, in this process, timestamps every call). ``--code`` picks the tree the bot runs from (default:
this one), so the same script measures another checkout, e.g. ``--code /work/main`` for the before figures.
Each scenario gets a fresh bot process and a fresh data directory (or a throwaway PostgreSQL database).

Scenarios, each ``--seconds`` long:
- quiet: no flood (the reference);
- burst: 8 chats each send 300 /start within 16 s (~19/s per chat, 150/s in all);
- steady: 8 chats each send /start at 1.2 messages/s;
- groups: one user sends /start in 8 group chats, 1.2 messages/s in each.

Meanwhile ``--others`` users each send /start every 2 s (within their own pace) and wait for the reply; their
latency is the time from posting the update to the first Bot API call the bot makes for that chat ("after
ack": from the webhook's 200, i.e. without the durable write of the update itself). A reply
not seen within --timeout seconds counts at --timeout (so p99 is then a lower bound) and is reported.
Target: others' p99 under a flood within 2x the quiet p99.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402

from bench.common import (  # noqa: E402
    ROOT, Summary, TimedBotApi, base_env, cpu_seconds, free_port, health, stop_process, throwaway_database, wait_healthy,
)
from bench.journey import Recorder, direct_poster  # noqa: E402
from entrypoints.smoke_checks import message_update  # noqa: E402

FLOODERS = 8
OTHER_BASE, FLOOD_BASE, GROUP_BASE = 8_100_000, 8_200_000, -1_008_300_000
PROBE_EVERY = 2.0


@dataclass
class Run:
    scenario: str
    latencies_ms: list[float] = field(default_factory=list)
    after_ack_ms: list[float] = field(default_factory=list)  # from the webhook's 200 to the reply
    slow: list[tuple[float, float]] = field(default_factory=list)  # (seconds into the window, ms) of replies > 250 ms
    window_start: float = 0.0
    timeouts: int = 0
    flood_sent: int = 0
    flood_replies: int = 0
    too_fast: int = 0
    shed: int | None = None
    bot_cpu: float = 0.0  # the bot process's CPU seconds / wall seconds over the window (1.0 = one core)
    bench_cpu: float = 0.0  # the same for this process (load generator and fake Bot API)
    acks: Recorder = field(default_factory=Recorder)


def group_update(user_id: int, chat_id: int, text: str) -> dict[str, Any]:
    update = message_update(user_id, text)
    update["message"]["chat"] = {"id": chat_id, "type": "supergroup", "title": "Flood"}
    return update


async def start_bot(code: Path, env: dict[str, str], log_path: Path) -> asyncio.subprocess.Process:
    with open(log_path, "ab") as log:
        return await asyncio.create_subprocess_exec(
            sys.executable, str(code / "bench" / "bot_process.py"), cwd=code, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=log,
        )


async def probe(api: TimedBotApi, post, user: int, run: Run, until: float, timeout: float, offset: float) -> None:
    """One other user: /start every PROBE_EVERY s until ``until``, each time waiting for the reply."""
    await asyncio.sleep(offset)
    while time.perf_counter() < until:
        started = time.perf_counter()
        if await post(message_update(user, "/start")) != 200:
            run.timeouts += 1
            continue
        acked = time.perf_counter()
        at = await api.wait_until(user, lambda: api.first_reply_after(user, started), timeout)
        if at is None:
            run.timeouts += 1
            run.latencies_ms.append(timeout * 1000)
        else:
            run.latencies_ms.append((at - started) * 1000)
            run.after_ack_ms.append((at - acked) * 1000)
        if run.latencies_ms[-1] > 250:
            run.slow.append((started - run.window_start, run.latencies_ms[-1]))
        await asyncio.sleep(max(0.0, started + PROBE_EVERY - time.perf_counter()))


async def flood(post, updates: list[dict[str, Any]], per_second: float, run: Run) -> None:
    """Post ``updates`` in order at ``per_second`` (as a schedule: a slow ack does not slow the flood down)."""
    started = time.perf_counter()
    pending = []
    for index, update in enumerate(updates):
        await asyncio.sleep(max(0.0, started + index / per_second - time.perf_counter()))
        pending.append(asyncio.ensure_future(post(update)))
        run.flood_sent += 1
    await asyncio.gather(*pending)


def flood_plan(scenario: str, seconds: float) -> list[tuple[list[dict[str, Any]], float]]:
    if scenario == "quiet":
        return []
    if scenario == "burst":
        return [([message_update(FLOOD_BASE + n, "/start") for _ in range(300)], 300 / 16) for n in range(FLOODERS)]
    count = int(seconds * 1.2)
    if scenario == "steady":
        return [([message_update(FLOOD_BASE + n, "/start") for _ in range(count)], 1.2) for n in range(FLOODERS)]
    if scenario == "groups":
        return [([group_update(FLOOD_BASE, GROUP_BASE - n, "/start") for _ in range(count)], 1.2) for n in range(FLOODERS)]
    raise ValueError(f"unknown scenario {scenario!r}")


def flood_chats(scenario: str) -> list[int]:
    if scenario == "groups":
        return [GROUP_BASE - n for n in range(FLOODERS)]
    return [FLOOD_BASE + n for n in range(FLOODERS)] if scenario != "quiet" else []


async def run_scenario(scenario: str, args: argparse.Namespace, workdir: Path) -> Run:
    run = Run(scenario)
    async with AsyncExitStack() as stack:
        api = await stack.enter_async_context(TimedBotApi())
        extra = {"LOG_LEVEL": "INFO", "BENCH_TELEGRAM_LIMITS": "real"}  # production logging
        if args.storage == "postgres":
            extra["DATABASE_URL"] = await stack.enter_async_context(throwaway_database())
        else:
            extra["DATA_DIR"] = str(workdir / f"{scenario}-data")
        port = free_port()
        process = await start_bot(args.code, base_env(api, port, **extra), workdir / f"{scenario}.log")
        try:
            await wait_healthy(port, active=True, process=process)
            timeout = aiohttp.ClientTimeout(total=30)
            async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=100)) as http:
                post = direct_poster(http, port, run.acks)
                others = [OTHER_BASE + n for n in range(args.others)]
                for user in others:  # known users: measure a /start, not a sign-up
                    await post(message_update(user, "/start"))
                    await api.wait_until(user, lambda user=user: api.by_chat.get(user), 30)
                run.window_start = time.perf_counter()
                until = run.window_start + args.seconds
                cpu0, own0, wall0 = cpu_seconds(process.pid), cpu_seconds(), time.perf_counter()
                floods = [flood(post, updates, rate, run) for updates, rate in flood_plan(scenario, args.seconds)]
                probes = [probe(api, post, user, run, until, args.timeout, n * PROBE_EVERY / len(others))
                          for n, user in enumerate(others)]
                await asyncio.gather(*floods, *probes)
                wall = time.perf_counter() - wall0
                run.bot_cpu, run.bench_cpu = (cpu_seconds(process.pid) - cpu0) / wall, (cpu_seconds() - own0) / wall
                body = await health(port)
                run.shed = body.get("updates_shed") if body else None
        finally:
            await stop_process(process)
        for chat in flood_chats(scenario):
            texts = [m.text or "" for m in api.messages(chat) if m.from_bot]
            run.too_fast += sum(text.startswith("⏳") for text in texts)
            run.flood_replies += sum(not text.startswith("⏳") for text in texts)
    return run


def report(runs: list[Run], args: argparse.Namespace) -> int:
    print(f"\ncode: {args.code}  storage: {args.storage}  others: {args.others} × /start every {PROBE_EVERY:g} s, "
          f"{args.seconds:g} s per scenario, timeout {args.timeout:g} s")
    print("| scenario | others' reply p50 ms | p99 ms | max ms | n | timeouts | p99 / quiet p99 | flood sent | "
          "flood replies | too-fast answers | shed (/health) | ack p99 ms | after-ack p50 / p99 ms | bot CPU | bench CPU |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    quiet = next((r for r in runs if r.scenario == "quiet"), None)
    quiet_p99 = Summary.of(quiet.latencies_ms).p99 if quiet else float("nan")
    worst = 0.0
    for r in runs:
        s = Summary.of(r.latencies_ms)
        factor = s.p99 / quiet_p99 if quiet_p99 == quiet_p99 and quiet_p99 > 0 else float("nan")
        if r.scenario != "quiet" and factor == factor:
            worst = max(worst, factor)
        ack, after = Summary.of(r.acks.ack_ms), Summary.of(r.after_ack_ms)
        shed = "n/a" if r.shed is None else str(r.shed)
        print(f"| {r.scenario} | {s.p50:.0f} | {s.p99:.0f} | {s.max:.0f} | {s.n} | {r.timeouts} | {factor:.1f}x | "
              f"{r.flood_sent} | {r.flood_replies} | {r.too_fast} | {shed} | {ack.p99:.0f} | {after.p50:.0f} / {after.p99:.0f} | {r.bot_cpu:.0%} | {r.bench_cpu:.0%} |")
    verdict = "PASS" if quiet and worst <= 2.0 else "FAIL"
    print(f"\n{verdict}: worst flooded p99 is {worst:.1f}x the quiet p99 (target ≤ 2x)")
    return 0 if verdict == "PASS" else 1


async def main_async(args: argparse.Namespace) -> int:
    runs = []
    with tempfile.TemporaryDirectory(prefix="trt-bench-flood-") as directory:
        for scenario in (s.strip() for s in args.scenarios.split(",") if s.strip()):
            runs.append(await run_scenario(scenario, args, Path(directory)))
            s = Summary.of(runs[-1].latencies_ms)
            slow = " ".join(f"{at:.1f}s:{ms:.0f}ms" for at, ms in runs[-1].slow[:12])
            print(f"{scenario}: others' reply {s.line()} timeouts={runs[-1].timeouts} slow(at:latency)=[{slow}]", flush=True)
    return report(runs, args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--code", type=Path, default=ROOT, help="the tree whose bot is measured (default: this one)")
    parser.add_argument("--scenarios", default="quiet,burst,steady,groups")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each scenario's measuring window")
    parser.add_argument("--others", type=int, default=8, help="users measured while the flood runs")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds an other user waits for a reply")
    parser.add_argument("--storage", choices=("json", "postgres"), default="json")
    args = parser.parse_args(argv)
    args.code = args.code.resolve()
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
