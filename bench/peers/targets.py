"""The processes compare.py measures, each started the same way: a subprocess serving ``POST /webhook/{path}``
and ``GET /health`` on a loopback port, stderr to a log file.

- ``floor_bare``: bench/bare_server.py (read the body, answer 200);
- ``floor_pg``: bench/peers/floor_server.py (plus one durable INSERT per update);
- ``ours`` (and any ``--ours LABEL=ROOT``, e.g. main's code in a second worktree): ROOT/bench/bot_process.py,
  main_render.py's wiring on PostgreSQL (a throwaway database), outbound pacing off;
- ``ptb``: bench/peers/ptb_bot.py; ``aiogram``: bench/peers/aiogram_bot.py in bench/.venv-peers, created on first
  use from bench/peers/requirements.txt (``--system-site-packages``: only aiogram and its small deps are added).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import ROOT, SECRET_TOKEN, TimedBotApi, base_env

PEERS = ROOT / "bench" / "peers"
VENV = ROOT / "bench" / ".venv-peers"


@dataclass
class Target:
    name: str
    script: Path
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = ROOT
    python: str = sys.executable
    replies: bool = True  # False for the floors: they answer the webhook and nothing else
    dsn: str | None = None  # the database it needs (set by the driver)

    async def start(self, port: int, api: TimedBotApi, log_path: Path) -> asyncio.subprocess.Process:
        args = [arg.format(port=port, api=api.base_url, token=api.token, secret=SECRET_TOKEN, dsn=self.dsn or "")
                for arg in self.args]
        env = {**_plain_env(), **self.env}
        if self.name.startswith("ours"):
            env = base_env(api, port, DATABASE_URL=self.dsn or "", BENCH_TELEGRAM_LIMITS="off", **self.env)
        log = open(log_path, "ab")  # noqa: SIM115 - the child keeps its own copy
        try:
            return await asyncio.create_subprocess_exec(
                self.python, str(self.script), *args, cwd=self.cwd, env=env,
                stdout=asyncio.subprocess.DEVNULL, stderr=log,
            )
        finally:
            log.close()


def _plain_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
            "PTB_TIMEDELTA": "1"}


def floors() -> list[Target]:
    return [
        Target("floor_bare", ROOT / "bench" / "bare_server.py", ["{port}"], replies=False),
        Target("floor_pg", PEERS / "floor_server.py", ["{port}", "{dsn}"], replies=False),
    ]


def ours(label: str, root: Path) -> Target:
    return Target(label, root / "bench" / "bot_process.py", cwd=root)


def ptb() -> Target:
    return Target("ptb", PEERS / "ptb_bot.py", ["{port}", "{api}", "{token}", "{secret}"])


def aiogram() -> Target | None:
    """The aiogram peer in its own venv; None (with a note on stderr) when it cannot be installed."""
    python = VENV / "bin" / "python"
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(VENV)], check=True)
        probe = subprocess.run([str(python), "-c", "import aiogram"], capture_output=True)
        if probe.returncode != 0:
            subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(PEERS / "requirements.txt")],
                           check=True)
    except (OSError, subprocess.CalledProcessError) as error:
        print(f"aiogram peer skipped: cannot prepare {VENV} ({error})", file=sys.stderr)
        return None
    return Target("aiogram", PEERS / "aiogram_bot.py", ["{port}", "{api}", "{token}", "{secret}"], python=str(python))
