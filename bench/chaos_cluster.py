"""The processes of a chaos or scale run: bot instances on one database (started, killed, stopped, restarted, with
their CPU time summed over restarts), which of them leads (per /health), and a fake KIE server that timestamps
every createTask it receives, so the account budget can be checked at KIE's side."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp import web

from adapters.kie.fake_server import FakeKieServer
from bench.common import base_env, cpu_seconds, free_port, health, start_process, wait_healthy


@dataclass
class Node:
    name: str
    port: int
    env: dict[str, str]
    log: Path
    script: str = "main_render.py"
    process: Any = None
    starts: int = 0
    cpu_before: float = 0.0  # CPU seconds of this node's earlier processes

    async def start(self) -> None:
        self.process = await start_process(self.script, self.env, self.log)
        self.starts += 1
        await wait_healthy(self.port, active=None, timeout=60, process=self.process)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def cpu(self) -> float:
        """CPU seconds used by every process of this node so far."""
        current = 0.0
        if self.alive:
            try:
                current = cpu_seconds(self.process.pid)
            except (FileNotFoundError, ProcessLookupError):
                pass
        return self.cpu_before + current

    async def hit(self, kind: str, timeout: float = 60.0) -> int:
        """``kill9`` or ``sigterm``; waits for the exit and returns its code."""
        self.cpu_before = self.cpu()  # the last reading: after the exit /proc has nothing
        if kind == "kill9":
            self.process.kill()
        else:
            self.process.terminate()
        try:
            return await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            return -999  # did not stop within the timeout: reported as such


async def roles(nodes: list[Node]) -> dict[str, str]:
    """name → "leader" (holds the lock), "follower" (serves), or "down"."""
    bodies = await asyncio.gather(*(health(n.port, timeout=1.0) if n.alive else _none() for n in nodes))
    return {n.name: ("down" if body is None else "leader" if body.get("lock_acquired") is True else "follower")
            for n, body in zip(nodes, bodies)}


async def _none() -> None:
    return None


async def leader(nodes: list[Node]) -> Node | None:
    found = await roles(nodes)
    return next((n for n in nodes if found[n.name] == "leader"), None)


async def wait_for_leader(nodes: list[Node], timeout: float, exclude: Node | None = None) -> Node | None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        found = await leader(nodes)
        if found is not None and found is not exclude:
            return found
        await asyncio.sleep(0.02)
    return None


@dataclass
class RoleWatch:
    """Every node's role, refreshed in the background (a post is attributed to its target's role at that time)."""

    nodes: list[Node]
    current: dict[str, str] = field(default_factory=dict)
    task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RoleWatch:
        self.current = await roles(self.nodes)
        self.task = asyncio.create_task(self._loop())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(0.2)
            self.current = await roles(self.nodes)


class CountingKie(FakeKieServer):
    """FakeKieServer recording when each createTask arrived (perf_counter) and the envelope code it answered."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.create_at: list[float] = []
        self.create_codes: list[int] = []

    async def _create_task(self, request: web.Request, body: Any) -> web.Response:
        self.create_at.append(time.perf_counter())
        response = await super()._create_task(request, body)
        try:
            self.create_codes.append(int(json.loads(response.body)["code"]))
        except (TypeError, ValueError, KeyError):
            self.create_codes.append(-1)
        return response


async def settle(dsn: str, timeout: float) -> tuple[int, int]:
    """Wait until the inbox is drained and every job has finished; (inbox rows pending, jobs unfinished)."""
    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.perf_counter() + timeout
        while True:
            pending = await conn.fetchval("SELECT count(*) FROM inbox WHERE done_at IS NULL")
            running = await conn.fetchval("SELECT count(*) FROM jobs WHERE state NOT IN ('delivered', 'refunded')")
            if (pending == 0 and running == 0) or time.perf_counter() > deadline:
                return pending, running
            await asyncio.sleep(0.25)
    finally:
        await conn.close()


def make_nodes(count: int, api: Any, kie: FakeKieServer, dsn: str, workdir: Path, script: str,
               **extra: str) -> list[Node]:
    """``count`` instances "a", "b", "c"… of ``script`` on one database, each on its own port, in webhook mode."""
    workdir.mkdir(parents=True, exist_ok=True)
    common = {"DATABASE_URL": dsn, "KIE_API_KEY": kie.api_key, "KIE_API_BASE_URL": kie.api_base_url,
              "KIE_UPLOAD_BASE_URL": kie.upload_base_url, **extra}
    nodes = []
    for name in "abcdefgh"[:count]:
        port = free_port()
        nodes.append(Node(name, port, base_env(api, port, INSTANCE_ID=name, **common), workdir / f"{name}.log", script))
    return nodes


async def database_cpu(dsn: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to this database (pid → seconds)."""
    conn = await asyncpg.connect(dsn)
    try:
        pids = [r["pid"] for r in await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
    finally:
        await conn.close()
    found = {}
    for pid in pids:
        try:
            found[pid] = cpu_seconds(pid)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            pass
    return found


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two database_cpu readings (a backend started in between counts from zero)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())
