"""bench/profile_report.py counts the event loop's wait for I/O as idle, with the pyinstrument we pin."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from pyinstrument import Profiler

from bench.profile_report import walk


def test_the_loops_wait_in_epoll_counts_as_idle_not_busy():
    profiler = Profiler(interval=0.001, async_mode="disabled")
    profiler.start()
    asyncio.run(asyncio.sleep(0.2))  # nothing to do: the loop waits in epoll the whole time
    session = profiler.stop()

    self_by: dict[str, float] = defaultdict(float)
    idle = [0.0]
    walk(session.root_frame(), (), self_by, defaultdict(float), defaultdict(float), idle)

    assert idle[0] >= 0.1
    assert not any(name.startswith(("epoll.poll ", "poll.poll ")) for name in self_by)  # the wait is not "busy"
