"""Deterministic reproductions of the two repeats bench/chaos.py found without a kill -9 (no network, seconds):

    python bench/repro_races.py

1. Dispatcher: an update processed twice by one process. ``load_pending`` (the sweeper, every second) reads the
   pending rows, and only later enqueues them; an update that finished in between — processed, ``inbox.done``,
   its id dropped from ``_known`` — is enqueued and processed again. Here the inbox's ``pending`` answers with
   what was pending when it was called, 0.1 s later (a query in flight).
2. JobRunner: a picture sent twice across a graceful stop. ``Instance._stand_down`` calls ``runner.stop()``,
   which cancels every job task at once; a task that has sent the picture but not yet stored DELIVERED is cut,
   the job stays SUCCEEDED, and the next active instance's ``resume`` sends the picture again. Here the stop
   comes while the DELIVERED transition is in flight (storage answering slowly).

Prints REPRODUCED or not reproduced for each; exit status 1 when any is reproduced.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.storage.json_storage import JsonStorage  # noqa: E402
from bench.memory import InstantGateway, LeanChat  # noqa: E402
from core.bot import Outcome  # noqa: E402
from core.job_runner import RunnerSettings  # noqa: E402
from entrypoints.dispatcher import Dispatcher  # noqa: E402
from entrypoints.settings import load_settings  # noqa: E402
from entrypoints.wiring import build_app  # noqa: E402
from ports.effects import SendMedia  # noqa: E402
from ports.events import CallbackPress, Command, TextMessage, UserRef  # noqa: E402
from ports.storage import InboxUpdate, JobState  # noqa: E402


class Clock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class SlowPendingInbox:
    def __init__(self) -> None:
        self.rows: dict[int, InboxUpdate] = {}
        self.done_ids: set[int] = set()

    async def put(self, update: InboxUpdate) -> bool:
        if update.update_id in self.rows:
            return False
        self.rows[update.update_id] = update
        return True

    async def pending(self, limit: int = 100) -> list[InboxUpdate]:
        snapshot = [u for i, u in sorted(self.rows.items()) if i not in self.done_ids][:limit]
        await asyncio.sleep(0.1)  # the SELECT's round trip: rows marked done meanwhile are still in the answer
        return snapshot

    async def done(self, update_id: int, now: datetime) -> None:
        self.done_ids.add(update_id)

    async def depth(self) -> int:
        return len(self.rows) - len(self.done_ids)


class CountingCore:
    def __init__(self) -> None:
        self.processed: list[int] = []
        self.messenger = self

    async def process(self, event: Any, answer_within: float | None = None) -> Outcome:
        self.processed.append(event.chat_id)
        await asyncio.sleep(0.05)  # a handler doing its storage calls
        return Outcome([], "test")

    async def apply(self, effects: Any) -> None:
        return None


async def dispatcher_race() -> bool:
    core = CountingCore()
    dispatcher = Dispatcher(
        inbox=SlowPendingInbox(), users=None, core=core,  # type: ignore[arg-type]
        parse=lambda payload: Command(UserRef(7), 7, "start"), chat_of=lambda payload: 7, clock=Clock(),
    )
    await dispatcher.start()
    await dispatcher.accept({"update_id": 1, "message": {"text": "/start"}})  # queued for processing
    sweep = asyncio.create_task(dispatcher.load_pending())  # the sweeper's tick, at the same moment
    await sweep
    await dispatcher.wait_idle()
    print(f"1. dispatcher: update 1 processed {len(core.processed)} time(s) by one process -> "
          f"{'REPRODUCED' if len(core.processed) > 1 else 'not reproduced'}")
    return len(core.processed) > 1


class SlowDeliveredJobs:
    """Wraps a Jobs role: the transition to DELIVERED takes 0.2 s (a slow database)."""

    def __init__(self, jobs: Any) -> None:
        self._jobs = jobs

    def __getattr__(self, name: str) -> Any:
        return getattr(self._jobs, name)

    async def transition(self, job_id: str, allowed_from: Any, to: JobState, **changes: Any) -> Any:
        if to is JobState.DELIVERED:
            await asyncio.sleep(0.2)
        return await self._jobs.transition(job_id, allowed_from, to, **changes)


class Pictures(LeanChat):
    """The bench's lean chat, counting pictures."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0
        self.first = asyncio.Event()

    async def apply(self, effects: Any) -> None:
        await super().apply(effects)
        for effect in effects:
            if isinstance(effect, SendMedia):
                self.sent += 1
                self.first.set()


async def launch_one(app: Any, chat: Pictures, user_id: int) -> None:
    """/start → category → Z-Image → prompt → 🚀 Запустить, through BotCore.process."""
    user, core = UserRef(user_id, "ru", None, "U"), app.core
    await core.process(Command(user, user_id, "start"))
    for label in ("Картинки и дизайн", "Z-Image"):
        message_id, data = chat.button(user_id, label)
        await core.process(CallbackPress(user, user_id, f"cb-{label[:3]}", data, message_id))
    await core.process(TextMessage(user, user_id, "a cat"))
    message_id, data = chat.button(user_id, "Запустить")
    await core.process(CallbackPress(user, user_id, "cb-go", data, message_id))


async def runner_stop_race() -> bool:
    with tempfile.TemporaryDirectory(prefix="trt-repro-") as directory:
        settings = load_settings({"DATA_DIR": directory, "WELCOME_BALANCE": "100"})
        chat = Pictures()
        runner_settings = RunnerSettings(poll_first=0.01, poll_max=0.05)
        storage = await JsonStorage.open(Path(directory))
        storage.jobs = SlowDeliveredJobs(storage.jobs)
        async with build_app(settings, messenger=chat, media=None, storage=storage, gateway=InstantGateway(),
                             runner_settings=runner_settings, resume=False) as app:
            await launch_one(app, chat, 42)
            await asyncio.wait_for(chat.first.wait(), 10)  # the picture is out; DELIVERED is being stored
            await app.runner.stop(grace=5)  # what Instance._stand_down does on SIGTERM (SHUTDOWN_GRACE_S)
            job = (await storage.jobs.for_user(42))[0]
        await storage.close()
        storage = await JsonStorage.open(Path(directory))  # the next active instance
        async with build_app(settings, messenger=chat, media=None, storage=storage, gateway=InstantGateway(),
                             runner_settings=runner_settings, resume=True) as app:
            await app.runner.wait_idle()
        await storage.close()
    print(f"2. job runner: job state after stop() {job.state.value}; picture sent {chat.sent} time(s) in all -> "
          f"{'REPRODUCED' if chat.sent > 1 else 'not reproduced'}")
    return chat.sent > 1


async def main_async() -> int:
    found = [await dispatcher_race(), await runner_stop_race()]
    return 1 if any(found) else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main_async()))
