"""The shared budgets' SQL (adapters/storage/postgres/budgets.py) on a real PostgreSQL: several pools (as several
processes would) taking at once never exceed the budget; a 429 shrinks it; Telegram's pace is kept per chat
and overall, and bulk sends leave interactive ones their share. Time is an injected virtual clock: no
timing asserts."""

from __future__ import annotations

import asyncio
import random

import pytest

from adapters.kie.submit_limiter import LocalSubmitBudget
from adapters.system.clock import VirtualClock
from adapters.telegram.pace import LocalSendPace
from ports.budgets import PaceSettings
from tests import pg

async def _pools(count: int):
    async with pg.open_pg() as first:
        others = [await pg.open_storage(max_size=4) for _ in range(count - 1)]
        try:
            yield [first, *others]
        finally:
            for storage in others:
                await storage.close()


async def test_forty_takers_on_three_pools_at_one_instant_get_exactly_twenty_slots():
    clock = VirtualClock()
    async for storages in _pools(3):
        budgets = [s.shared_submit_budget(limit=20, span=10.5, clock=clock) for s in storages]
        answers = await asyncio.gather(*(budgets[i % 3].take() for i in range(40)))
        assert sum(1 for wait in answers if wait == 0.0) == 20
        assert all(wait > 0 for wait in answers if wait != 0.0)
        clock.advance(10.4)
        assert await budgets[0].take() > 0  # the window has not passed yet
        clock.advance(0.2)
        again = await asyncio.gather(*(budgets[i % 3].take() for i in range(25)))
        assert sum(1 for wait in again if wait == 0.0) == 20


@pytest.mark.parametrize("seed", [1, 2])
async def test_no_window_ever_holds_more_than_the_limit_under_concurrent_takers(seed):
    rng = random.Random(seed)
    clock = VirtualClock()
    start = clock.now()
    taken_at: list[float] = []
    async for storages in _pools(2):
        budgets = [s.shared_submit_budget(limit=5, span=2.0, clock=clock) for s in storages]
        for _ in range(60):
            answers = await asyncio.gather(*(budgets[i % 2].take() for i in range(rng.randint(1, 6))))
            now = (clock.now() - start).total_seconds()
            taken_at += [now] * sum(1 for wait in answers if wait == 0.0)
            clock.advance(rng.choice([0.0, 0.1, 0.3, 0.7]))
    assert len(taken_at) > 20
    assert max(sum(1 for t in taken_at if a <= t < a + 2.0) for a in taken_at) <= 5


async def test_a_429_shrinks_the_shared_budget_to_nothing_for_its_retry_after():
    clock = VirtualClock()
    async for storages in _pools(2):
        first, second = (s.shared_submit_budget(limit=20, span=10.5, clock=clock) for s in storages)
        assert await first.take() == 0.0
        await second.hold(4.0)
        wait = await first.take()
        assert wait == pytest.approx(4.0, abs=0.01)
        clock.advance(4.0)
        assert await second.take() == 0.0  # the hold is over, the other slots are back


async def test_the_local_budget_answers_the_same_way():
    clock = VirtualClock()
    budget = LocalSubmitBudget(clock, limit=20, window=10.0)
    answers = [await budget.take() for _ in range(25)]
    assert answers[:20] == [0.0] * 20 and all(wait > 0 for wait in answers[20:])
    await budget.hold(30.0)
    clock.advance(11.0)
    assert await budget.take() == pytest.approx(19.0)


async def test_one_chat_gets_its_burst_then_one_slot_a_second_across_pools():
    clock = VirtualClock()
    settings = PaceSettings(per_chat_interval=1.0, chat_burst=3, per_second=30)
    async for storages in _pools(2):
        paces = [s.shared_send_pace(settings, clock) for s in storages]
        grants = await asyncio.gather(*(paces[i % 2].reserve(7) for i in range(6)))
        waits = sorted(round(grant.wait, 3) for grant in grants if not grant.taken)
        assert sum(1 for grant in grants if grant.taken) == 3  # the burst goes now, overall slot included
        assert waits == [1.0, 2.0, 3.0]
        other = await paces[0].reserve(8)
        assert other.taken and other.wait == 0.0  # another chat is not held back


