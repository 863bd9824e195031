"""Our bot against python-telegram-bot and aiogram peers and the floor, measured the same way in one run.

    python bench/peers/compare.py [--quick] [--repeats 5] [--users 1000] [--ours before=/tmp/main-before]

Every target (bench/peers/targets.py) is a subprocess in webhook mode against one fake Bot API (TimedBotApi in
this process); the screens are the same for all bots: /start answers a text with an inline keyboard, a press of
one of its buttons answers the callback query and edits that message. Ours runs on PostgreSQL (a throwaway
database): every update is durably stored before the ack, the user row and welcome credit are written, and the
inbox row is marked done; the peers store nothing. Per target and repeat, in this order:

1. ``seq``: users one after another, each /start then a press (one connection): ack and reply times;
2. ``c16``: the same with 16 users at a time (16 connections);
3. ``load``: ``--users`` users all at once (up to 100 connections), each /start then a press: updates/s (all
   updates over the time until the last edit arrived) and the target's CPU per update (its process CPU over the
   phase / updates), ack and reply p99 under that load; then RSS.

Ack: request start → full 200 response. Reply: post → the first Bot API call the bot made for that chat.
The floors (a bare aiohttp 200; aiohttp + one durable INSERT) get phases 1–2 with the same posts. Targets run
in a rotated order each repeat; the table shows medians over repeats; the ratios are taken within each repeat,
then their median. The LAST line is ``RATIOS cpu_vs_aiogram=… cpu_vs_ptb=… ack_p99_vs_floor=…`` for ``ours``
(this tree), where ack_p99_vs_floor is the larger of the 1- and 16-connection ack p99 ratios to floor_pg.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import statistics
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import aiohttp  # noqa: E402

from bench.common import (  # noqa: E402
    SECRET_HEADER, SECRET_PATH, SECRET_TOKEN, Summary, TimedBotApi, cpu_seconds, free_port, machine_busy, rss_kib,
    stop_process, throwaway_database, wait_healthy,
)
from bench.journey import buttons_of, press_update, text_update  # noqa: E402
from bench.peers import targets as make  # noqa: E402

PREFERRED_BUTTON = "Картинки и дизайн"  # ours: the category press edits the menu; the peers have it too


class Poster:
    def __init__(self, http: aiohttp.ClientSession, port: int) -> None:
        self.http, self.url = http, f"http://127.0.0.1:{port}/webhook/{SECRET_PATH}"
        self.acks: list[float] = []
        self.failed = 0

    async def __call__(self, update: dict[str, Any]) -> float:
        body = json.dumps(update).encode()
        started = time.perf_counter()
        try:
            async with self.http.post(self.url, data=body, headers={
                    SECRET_HEADER: SECRET_TOKEN, "Content-Type": "application/json"}) as response:
                await response.read()
                ok = response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            ok = False
        self.acks.append((time.perf_counter() - started) * 1000)
        self.failed += not ok
        return started


def _edited_after(api: TimedBotApi, user: int, since: float) -> bool:
    return any(event.method == "editmessagetext" and event.at >= since and event.error is None
               for event in api.by_chat.get(user, ()))


async def flow(api: TimedBotApi, post: Poster, user: int, replies: bool, reply_ms: list[float], timeout: float) -> bool:
    """/start, wait for the keyboard, press a button, wait for the edit. Floors: the two posts only."""
    started = await post(start_update(user))
    if not replies:
        await post(press_update(user, "section:images", 1))
        return True
    if not await api.wait_until(user, lambda: api.newest_with_buttons(user), timeout):
        return False
    reply_ms.append((api.first_reply_after(user, started) - started) * 1000)
    message = api.newest_with_buttons(user)
    pairs = [(text, data) for text, data in buttons_of(message) if data]
    data = next((d for text, d in pairs if PREFERRED_BUTTON in text), pairs[0][1] if pairs else None)
    if data is None:
        return False
    update = press_update(user, data, message.message_id)
    api.register_update(update)
    started = await post(update)
    if not await api.wait_until(user, lambda: _edited_after(api, user, started), timeout):
        return False
    reply_ms.append((api.first_reply_after(user, started) - started) * 1000)
    return True


def start_update(user: int) -> dict[str, Any]:
    """/start as Telegram sends it: with its bot_command entity (PTB's CommandHandler needs it)."""
    update = text_update(user, "/start")
    update["message"]["entities"] = [{"type": "bot_command", "offset": 0, "length": 6}]
    return update


class Users:
    def __init__(self, start: int) -> None:
        self.next = start

    def take(self, n: int) -> list[int]:
        block = list(range(self.next, self.next + n))
        self.next += n
        return block


async def phase(api: TimedBotApi, port: int, users: list[int], concurrency: int, replies: bool,
                timeout: float = 60.0) -> dict[str, Any]:
    reply_ms: list[float] = []
    pending = iter(users)
    done = [0]
    connector = aiohttp.TCPConnector(limit=min(concurrency, 100))
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as http:
        post = Poster(http, port)

        async def worker() -> None:
            for user in pending:
                ok = await flow(api, post, user, replies, reply_ms, timeout)  # not `+= await`: that loses counts
                done[0] += ok

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return {"ack": Summary.of(post.acks), "reply": Summary.of(reply_ms), "seconds": seconds,
            "done": done[0], "failed": post.failed}


async def measure(target: make.Target, api: TimedBotApi, ids: Users, args: argparse.Namespace, workdir: Path
                  ) -> dict[str, Any]:
    port = free_port()
    process = await target.start(port, api, workdir / f"{target.name}.log")
    try:
        await wait_healthy(port, active=True, process=process, timeout=60)
        await phase(api, port, ids.take(args.warmup), 4, target.replies)
        row: dict[str, Any] = {"target": target.name}
        for name, users, concurrency in (("seq", args.seq_users, 1), ("c16", args.c16_users, 16)):
            result = await phase(api, port, ids.take(users), concurrency, target.replies)
            row[f"ack_{name}"], row[f"reply_{name}"] = result["ack"], result["reply"]
        if target.replies:
            await asyncio.sleep(0.3)
            profiling = args.profile and "BENCH_PROFILE" in target.env
            if profiling:
                process.send_signal(signal.SIGUSR2)  # bench/bot_process.py: start pyinstrument
            cpu_before = cpu_seconds(process.pid)
            result = await phase(api, port, ids.take(args.users), args.users, True)
            await asyncio.sleep(0.2)
            if profiling:
                process.send_signal(signal.SIGUSR2)  # stop and save; the CPU figure then includes the profiler
            updates = 2 * result["done"]
            row["cpu_ms"] = (cpu_seconds(process.pid) - cpu_before) * 1000 / max(1, updates)
            row["ups"] = updates / result["seconds"]
            row["ack_load"], row["reply_load"] = result["ack"], result["reply"]
            row["lost"] = args.users - result["done"] + result["failed"]
        row["rss_mib"] = rss_kib(process.pid) / 1024
    finally:
        await stop_process(process)
    return row


def median(rows: list[dict[str, Any]], key: str, stat: str | None = None) -> float:
    values = [getattr(row[key], stat) if stat else row[key] for row in rows if key in row]
    return statistics.median(values) if values else float("nan")


def ratio_median(runs: list[dict[str, dict[str, Any]]], a: str, b: str, key: str, stat: str | None = None) -> float:
    values = []
    for run in runs:
        if a in run and b in run and key in run[a] and key in run[b]:
            x = getattr(run[a][key], stat) if stat else run[a][key]
            y = getattr(run[b][key], stat) if stat else run[b][key]
            values.append(x / y if y else float("nan"))
    return statistics.median(values) if values else float("nan")


def report(runs: list[dict[str, dict[str, Any]]], names: list[str], args: argparse.Namespace, busy: float) -> None:
    print(f"\nmedians over {len(runs)} repeats; load = {args.users} concurrent users (2 updates each); "
          f"machine {busy:.0%} busy during the run (all cores, every process)\n")
    head = ("target", "cpu ms/upd", "upd/s", "ack p50/p99 seq", "ack p50/p99 c16", "reply p50/p99 seq",
            "reply p50/p99 c16", "ack/reply p99 load", "RSS MiB")
    print(" | ".join(head))
    for name in names:
        rows = [run[name] for run in runs if name in run]
        cells = [name, f"{median(rows, 'cpu_ms'):.2f}", f"{median(rows, 'ups'):.0f}"]
        for key in ("ack_seq", "ack_c16", "reply_seq", "reply_c16"):
            cells.append(f"{median(rows, key, 'p50'):.2f} / {median(rows, key, 'p99'):.2f}")
        cells.append(f"{median(rows, 'ack_load', 'p99'):.1f} / {median(rows, 'reply_load', 'p99'):.1f}")
        cells.append(f"{median(rows, 'rss_mib'):.1f}")
        print(" | ".join(cells))
    lost = sum(run[name].get("lost", 0) for run in runs for name in run)
    print(f"\nflows lost or refused (all runs): {lost}")
    ours = [name for name in names if name.startswith("ours")]
    for name in sorted(ours, key=lambda n: n == "ours"):  # this tree's line last
        cpu_aiogram = ratio_median(runs, name, "aiogram", "cpu_ms")
        cpu_ptb = ratio_median(runs, name, "ptb", "cpu_ms")
        ups = ratio_median(runs, name, "aiogram", "ups")
        ack1 = ratio_median(runs, name, "floor_pg", "ack_seq", "p99")
        ack16 = ratio_median(runs, name, "floor_pg", "ack_c16", "p99")
        print(f"{name}: cpu/upd vs aiogram {cpu_aiogram:.2f}x, vs ptb {cpu_ptb:.2f}x; upd/s vs aiogram {ups:.2f}x; "
              f"ack p99 vs floor_pg {ack1:.2f}x (1 conn), {ack16:.2f}x (16 conns); "
              f"vs floor_bare {ratio_median(runs, name, 'floor_bare', 'ack_seq', 'p99'):.2f}x / "
              f"{ratio_median(runs, name, 'floor_bare', 'ack_c16', 'p99'):.2f}x")
    name = "ours"
    print(f"RATIOS cpu_vs_aiogram={ratio_median(runs, name, 'aiogram', 'cpu_ms'):.2f} "
          f"cpu_vs_ptb={ratio_median(runs, name, 'ptb', 'cpu_ms'):.2f} "
          f"ack_p99_vs_floor={max(ratio_median(runs, name, 'floor_pg', 'ack_seq', 'p99'), ratio_median(runs, name, 'floor_pg', 'ack_c16', 'p99')):.2f}")


async def main_async(args: argparse.Namespace) -> int:
    chosen = [make.ours("ours", make.ROOT)]
    for spec in args.ours:
        label, _, root = spec.partition("=")
        chosen.append(make.ours(f"ours-{label}", Path(root).resolve()))
    chosen += [make.ptb(), *(t for t in [make.aiogram()] if t is not None), *make.floors()]
    chosen = [t for t in chosen if not args.only or t.name in args.only.split(",")]
    if args.profile:
        for target in chosen:
            if target.name.startswith("ours"):
                target.env["BENCH_PROFILE"] = str(Path(args.profile).resolve()) + f".{target.name}.pyisession"
    names = [t.name for t in chosen]
    runs: list[dict[str, dict[str, Any]]] = []
    ids = Users(3_000_000_000 + int(time.time()) % 10**6 * 1000)
    busy0, total0 = machine_busy()
    with tempfile.TemporaryDirectory(prefix="trt-peers-") as directory:
        directory = args.logs or directory
        async with AsyncExitStack() as stack, TimedBotApi() as api:
            for target in chosen:
                if target.name.startswith("ours") or target.name == "floor_pg":
                    target.dsn = await stack.enter_async_context(throwaway_database())
            for repeat in range(args.repeats):
                order = chosen[repeat % len(chosen):] + chosen[:repeat % len(chosen)]
                run: dict[str, dict[str, Any]] = {}
                for target in order:
                    row = await measure(target, api, ids, args, Path(directory))
                    run[target.name] = row
                    load = f" cpu {row['cpu_ms']:.2f} ms/upd, {row['ups']:.0f} upd/s," if "cpu_ms" in row else ""
                    print(f"repeat {repeat + 1} {target.name}:{load} ack p99 seq {row['ack_seq'].p99:.2f} ms, "
                          f"c16 {row['ack_c16'].p99:.2f} ms", flush=True)
                runs.append(run)
    busy1, total1 = machine_busy()
    report(runs, names, args, (busy1 - busy0) / max(1e-9, total1 - total0))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats, 300 users under load, smaller phases: under 5 minutes")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--users", type=int, default=1000, help="concurrent users in the load phase")
    parser.add_argument("--seq-users", type=int, default=100)
    parser.add_argument("--c16-users", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=8)
    parser.add_argument("--ours", action="append", default=[], metavar="LABEL=ROOT",
                        help="another tree of this project to measure too, e.g. before=/tmp/main-before")
    parser.add_argument("--only", default="", help="comma-separated target names")
    parser.add_argument("--profile", default="", help="PATH: pyinstrument sessions of ours during the load phase, "
                        "PATH.<target>.pyisession (bench/profile_report.py reads them); CPU figures then include it")
    parser.add_argument("--logs", default="", help="keep the targets' stderr logs in this existing directory")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.users, args.seq_users, args.c16_users = 3, 300, 30, 64
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
