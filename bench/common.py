"""What every benchmark shares: statistics, process and /proc helpers, throwaway PostgreSQL databases, and a
FakeBotApi that timestamps every call it receives (so the time from an update to the bot's reply is measured
where Telegram would see it).

Every address used here is on loopback; every loop is bounded in count and time.
"""

from __future__ import annotations

import asyncio
import os
import platform
import socket
import statistics
import sys
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Callable

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import asyncpg  # noqa: E402

from adapters.telegram.fake_bot_api import FakeBotApi, SentMessage  # noqa: E402
from entrypoints.fake_stack import SECRET_PATH, SECRET_TOKEN  # noqa: E402
from entrypoints.smoke_checks import SECRET_HEADER, percentile  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
ACK_LIMIT_MS = 200.0  # the runbook's fast-ack promise

__all__ = ["ROOT", "SECRET_PATH", "SECRET_TOKEN", "SECRET_HEADER", "ACK_LIMIT_MS"]


# --- statistics ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    n: int
    p50: float
    p99: float
    max: float
    mean: float

    @classmethod
    def of(cls, values: list[float]) -> Summary:
        if not values:
            return cls(0, float("nan"), float("nan"), float("nan"), float("nan"))
        return cls(len(values), statistics.median(values), percentile(values, 0.99), max(values), statistics.fmean(values))

    def line(self, unit: str = "ms") -> str:
        return f"n={self.n} p50={self.p50:.1f} {unit} p99={self.p99:.1f} {unit} max={self.max:.1f} {unit}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b > 0 else "n/a"


# --- processes and /proc ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time of a process (this one by default), from /proc/<pid>/stat."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14 and 15 of stat)


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / CLK_TCK, sum(values[:8]) / CLK_TCK


def rss_kib(pid: int | str = "self", key: str = "VmRSS") -> int:
    """Resident memory (VmRSS, or VmHWM for the peak) in KiB, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise LookupError(key)


def base_env(api: FakeBotApi, port: int, **extra: str) -> dict[str, str]:
    """The environment of a bot process in webhook mode against ``api``. Built from scratch (no DATABASE_URL
    or KIE key leaks in from the caller's shell). No KIE_CALLBACK_TOKEN: the fake KIE would otherwise POST
    callbacks to WEBHOOK_BASE_URL, which is not on loopback; jobs are polled instead."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
        "TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_API_BASE_URL": api.base_url, "BOT_MODE": "webhook",
        "WEBHOOK_BASE_URL": "https://bot.example", "WEBHOOK_SECRET_PATH": SECRET_PATH,
        "WEBHOOK_SECRET_TOKEN": SECRET_TOKEN, "WELCOME_BALANCE": "100", "PORT": str(port), "PTB_TIMEDELTA": "1",
        "FREE_DAILY_LIMIT": "0",  # paid journeys, as measured before the free tier existed
    }
    if "KIE_API_KEY" not in extra:
        env["KIE_MODE"] = "fake"  # on purpose: main_render.py refuses to start without a key otherwise
    env.update(extra)
    return env


async def start_process(script: str, env: dict[str, str], log_path: Path, *args: str) -> asyncio.subprocess.Process:
    """``python <script> args…`` from the repo root, stderr appended to ``log_path`` (a file: an unread pipe
    would fill up and block the child)."""
    log = open(log_path, "ab")  # noqa: SIM115 - the child has its own copy; ours is closed at once
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable, script, *args, cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=log,
        )
    finally:
        log.close()


async def health(port: int, timeout: float = 2.0) -> dict[str, Any] | None:
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http:
            async with http.get(f"http://127.0.0.1:{port}/health") as response:
                return await response.json() if response.status == 200 else None
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None


async def wait_healthy(port: int, *, active: bool | None = True, timeout: float = 30.0,
                       process: asyncio.subprocess.Process | None = None) -> float:
    """Wait until /health answers (and, with ``active``, says that mode); the seconds it took."""
    started = time.perf_counter()
    async with asyncio.timeout(timeout):
        while True:
            if process is not None and process.returncode is not None:
                raise RuntimeError(f"the bot process exited with {process.returncode} before becoming healthy")
            body = await health(port)
            if body is not None and (active is None or (body.get("mode") == "active") == active):
                return time.perf_counter() - started
            await asyncio.sleep(0.05)