async def test_overall_pace_caps_many_chats_and_a_429_slows_it_down():
    clock = VirtualClock()
    settings = PaceSettings(per_chat_interval=1.0, chat_burst=1, per_second=10)
    async for storages in _pools(2):
        paces = [s.shared_send_pace(settings, clock) for s in storages]
        grants = await asyncio.gather(*(paces[i % 2].reserve(100 + i) for i in range(30)))
        assert all(grant.taken for grant in grants)
        waits = sorted(grant.wait for grant in grants)
        assert waits[:10] == [0.0] * 10  # one second's burst
        assert waits[-1] == pytest.approx(2.0, abs=0.01)  # then 10 a second
        clock.advance(5.0)
        await paces[0].defer(100, 3.0)
        held = await paces[1].reserve(100)
        assert not held.taken and held.wait == pytest.approx(3.0, abs=0.01)
        slow = [await paces[1].overall() for _ in range(21)]
        assert slow[-1].wait == pytest.approx(20 * 0.2 - 0.9, abs=0.01)  # slots 0.2 s apart: the pace is halved


async def test_bulk_sends_fill_the_pace_but_never_hold_interactive_ones_back():
    clock = VirtualClock()
    settings = PaceSettings(per_chat_interval=1.0, chat_burst=1, per_second=20, bulk_lookahead=0.25)
    async for storages in _pools(1):
        pace = storages[0].shared_send_pace(settings, clock)
        sent = interactive_sends = 0
        for second in range(4):
            for step in range(40):  # a bulk sender asking every 25 ms
                grant = await pace.reserve(1000 + second * 100 + step, bulk=True)
                sent += grant.taken
                if step % 10 == 0:
                    interactive = await pace.reserve(5 + step + second * 100)
                    assert interactive.taken and interactive.wait == 0.0
                    interactive_sends += 1
                clock.advance(0.025)
        assert sent >= 0.95 * (20 * 4 - interactive_sends)  # the pace, less what interactive sends took


async def test_the_local_pace_answers_like_the_shared_one():
    clock = VirtualClock()
    pace = LocalSendPace(PaceSettings(per_chat_interval=1.0, chat_burst=3, per_second=30), lambda: clock.now().timestamp())
    grants = [await pace.reserve(7) for _ in range(6)]
    assert [grant.taken for grant in grants] == [True, True, True, False, False, False]
    assert [round(grant.wait, 3) for grant in grants[3:]] == [1.0, 2.0, 3.0]
    await pace.defer(9, 2.0)
    assert (await pace.reserve(9)).wait == pytest.approx(2.0)


async def test_the_wiring_shares_the_budgets_through_postgresql_and_keeps_them_local_otherwise(tmp_path):
    from adapters.storage.json_storage import JsonStorage
    from adapters.storage.postgres.budgets import PgSendPace, PgSubmitBudget
    from entrypoints.settings import load_settings
    from entrypoints.wiring import share_send_pace, submit_budget_for

    real = load_settings({}, DATA_DIR=tmp_path, KIE_MODE="real", KIE_API_KEY="k")
    shared: list[object] = []

    class Messenger:
        def share_pace(self, make):
            shared.append(make(PaceSettings()))

    async with pg.open_pg() as storage:
        assert isinstance(submit_budget_for(real, storage, VirtualClock()), PgSubmitBudget)
        share_send_pace(storage, Messenger())
        assert len(shared) == 1 and isinstance(shared[0], PgSendPace)
    json = await JsonStorage.open(tmp_path / "json")
    try:
        assert isinstance(submit_budget_for(real, json, VirtualClock()), LocalSubmitBudget)
        share_send_pace(json, Messenger())
        assert len(shared) == 1  # one instance: the messenger keeps its own pace
        fake = load_settings({}, DATA_DIR=tmp_path)
        assert submit_budget_for(fake, json, VirtualClock()) is None  # the in-process fake generator has no limit
    finally:
        await json.close()


async def test_a_send_goes_on_at_the_local_pace_when_the_shared_one_is_out_of_reach():
    from adapters.telegram.limits import FloodLimiter

    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    limiter = FloodLimiter(per_chat_interval=1.0, chat_burst=1, sleep=sleep, clock=lambda: 1000.0)
    storage = await pg.open_storage()
    limiter.share(storage.shared_send_pace(limiter.settings))
    assert await limiter.acquire(1) == 0.0
    await storage.close()  # the database is gone: the local pace answers
    assert await limiter.acquire(2) == 0.0
    assert await limiter.acquire(2) == 1.0 and slept == [1.0]
