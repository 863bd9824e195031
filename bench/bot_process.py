"""The bot as ``main_render.py`` runs it (same settings, same Instance, same aiohttp server, same PTB Bot and
TelegramMessenger), plus benchmark knobs read from the environment:

- BENCH_POLL_FIRST / BENCH_POLL_MAX (seconds): the job runner's polling (main_render uses 2.5 s → 30 s);
- BENCH_TELEGRAM_LIMITS=off: no outbound pacing (the messenger's 1 message/s per chat and 30/s overall are
  Telegram's limits, not the bot's own cost; "real", the default, keeps them);
- BENCH_COUNT_QUERIES=1: count asyncpg calls (bench/pgcount.py);
- BENCH_STATS=<path>: on SIGUSR1, write {"cpu_s", "rss_kib", "queries"} there as JSON (a snapshot; the bench
  takes one before and one after its load window);
- BENCH_PROFILE=<path>: SIGUSR2 starts pyinstrument, a second SIGUSR2 stops it and saves the session there.

SIGTERM/SIGINT stop it like main_render.py. Run by the bench scripts, not by hand.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import pgcount  # noqa: E402

if os.environ.get("BENCH_COUNT_QUERIES") == "1":
    pgcount.install()  # before anything opens a connection

from adapters.telegram.messenger import TelegramMessenger  # noqa: E402
from core.job_runner import RunnerSettings  # noqa: E402
from entrypoints.server import install_signal_handlers, make_bot, make_instance, run_instance  # noqa: E402
from entrypoints.settings import load_settings, read_environment, require_telegram  # noqa: E402
from entrypoints.telemetry import configure_logging  # noqa: E402


def write_stats(path: str) -> None:
    times = os.times()
    with open(path + ".tmp", "w") as out:
        json.dump({"cpu_s": times.user + times.system, "rss_kib": _rss(), "queries": pgcount.snapshot()}, out)
    os.replace(path + ".tmp", path)


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Profiling:
    def __init__(self, path: str | None) -> None:
        self.path, self.profiler = path, None

    def toggle(self) -> None:
        if self.path is None:
            return
        from pyinstrument import Profiler

        if self.profiler is None:
            # async_mode disabled: sample the event loop thread as it is, idle time (epoll) included, so the
            # report shows where the CPU goes rather than which coroutine was waiting.
            self.profiler = Profiler(interval=0.001, async_mode="disabled")
            self.profiler.start()
        else:
            session = self.profiler.stop()
            session.save(self.path)
            self.profiler = None


async def run() -> int:
    settings = load_settings(read_environment())
    require_telegram(settings)
    configure_logging(settings.LOG_LEVEL, settings.LOG_FORMAT, settings.secrets())
    stop = asyncio.Event()
    install_signal_handlers(stop)
    loop = asyncio.get_running_loop()
    stats_path = os.environ.get("BENCH_STATS")
    if stats_path:
        loop.add_signal_handler(signal.SIGUSR1, write_stats, stats_path)
    profiling = Profiling(os.environ.get("BENCH_PROFILE"))
    loop.add_signal_handler(signal.SIGUSR2, profiling.toggle)

    bot = make_bot(settings)
    await bot.initialize()
    if os.environ.get("BENCH_TELEGRAM_LIMITS", "real") == "off":
        messenger = TelegramMessenger(bot, per_chat_interval=0.0, global_per_second=1e6)
    else:
        messenger = TelegramMessenger(bot)
    runner = RunnerSettings(
        poll_first=float(os.environ.get("BENCH_POLL_FIRST", "2.5")),
        poll_max=float(os.environ.get("BENCH_POLL_MAX", "30")),
        submit_backoff=0.05, callback_url=settings.kie_callback_url(),
    )
    try:
        instance = make_instance(settings, bot, runner_settings=runner, messenger=messenger)
        await run_instance(instance, settings, stop, host="127.0.0.1")
    finally:
        await bot.shutdown()
    return 0

if __name__ == "__main__":
    sys.exit(asyncio.run(run()))
