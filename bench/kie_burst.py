"""A burst of launches against KIE's rate limit (20 new generation requests per 10 s for the account), with two
bot instances on one PostgreSQL (issue 17, item 4).

Each instance is a whole app (build_app: core, job runner, submission queue, KieHttpGateway) with its own
PostgreSQL pool, both on one throwaway database, both talking HTTP to one fake KIE server that refuses the
21st request in 10 s with 429 as KIE does. ``launches`` jobs are launched over ``seconds`` (alternating
instances), as the launch handler does (one charge, the job stored CREATED with its progress message), and
driven to the end. Two runs in one process:

- shared: the budget in PostgreSQL (what the bot does now with DATABASE_URL);
- per-process: each instance with its own in-process budget (what it did before: the baseline).

Printed per run: the most createTask-like requests the fake KIE received in any window, its 429s, jobs
delivered / failed, how many waited in the queue and how many of them were told their place (place edits
only move up), the longest and mean wait, and the time from the first launch to the last submission.

    python bench/kie_burst.py [--launches 60] [--seconds 10] [--limit 20] [--window 10]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Sequence

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from adapters.kie.fake_server import FakeKieServer  # noqa: E402
from adapters.kie.submit_limiter import LocalSubmitBudget  # noqa: E402
from adapters.storage.postgres import PostgresStorage  # noqa: E402
from adapters.system.clock import SystemClock  # noqa: E402
from adapters.system.files import LocalFileReader  # noqa: E402
from core import cashier  # noqa: E402
from entrypoints.fake_stack import FAST_RUNNER  # noqa: E402
from entrypoints.settings import load_settings  # noqa: E402
from entrypoints.wiring import App, build_app  # noqa: E402
from ports.effects import EditScreen, Effect  # noqa: E402
from ports.events import UserRef  # noqa: E402
from ports.storage import Job, JobState  # noqa: E402

MODEL = "z-image"
PLACE_MARK = "В очереди: "
FIRST_USER = 700_000


class Recorder:
    """A messenger that keeps what each chat was shown; the places told, per chat, in order."""

    def __init__(self) -> None:
        self.effects: list[Effect] = []
        self.places: dict[int, list[int]] = {}

    async def apply(self, effects: Sequence[Effect]) -> None:
        for effect in effects:
            self.effects.append(effect)
            if isinstance(effect, EditScreen) and PLACE_MARK in effect.screen.text:
                tail = effect.screen.text.split(PLACE_MARK, 1)[1]
                self.places.setdefault(effect.chat_id, []).append(int(tail.split("-", 1)[0]))


@dataclass
class BurstResult:
    mode: str
    launches: int
    window: float
    limit: int
    requests: int = 0  # createTask-like requests KIE received (429s included)
    max_in_window: int = 0
    refusals: int = 0  # 429 answers
    delivered: int = 0
    failed: int = 0
    queued: int = 0  # jobs that waited in a submission queue
    told: int = 0  # users shown their place
    places_only_move_up: bool = True
    longest_wait: float = 0.0
    mean_wait: float = 0.0
    last_submit_s: float = 0.0  # from the first launch to the last request KIE received
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"{self.mode:<12} requests={self.requests} max_in_{self.window:g}s={self.max_in_window} "
                f"(limit {self.limit}) 429s={self.refusals} delivered={self.delivered}/{self.launches} "
                f"failed={self.failed} queued={self.queued} told_place={self.told} "
                f"places_only_move_up={self.places_only_move_up} longest_wait_s={self.longest_wait:.1f} "
                f"mean_wait_s={self.mean_wait:.1f} last_submit_s={self.last_submit_s:.1f}")


def most_in_any_window(times: list[datetime], window: float) -> int:
    span = timedelta(seconds=window)
    ordered = sorted(times)
    return max((sum(1 for t in ordered[i:] if t - start < span) for i, start in enumerate(ordered)), default=0)


async def _launch(app: App, number: int, now: datetime) -> str:
    storage = app.storage
    user = UserRef(FIRST_USER + number, first_name=f"u{number}")
    await cashier.ensure_user(storage, user, 1000, now)
    job = Job(
        id=f"burst{number:04d}", user_id=user.id, chat_id=user.id, model_id=MODEL, input={"prompt": f"cat {number}"},
        price=100, state=JobState.CREATED, created_at=now, updated_at=now, deadline_at=now + timedelta(minutes=15),
        progress_message_id=1, cid=f"burst-{number}",
    )
    job, created = await cashier.launch(storage, job)
    assert created
    app.runner.start(job.id)
    return job.id


async def run_burst(dsn: str, directory: Path, *, shared: bool = True, launches: int = 60, seconds: float = 10.0,
                    instances: int = 2, limit: int = 20, window: float = 10.0, speed: float = 40.0,
                    timeout: float = 120.0) -> BurstResult:
    result = BurstResult("shared" if shared else "per-process", launches, window, limit)
    clock = SystemClock()
    async with FakeKieServer(speed=speed, rate_limit=limit, rate_window=window, files_dir=directory / "kie") as kie, \
            AsyncExitStack() as stack:
        apps: list[tuple[App, Recorder]] = []
        for index in range(instances):
            storage = await PostgresStorage.open(dsn, migrate=False, max_size=5)
            stack.push_async_callback(storage.close)
            settings = load_settings(
                {}, DATA_DIR=directory / f"data{index}", KIE_MODE="real", KIE_API_KEY=kie.api_key,
                KIE_API_BASE_URL=kie.api_base_url, KIE_UPLOAD_BASE_URL=kie.upload_base_url,
                KIE_SUBMIT_LIMIT=limit, KIE_SUBMIT_WINDOW_S=window, FREE_DAILY_LIMIT=0, WELCOME_BALANCE=Decimal(0),
            )
            recorder = Recorder()
            budget = None if shared else LocalSubmitBudget(clock, limit=limit, window=window)
            app = await stack.enter_async_context(build_app(
                settings, messenger=recorder, media=LocalFileReader(), clock=clock, storage=storage,
                runner_settings=FAST_RUNNER, resume=False, submit_budget=budget,
            ))
            apps.append((app, recorder))
        started = time.monotonic()
        first = clock.now()
        ids = []
        for number in range(launches):
            ids.append(await _launch(apps[number % instances][0], number, clock.now()))
            await asyncio.sleep(max(started + seconds * (number + 1) / launches - time.monotonic(), 0.0))
        storage = apps[0][0].storage
        while time.monotonic() - started < timeout:
            jobs = [await storage.jobs.get(job_id) for job_id in ids]
            if all(job is not None and job.state.terminal for job in jobs):
                break
            await asyncio.sleep(0.2)
        else:
            result.notes.append(f"not every job ended within {timeout:g} s")
        jobs = [await storage.jobs.get(job_id) for job_id in ids]
        result.delivered = sum(1 for job in jobs if job and job.state is JobState.DELIVERED)
        result.failed = sum(1 for job in jobs if job and job.state in (JobState.FAILED, JobState.REFUNDED, JobState.TIMED_OUT))
        result.requests = len(kie.generation_times)
        result.max_in_window = most_in_any_window(kie.generation_times, window)
        result.refusals = kie.rate_refusals
        if kie.generation_times:
            result.last_submit_s = (max(kie.generation_times) - first).total_seconds()
        queues = [app.runner.queue for app, _ in apps if app.runner.queue is not None]
        result.queued = sum(queue.queued for queue in queues)
        told = {chat: places for _, recorder in apps for chat, places in recorder.places.items()}
        result.told = len(told)
        result.places_only_move_up = all(places == sorted(places, reverse=True) for places in told.values())
        result.longest_wait = max((queue.longest_wait for queue in queues), default=0.0)
        waited = sum(queue.waited_total for queue in queues)
        result.mean_wait = waited / result.queued if result.queued else 0.0
    return result


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--launches", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--window", type=float, default=10.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # the expected 429s and retries of the baseline are not news
    logging.getLogger("core.cost_watch").setLevel(logging.CRITICAL)  # the fake KIE's credits are not the price
    from bench.common import throwaway_database

    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC: {args.launches} launches in {args.seconds:g} s, "
          f"2 instances on one PostgreSQL, fake KIE refusing request {args.limit + 1} in {args.window:g} s")
    results = []
    for shared in (True, False):
        async with throwaway_database() as dsn:
            with TemporaryDirectory() as directory:
                results.append(await run_burst(dsn, Path(directory), shared=shared, launches=args.launches,
                                               seconds=args.seconds, limit=args.limit, window=args.window))
        print(results[-1].line(), *results[-1].notes)
    shared_run = results[0]
    ok = (shared_run.max_in_window <= args.limit and shared_run.refusals == 0 and shared_run.failed == 0
          and shared_run.delivered == args.launches and shared_run.told == shared_run.queued
          and shared_run.places_only_move_up)
    print("shared budget:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
