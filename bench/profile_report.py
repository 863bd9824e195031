"""Summarise a pyinstrument session saved by bench/bot_process.py (BENCH_PROFILE; e2e_throughput.py --profile).

    python bench/profile_report.py bench-profile.postgres.pyisession [--top 25] [--tree]

The session samples the bot's event-loop thread with async_mode disabled, so idle time is the loop waiting in
``selectors.select``. Printed, as shares of the busy (non-idle) time: self time by component (library or
project package), the functions with the most self time, and the project functions with the most inclusive
time (the CPU spent while they are on the stack, awaited work excluded: a coroutine waiting is not on the stack).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from pyinstrument.session import Session

COMPONENTS = (
    ("asyncpg", "asyncpg"), ("aiohttp", "aiohttp"), ("httpx", "httpx"), ("httpcore", "httpx"), ("h11", "httpx"),
    ("anyio", "httpx"), ("telegram", "python-telegram-bot"), ("logging", "logging"), ("json", "json"),
    ("asyncio", "asyncio"), ("selectors", "asyncio"), ("ssl", "ssl"), ("pydantic", "pydantic"), ("yaml", "yaml"),
    ("core/", "project core/"), ("adapters/", "project adapters/"), ("entrypoints/", "project entrypoints/"),
    ("ports/", "project ports/"),
)
PROJECT = ("core/", "adapters/", "entrypoints/", "ports/")


def component(frame: Any) -> str:
    path = (frame.file_path or "").replace("\\", "/")
    for marker, name in COMPONENTS:
        if f"/{marker}" in path or path.startswith(marker) or f"/{marker}/" in path:
            return name
    return "other (" + (Path(path).parent.name or "?") + ")"


IDLE_CALLS = ("epoll.poll", "poll.poll", "devpoll.poll", "kqueue.control", "select")


def is_idle(frame: Any) -> bool:
    """The loop waiting for I/O: selectors' select() and the epoll/poll call under it. pyinstrument 5.1 names
    the C call ``epoll.poll`` as its function, with no class; older versions give the class separately."""
    name = ".".join(part for part in (getattr(frame, "class_name", None), frame.function) if part)
    return name in IDLE_CALLS or (frame.function == "select" and (frame.file_path or "").endswith("selectors.py"))


def label(frame: Any) -> str:
    path = frame.file_path or "?"
    for root in ("site-packages/", "lib/python3.11/"):
        if root in path:
            path = path.split(root, 1)[1]
    if "/work/" in path or "/tmp/" in path:
        for marker in PROJECT:
            if f"/{marker}" in path:
                path = marker + path.split(f"/{marker}", 1)[1]
                break
    name = f"{frame.class_name}.{frame.function}" if getattr(frame, "class_name", None) else frame.function
    return f"{name}  ({path}:{frame.line_no})"


def walk(frame: Any, stack: tuple[str, ...], self_by: dict, incl_by: dict, comp: dict, idle: list[float]) -> None:
    if frame.is_synthetic:
        return  # "[self]"/"[await]" leaves: already in their parent's total_self_time
    own = frame.total_self_time
    if own:
        if is_idle(frame):
            idle[0] += own
        else:
            self_by[label(frame)] += own
            comp[component(frame)] += own
    key = label(frame)
    if any(f"/{m}" in (frame.file_path or "") for m in PROJECT) and key not in stack:
        incl_by[key] += frame.time - _idle_below(frame)
        stack = (*stack, key)
    for child in frame.children:
        walk(child, stack, self_by, incl_by, comp, idle)


def _idle_below(frame: Any) -> float:
    if frame.is_synthetic:
        return 0.0
    return (frame.total_self_time if is_idle(frame) else 0.0) + sum(_idle_below(c) for c in frame.children)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("session", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--tree", action="store_true", help="also print pyinstrument's call tree")
    args = parser.parse_args(argv)
    session = Session.load(str(args.session))
    root = session.root_frame()
    self_by: dict[str, float] = defaultdict(float)
    incl_by: dict[str, float] = defaultdict(float)
    comp: dict[str, float] = defaultdict(float)
    idle = [0.0]
    walk(root, (), self_by, incl_by, comp, idle)
    busy = sum(self_by.values())
    total = busy + idle[0]
    print(f"{args.session.name}: {session.duration:.2f} s sampled, busy {busy:.2f} s ({busy / total:.0%}), "
          f"idle in select {idle[0]:.2f} s; shares below are of the busy time\n")
    print("self time by component:")
    for name, seconds in sorted(comp.items(), key=lambda kv: -kv[1])[: args.top]:
        print(f"  {seconds / busy:6.1%}  {seconds:7.3f} s  {name}")
    print(f"\ntop {args.top} functions by self time:")
    for name, seconds in sorted(self_by.items(), key=lambda kv: -kv[1])[: args.top]:
        print(f"  {seconds / busy:6.1%}  {name}")
    print(f"\ntop {args.top} project functions by inclusive CPU time:")
    for name, seconds in sorted(incl_by.items(), key=lambda kv: -kv[1])[: args.top]:
        print(f"  {seconds / busy:6.1%}  {name}")
    if args.tree:
        from pyinstrument.renderers import ConsoleRenderer

        print(ConsoleRenderer(unicode=True, color=False, time="percent_of_total").render(session))
    return 0


if __name__ == "__main__":
    sys.exit(main())
