"""Resident memory of one bot instance, idle and after U distinct users have each done one journey.

    python bench/memory.py [--users 2000] [--storage postgres|json] [--concurrency 32]

How it is driven (in-process, for speed): the wired app (entrypoints.wiring.build_app: catalog, storage,
JobRunner, BotCore) gets each user's events directly through ``BotCore.process`` — /start, the image category,
Z-Image, a prompt, 🚀 Запустить — the way the dispatcher hands them over, without HTTP, the inbox or the
dispatcher's rate limiter. The messenger is a lean in-memory chat (not the simulator's SimulatedChat, which keeps
and prints every message and would grow with the users itself): it keeps only each user's latest keyboard until
their picture arrives. Generation goes through InstantGateway, a bench stub that finishes every task at once and
forgets it (FakeKieGateway keeps every task and writes files, which would be its memory, not the bot's); jobs
still go through the JobRunner: submitted, polled, delivered. So the RSS growth measured is the bot's own:
storage adapter, core, runner, asyncpg, Python's allocator.

RSS is VmRSS of this process (/proc/self/status) after gc.collect(): once with the app wired and idle, then every
--every users, then at the end. With --storage json the time per journey is printed as the state grows (each
change is a journal line; the snapshot is rewritten only at compaction, in a child process).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.telegram.fake_bot_api import FakeBotApi  # noqa: E402
from bench.common import base_env, free_port, rss_kib, start_process, stop_process, throwaway_database, wait_healthy  # noqa: E402
from core.job_runner import RunnerSettings  # noqa: E402
from entrypoints.settings import load_settings  # noqa: E402
from entrypoints.wiring import build_app  # noqa: E402
from ports.effects import EditScreen, Effect, SendMedia, SendScreen  # noqa: E402
from ports.events import CallbackPress, Command, TextMessage, UserRef  # noqa: E402
from ports.generation import GatewayHealth, GenerationRequest, TaskState, TaskStatus, UnknownTaskError  # noqa: E402

USER_BASE = 8_000_000


class InstantGateway:
    """GenerationGateway stub: every task has succeeded by the first status call, then is forgotten."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._open: set[str] = set()

    async def submit(self, request: GenerationRequest) -> str:
        task_id = f"instant-{next(self._ids)}"
        self._open.add(task_id)
        return task_id

    async def status(self, task_id: str) -> TaskStatus:
        if task_id not in self._open:
            raise UnknownTaskError(task_id)
        self._open.discard(task_id)
        return TaskStatus(task_id, TaskState.SUCCESS, result_urls=("https://files.invalid/result.png",), progress=100)

    async def upload(self, data: bytes, file_name: str, mime_type: str) -> str:
        raise NotImplementedError

    async def credits(self) -> Any:
        return 0

    def health(self) -> GatewayHealth:
        return GatewayHealth("ok")


