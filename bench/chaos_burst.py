"""The burst part of bench/chaos.py (issue 17's "60 launches in 10 seconds"): --burst-users users, each at the
launch screen of its own Z-Image order on instances spread at random, all press 🚀 Запустить within a second.

KIE allows 20 createTask per 10 s for the account and answers 429 to the rest. Checked: the busiest 10 s at the
fake KIE server holds at most 20 calls and none was refused; every launch ends with its picture; the users
beyond the first 20 were told their place in the queue (a message or edit with a number after "очеред…", as in
"в очереди: 3-й"; the plain "🕐 В очереди…" status does not count); the money
invariants. Reported: how long the last picture took, and which instances processed the presses.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from pathlib import Path

import aiohttp

from bench.chaos_cluster import CountingKie, RoleWatch, make_nodes, settle, wait_for_leader
from bench.chaos_invariants import Verdicts, check_kie_budget, check_money, load_rows
from bench.chaos_load import Balancer, ChaosUser, Tally
from bench.chaos_logs import dispatch_counts
from bench.common import TimedBotApi, throwaway_database
from bench.journey import LAUNCH, Recorder, media_with

USER_BASE = 8_000_000
KIE_LIMIT, KIE_WINDOW = 20, 10.0
QUEUE_PLACE = re.compile(r"очеред[^\n\d]{0,24}\d+", re.IGNORECASE)  # "в очереди: 3-й", not "🕐 В очереди…"


async def burst_run(instances: int, users: int, workdir: Path, seed: int, kie_speed: float, wait: float,
                    v: Verdicts) -> list[str]:
    rng = random.Random(seed)
    lines: list[str] = []
    async with throwaway_database() as dsn, TimedBotApi() as api, \
            CountingKie(speed=kie_speed, rate_limit=KIE_LIMIT, rate_window=KIE_WINDOW) as kie:
        nodes = make_nodes(instances, api, kie, dsn, workdir / "burst", "main_render.py", LOCK_RETRY_SECONDS="0.5",
                           RATE_LIMIT_BURST="100", RATE_LIMIT_PER_SECOND="100")
        try:
            await asyncio.gather(*(node.start() for node in nodes))
            await wait_for_leader(nodes, 30)
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http, \
                    RoleWatch(nodes) as watch:
                balancer, tally = Balancer(http, nodes, watch, rng, 30.0), Tally()
                crowd = [ChaosUser(api, balancer.post, Recorder(), USER_BASE + u, wait, tag=True, tally=tally)
                         for u in range(users)]
                ready = await asyncio.gather(*(user.browse(f"b{user.id}") for user in crowd))
                at_screen = [user for user, ok in zip(crowd, ready) if ok]
                kie_before = len(kie.create_at)
                pressed = time.perf_counter()
                done = await asyncio.gather(*(
                    user._press(LAUNCH, lambda user=user: media_with(api, user.id, f"b{user.id}"), "launch")
                    for user in at_screen))
                last = max((media_with(api, user.id, f"b{user.id}") or pressed for user in at_screen), default=pressed)
            pending, unfinished = await settle(dsn, 30)
            told = sum(1 for user in at_screen if any(
                e.at >= pressed and QUEUE_PLACE.search(e.text or "") for e in api.by_chat.get(user.id, ())))
        finally:
            for node in nodes:
                if node.alive:
                    await node.hit("sigterm")
        times = [t - pressed for t in kie.create_at[kie_before:]]
        check_kie_budget(times, kie.create_codes[kie_before:], KIE_LIMIT, KIE_WINDOW, v)
        pictures = sum(done)
        v.add("burst: every launch ends with its picture", pictures == len(at_screen) == users,
              f"{users} users, {len(at_screen)} at the launch screen, {pictures} pictures within {wait:g} s; "
              f"inbox pending {pending}, jobs unfinished {unfinished}")
        beyond = max(0, len(at_screen) - KIE_LIMIT)
        v.add("burst: the users beyond KIE's budget told their queue place", told >= beyond,
              f"{told} users saw their place in the queue (a number after 'очеред…'); {beyond} launches were beyond the first {KIE_LIMIT}")
        check_money(await load_rows(dsn), v)
        lines.append(f"burst: {len(at_screen)} launches pressed within a second on {instances} instances; last picture "
                     f"{last - pressed:.1f} s after the press; createTask calls {len(times)}; presses processed by "
                     f"{dispatch_counts({n.name: n.log for n in nodes})} (all updates of the phase)")
    return lines
