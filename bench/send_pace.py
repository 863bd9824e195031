"""Telegram's overall pace shared in PostgreSQL (issue 17, item 4): does a broadcast use the configured pace, and
do other sends keep their share meanwhile?

Two "instances" (FloodLimiter + PgSendPace, each with its own pool) on one throwaway database, real time. A send
is the limiter's wait plus a fake Bot API call of ``latency`` seconds (no HTTP: the pace is what is measured).

- bulk alone: instance A broadcasts to ``recipients`` distinct chats, ``parallel`` sends in flight (as
  core/broadcaster.py does), bulk class;
- bulk + interactive: the same broadcast while instance B sends ``interactive_rate`` messages a second to other
  chats (replies, results): their wait for a slot, and the broadcast's rate.

    python bench/send_pace.py [--per-second 30] [--recipients 300]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from contextlib import AsyncExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from adapters.storage.postgres import PostgresStorage  # noqa: E402
from adapters.telegram.limits import FloodLimiter  # noqa: E402
from ports.budgets import bulk_sending  # noqa: E402


async def broadcast(limiter: FloodLimiter, recipients: int, parallel: int, latency: float) -> list[float]:
    bulk_sending.set(True)
    sent: list[float] = []
    queue = list(range(1_000_000, 1_000_000 + recipients))

    async def worker() -> None:
        while queue:
            chat = queue.pop()
            await limiter.acquire(chat)
            sent.append(time.monotonic())
            await asyncio.sleep(latency)

    await asyncio.gather(*(worker() for _ in range(parallel)))
    return sent


async def interactive(limiter: FloodLimiter, rate: float, until: asyncio.Event, latency: float) -> list[float]:
    waits: list[float] = []
    chat = 0
    while not until.is_set():
        chat += 1
        started = time.monotonic()
        await limiter.acquire(chat)
        waits.append(time.monotonic() - started)
        await asyncio.sleep(max(1.0 / rate - latency, 0.0))
    return waits


def rate(times: list[float]) -> float:
    return (len(times) - 1) / (max(times) - min(times)) if len(times) > 1 else 0.0


async def run(per_second: float, recipients: int, parallel: int, interactive_rate: float, latency: float) -> None:
    from bench.common import throwaway_database

    async with throwaway_database() as dsn, AsyncExitStack() as stack:
        limiters = []
        for _ in range(2):
            storage = await PostgresStorage.open(dsn, migrate=False, max_size=6)
            stack.push_async_callback(storage.close)
            limiter = FloodLimiter(global_per_second=per_second)
            limiter.share(storage.shared_send_pace(limiter.settings))
            limiters.append(limiter)
        done = asyncio.Event()
        side = asyncio.create_task(interactive(limiters[1], interactive_rate, done, latency))
        await asyncio.sleep(3.0)
        done.set()
        baseline = await side  # interactive sends with no broadcast: the round trip to the pace itself
        await asyncio.sleep(1.5)
        # Each broadcast in a task of its own, as the broadcaster runs: bulk_sending is set in that task only.
        alone = await asyncio.create_task(broadcast(limiters[0], recipients, parallel, latency))
        await asyncio.sleep(1.5)  # the burst refills
        done = asyncio.Event()
        side = asyncio.create_task(interactive(limiters[1], interactive_rate, done, latency))
        together = await asyncio.create_task(broadcast(limiters[0], recipients, parallel, latency))
        done.set()
        waits = await side
    bulk_alone, bulk_shared = rate(alone), rate(together)
    print(f"pace {per_second:g}/s, {recipients} recipients, {parallel} in flight, Bot API latency {latency * 1000:.0f} ms")
    print(f"bulk alone:        {bulk_alone:.1f} msg/s = {bulk_alone / per_second:.1%} of the pace")
    other = len(waits) / (max(together) - min(together))
    print(f"bulk + interactive: bulk {bulk_shared:.1f} msg/s, interactive {other:.1f} msg/s; "
          f"together {(bulk_shared + other) / per_second:.1%} of the pace")
    print(f"interactive wait for a slot during the broadcast: p50 {statistics.median(waits) * 1000:.1f} ms, "
          f"max {max(waits) * 1000:.1f} ms; without a broadcast: p50 {statistics.median(baseline) * 1000:.1f} ms, "
          f"max {max(baseline) * 1000:.1f} ms (ratio p50 {statistics.median(waits) / statistics.median(baseline):.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-second", type=float, default=30.0)
    parser.add_argument("--recipients", type=int, default=300)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--interactive-rate", type=float, default=5.0)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    asyncio.run(run(args.per_second, args.recipients, args.parallel, args.interactive_rate, args.latency))


if __name__ == "__main__":
    main()