class LeanChat:
    """Messenger keeping, per chat, only the newest message with buttons and a waiter for the picture."""

    def __init__(self) -> None:
        self.keyboards: dict[int, tuple[int, Any]] = {}  # chat → (message id, keyboard)
        self.texts: dict[int, str] = {}
        self.pictures: dict[int, asyncio.Event] = {}
        self._ids = itertools.count(1)

    async def apply(self, effects: Sequence[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, SendScreen | EditScreen):
                message_id = effect.message_id if isinstance(effect, EditScreen) else next(self._ids)
                self.texts[effect.chat_id] = effect.screen.text
                if effect.screen.keyboard:
                    self.keyboards[effect.chat_id] = (message_id, effect.screen.keyboard)
            elif isinstance(effect, SendMedia) and effect.caption:
                waiter = self.pictures.get(effect.chat_id)
                if waiter is not None:
                    waiter.set()

    def button(self, chat: int, label: str) -> tuple[int, str]:
        message_id, keyboard = self.keyboards[chat]
        data = next(b.data for row in keyboard for b in row if label in b.label and b.data)
        return message_id, data

    def forget(self, chat: int) -> None:
        self.keyboards.pop(chat, None)
        self.texts.pop(chat, None)
        self.pictures.pop(chat, None)


async def journey(app: Any, chat: LeanChat, user_id: int, timeout: float) -> None:
    user = UserRef(user_id, "ru", None, f"User{user_id}")
    core = app.core
    picture = chat.pictures[user_id] = asyncio.Event()
    await core.process(Command(user, user_id, "start"))
    for label in ("Картинки и дизайн", "Z-Image"):
        message_id, data = chat.button(user_id, label)
        await core.process(CallbackPress(user, user_id, f"cb{user_id}{label[:3]}", data, message_id))
    await core.process(TextMessage(user, user_id, f"mem{user_id}"))
    message_id, data = chat.button(user_id, "Запустить")
    await core.process(CallbackPress(user, user_id, f"cb{user_id}go", data, message_id))
    await asyncio.wait_for(picture.wait(), timeout)
    chat.forget(user_id)


async def idle_process_rss(storage: str, directory: Path, dsn: str | None) -> float:
    """VmRSS (MiB) of a real ``main_render.py`` process, webhook mode, idle 2 s after it became active."""
    async with FakeBotApi() as api:
        port = free_port()
        extra = {"DATABASE_URL": dsn} if dsn else {"DATA_DIR": str(directory / "idle-data")}
        process = await start_process("main_render.py", base_env(api, port, **extra), directory / "idle.log")
        try:
            await wait_healthy(port, active=True, process=process)
            await asyncio.sleep(2)
            return rss_kib(process.pid) / 1024
        finally:
            await stop_process(process)


def rss_now() -> float:
    gc.collect()
    return rss_kib() / 1024


async def main_async(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="trt-bench-mem-") as directory:
        async with AsyncExitStack() as stack:
            settings = load_settings({"DATA_DIR": str(Path(directory) / "data"), "WELCOME_BALANCE": "100"})
            storage, dsn = None, None
            if args.storage == "postgres":
                from adapters.storage.postgres import PostgresStorage

                dsn = await stack.enter_async_context(throwaway_database())
                storage = await PostgresStorage.open(dsn, migrate=False)
                stack.push_async_callback(storage.close)
            idle_process = await idle_process_rss(args.storage, Path(directory), dsn)
            print(f"main_render.py idle (webhook, {args.storage}, separate process): RSS {idle_process:.1f} MiB", flush=True)
            chat = LeanChat()
            before_app = rss_now()
            app = await stack.enter_async_context(build_app(
                settings, messenger=chat, media=None, storage=storage, gateway=InstantGateway(),
                runner_settings=RunnerSettings(poll_first=0.01, poll_max=0.05), resume=False,
            ))
            idle = rss_now()
            print(f"storage={args.storage}: RSS before wiring {before_app:.1f} MiB, idle (wired, storage open) {idle:.1f} MiB",
                  flush=True)
            await journey(app, chat, USER_BASE - 1, args.timeout)  # warm: statements prepared, lazy imports done
            warm = rss_now()
            print(f"after 1 warm-up journey: {warm:.1f} MiB", flush=True)
            slots = asyncio.Semaphore(args.concurrency)
            done, started, last = 0, time.perf_counter(), time.perf_counter()

            async def one(user_id: int) -> None:
                nonlocal done
                async with slots:
                    await journey(app, chat, user_id, args.timeout)
                done += 1

            checkpoints = []
            for first in range(0, args.users, args.every):
                batch = range(first, min(first + args.every, args.users))
                await asyncio.gather(*(one(USER_BASE + n) for n in batch))
                await app.runner.wait_idle()
                now = time.perf_counter()
                rss = rss_now()
                per_journey = (now - last) * 1000 / len(batch)
                checkpoints.append((done, rss, per_journey))
                print(f"  {done:>6} users: RSS {rss:7.1f} MiB  (last {len(batch)}: {per_journey:6.1f} ms of wall time per "
                      f"journey, {args.concurrency} at a time)", flush=True)
                last = now
            elapsed = time.perf_counter() - started
            final = rss_now()
            peak = rss_kib(key="VmHWM") / 1024
            growth = (final - warm) * 1024 * 1024 / max(done, 1)
            print(f"\nstorage={args.storage}: idle {idle:.1f} MiB → {final:.1f} MiB after {done} users "
                  f"(peak {peak:.1f} MiB); growth {final - warm:+.1f} MiB = {growth:,.0f} bytes per user; "
                  f"{done / elapsed:.1f} journeys/s ({elapsed:.1f} s)")
            if args.storage == "json":
                state = Path(directory) / "data" / "state.json"
                if state.exists():
                    print(f"state.json is {state.stat().st_size / 1024 / 1024:.1f} MiB; wall ms per journey went "
                          f"{checkpoints[0][2]:.1f} → {checkpoints[-1][2]:.1f} as the file grew")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=None, help="distinct users, one journey each "
                        "(default 2000 with postgres, 300 with json)")
    parser.add_argument("--storage", choices=("postgres", "json"), default="postgres")
    parser.add_argument("--concurrency", type=int, default=32, help="journeys in flight at once")
    parser.add_argument("--every", type=int, default=1000, help="print RSS every this many users")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for a picture")
    args = parser.parse_args(argv)
    if args.users is None:
        args.users = 2000 if args.storage == "postgres" else 300
    args.every = min(args.every, args.users)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
