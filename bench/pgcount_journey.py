"""The journey whose PostgreSQL round trips bench/pgcount.py reports; run by it as a subprocess with
PYTHONPATH set to the tree under test (this one, or an older checkout for the "before" figures), so it uses
only what every version since the durable inbox has: build_app, Dispatcher, PostgresStorage, tests/pg.py and
bench/pgcount's counters. Prints one JSON object: per step, the round trips the update's own processing made
(the ack's inbox insert, the core, the replies, done), and the launched job's own, per user.

    PYTHONPATH=<tree> python bench/pgcount_journey.py --users 20
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from adapters.storage.postgres import PostgresStorage
from adapters.system.clock import VirtualClock
from adapters.system.files import LocalFileReader
from adapters.telegram.updates import parse_update, update_chat_id
from entrypoints.dispatcher import Dispatcher
from entrypoints.settings import load_settings
from entrypoints.smoke_checks import callback_update, message_update
from entrypoints.wiring import build_app
from tests.pg import scratch_database

STEPS = ("/start", "category", "model", "prompt", "launch")


def _load_counter() -> Any:
    """This tree's bench/pgcount.py, whatever tree PYTHONPATH points at (it splits the job runner's calls off)."""
    spec = importlib.util.spec_from_file_location("pgcount_here", Path(__file__).with_name("pgcount.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pgcount = _load_counter()


class Recorder:
    """A messenger that keeps each chat's last screen with buttons (to press them) and its message ids."""

    def __init__(self) -> None:
        self.screens: dict[int, Any] = {}
        self._next_id = 1000

    async def apply(self, effects: Any) -> None:
        for effect in effects:
            screen = getattr(effect, "screen", None)
            if screen is not None and screen.keyboard:
                self.screens[effect.chat_id] = screen

    def button(self, chat_id: int, label_part: str) -> str:
        for row in self.screens[chat_id].keyboard:
            for button in row:
                if label_part in button.label and button.data:
                    return button.data
        raise LookupError(f"no button {label_part!r} on {self.screens[chat_id].screen_id}")


def counted(job: bool = False) -> int:
    counts = pgcount.job_counts if job else pgcount.counts
    return counts["statement"] + counts["transaction"]


async def journey(users: int, tmp: str) -> dict[str, Any]:
    pgcount.install()
    async with scratch_database(migrated=True) as dsn:
        storage = await PostgresStorage.open(dsn, migrate=False)
        config = load_settings({}, DATA_DIR=f"{tmp}/data", FREE_DAILY_LIMIT=0, WELCOME_BALANCE="100")
        clock, messenger = VirtualClock(datetime(2026, 5, 1, tzinfo=timezone.utc)), Recorder()
        per_step = {step: 0 for step in STEPS}
        step_sql: dict[str, dict[str, int]] = {step: {} for step in STEPS}
        job_calls = 0
        try:
            async with build_app(config, messenger=messenger, media=LocalFileReader(), clock=clock,
                                 storage=storage) as app:
                dispatcher = Dispatcher(inbox=storage.inbox, users=storage.users, core=app.core, parse=parse_update,
                                        chat_of=update_chat_id, clock=clock, workers=4)
                await dispatcher.start()
                for index in range(users):
                    user = 700_000 + index
                    updates = {
                        "/start": lambda: message_update(user, "/start"),
                        "category": lambda: callback_update(user, messenger.button(user, "Картинки"), 1),
                        "model": lambda: callback_update(user, messenger.button(user, "Z-Image"), 2),
                        "prompt": lambda: message_update(user, "a lighthouse at dawn"),
                        "launch": lambda: callback_update(user, messenger.button(user, "Запустить"), 3),
                    }
                    for step in STEPS:
                        update = updates[step]()
                        before, sql_before = counted(), pgcount.snapshot()
                        await dispatcher.accept(update)
                        await dispatcher.wait_idle()
                        per_step[step] += counted() - before
                        for sql, calls in pgcount.delta(sql_before, pgcount.snapshot())["by_sql"].items():
                            step_sql[step][sql] = step_sql[step].get(sql, 0) + calls
                    await app.runner.wait_idle()
                job_calls = counted(job=True)
                await dispatcher.stop(grace=5)
        finally:
            await storage.close()
    return {"users": users, "per_step": {step: total / users for step, total in per_step.items()},
            "per_update": sum(per_step.values()) / (users * len(STEPS)), "job_per_journey": job_calls / users,
            "by_sql": pgcount.snapshot()["by_sql"], "by_step_sql": step_sql}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--tmp", required=True)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(journey(args.users, args.tmp))))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