async def stop_process(process: asyncio.subprocess.Process, timeout: float = 30.0) -> int:
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
    return process.returncode


# --- PostgreSQL -----------------------------------------------------------------------------------


@asynccontextmanager
async def throwaway_database() -> AsyncIterator[str]:
    """A migrated database ``trt_test_…`` of our own (tests/pg.py), dropped afterwards; its DSN."""
    from tests.pg import scratch_database  # imported late: it pulls in pytest

    async with scratch_database(migrated=True) as dsn:
        yield dsn


async def transactions(dsn: str) -> int:
    """xact_commit + xact_rollback of the database ``dsn`` names, from pg_stat_database. Backends publish their
    counts at transaction end at most once a second, and when they exit: read it after closing the pool."""
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
        )
    finally:
        await conn.close()


async def server_version(dsn: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()


def machine() -> dict[str, str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "?")
    mem_kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal:"))
    return {"nproc": str(os.cpu_count()), "cpu": cpu, "ram": f"{mem_kib / 1024 / 1024:.1f} GiB",
            "python": platform.python_version(), "kernel": platform.release()}


# --- a Bot API that times what it receives --------------------------------------------------------


@dataclass
class ApiEvent:
    at: float  # time.perf_counter() when the request reached the fake, before it was handled
    method: str  # lower-case Bot API method
    chat_id: int | None
    callback_id: str | None = None  # or pre-checkout query id
    text: str | None = None  # text or caption as sent (HTML source)
    error: str | None = None  # the fake's error description when the call failed; None = it succeeded


class TimedBotApi(FakeBotApi):
    """FakeBotApi recording each call's arrival time, per chat; ``wait_until`` wakes on every call for a chat."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.events: list[ApiEvent] = []
        self.by_chat: dict[int, list[ApiEvent]] = {}
        self._callback_chat: dict[str, int] = {}
        self._waiters: dict[int, asyncio.Event] = {}
        for name, handler in list(self._handlers.items()):
            self._handlers[name] = self._timed(name, handler)

    def _timed(self, name: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        async def timed(params: dict[str, Any], files: dict[str, Any]) -> Any:
            callback_id = params.get("callback_query_id") or params.get("pre_checkout_query_id")
            chat = self._callback_chat.get(callback_id) if callback_id is not None else params.get("chat_id")
            chat = chat if isinstance(chat, int) else None
            text = params.get("text", params.get("caption"))
            event = ApiEvent(time.perf_counter(), name, chat, callback_id, text if isinstance(text, str) else None)
            self.events.append(event)
            if chat is not None:
                self.by_chat.setdefault(chat, []).append(event)
            try:
                return await handler(params, files)
            except Exception as error:  # ApiError: the fake answers an error; recorded, then re-raised
                event.error = getattr(error, "description", None) or type(error).__name__
                raise
            finally:
                if chat is not None:
                    waiter = self._waiters.pop(chat, None)
                    if waiter is not None:
                        waiter.set()

        return timed

    def register_update(self, update: dict[str, Any]) -> None:
        super().register_update(update)
        for kind in ("callback_query", "pre_checkout_query"):  # answered by id: the chat is the sender's
            query = update.get(kind)
            if isinstance(query, dict):
                self._callback_chat[query["id"]] = query["from"]["id"]

    def first_reply_after(self, chat_id: int, since: float) -> float | None:
        """When the first call for this chat arrived at or after ``since`` (perf_counter), if any."""
        found = None
        for event in reversed(self.by_chat.get(chat_id, ())):  # appended in arrival order
            if event.at < since:
                break
            found = event.at
        return found

    def newest_with_buttons(self, chat_id: int) -> SentMessage | None:
        for message in reversed(self.messages(chat_id)):
            if message.from_bot and message.buttons:
                return message
        return None

    async def wait_until(self, chat_id: int, predicate: Callable[[], Any], timeout: float) -> Any:
        """Wait until ``predicate()`` is truthy (checked after every call for this chat); its value, or None."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            waiter = self._waiters.setdefault(chat_id, asyncio.Event())
            try:
                await asyncio.wait_for(waiter.wait(), remaining)
            except TimeoutError:
                return predicate() or None
