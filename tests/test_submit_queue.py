"""The submission queue (core/submit_queue.py) and what users see of it: launches beyond KIE's budget wait,
oldest first, each told its place; texts in both languages; a restart keeps the queue (jobs stay CREATED and
are charged once). Virtual time only."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from adapters.kie.fake_server import FakeKieServer
from adapters.kie.submit_limiter import LocalSubmitBudget
from adapters.system.clock import VirtualClock
from core.i18n import Fmt
from core.money import currency_for
from core.submit_queue import SubmitQueue
from core.views.jobs import render_progress
from ports.effects import EditScreen
from ports.storage import Job, JobState
from tests.harness import running_bot


def job(number: int, clock: VirtualClock) -> Job:
    at = clock.now() + timedelta(milliseconds=number)
    return Job(f"j{number:03d}", 1, 1, "m", {}, 0, JobState.CREATED, at, at, at + timedelta(hours=1))


async def test_launches_beyond_the_budget_wait_oldest_first_and_each_is_told_its_place():
    clock = VirtualClock()
    jobs = [job(n, clock) for n in range(26)]
    waiting = {j.id for j in jobs}
    told: dict[str, list[int]] = {}
    granted: list[str] = []

    async def order() -> list[str]:
        return sorted(waiting)

    budget = CountingBudget(LocalSubmitBudget(clock, limit=20, window=10.0))
    queue = SubmitQueue(budget, clock, order, refresh=1.0, show_every=0.0)

    async def launch(one: Job) -> None:
        async def tell(place: int) -> None:
            told.setdefault(one.id, []).append(place)

        await queue.turn(one, tell)
        granted.append(one.id)
        waiting.discard(one.id)

    await asyncio.gather(*(launch(one) for one in jobs))
    assert granted[:20] == [j.id for j in jobs[:20]]
    assert granted[20:] == [j.id for j in jobs[20:]]  # the queued ones in launch order
    assert set(told) == {j.id for j in jobs[20:]}  # every queued user was told, nobody else
    assert told[jobs[20].id][0] == 1 and told[jobs[25].id][0] == 6
    assert all(places == sorted(places, reverse=True) for places in told.values())  # a place only moves up
    assert queue.queued == 6 and queue.passed == 26 and queue.length == 0
    assert queue.longest_wait >= 10.0
    assert budget.given == 26  # no slot taken for nobody


class CountingBudget:
    def __init__(self, inner: LocalSubmitBudget) -> None:
        self.inner, self.given = inner, 0

    async def take(self) -> float:
        wait = await self.inner.take()
        self.given += wait == 0.0
        return wait

    async def hold(self, seconds: float) -> None:
        await self.inner.hold(seconds)


@pytest.mark.parametrize(("language", "expected"), [("ru", "⏳ В очереди: 3-й"), ("en", "⏳ In the queue: 3rd")])
def test_the_progress_message_shows_the_place(language, expected):
    screen = render_progress(Fmt(language, currency_for("RUB")), "Z-Image", 500, "waiting", place=3)
    assert expected in screen.text


def test_english_ordinals():
    fmt = Fmt("en", currency_for("RUB"))
    assert [fmt.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th"]
    assert Fmt("ru", currency_for("RUB")).ordinal(12) == "12-й"


async def launch_z_image(bot) -> str:
    await bot.send("/start")
    await bot.press("Картинки и дизайн")
    await bot.press("Z-Image")
    await bot.send("test")
    outcome = await bot.press("Запустить")
    assert outcome.started_job is not None
    return outcome.started_job


async def test_a_job_waiting_in_the_queue_survives_a_restart_and_is_charged_once(tmp_path):
    clock = VirtualClock()
    async with FakeKieServer(clock=clock, files_dir=tmp_path / "kie") as kie:
        settings = dict(KIE_MODE="real", KIE_API_KEY=kie.api_key, KIE_API_BASE_URL=kie.api_base_url,
                        KIE_UPLOAD_BASE_URL=kie.upload_base_url)
        # The budget is held (a 429 said so): the launch waits in the queue; then the process stops.
        async with running_bot(tmp_path, clock=clock, **settings) as bot:
            await bot.app.services.submit_budget.hold(3600)
            job_id = await launch_z_image(bot)
            for _ in range(50):
                await asyncio.sleep(0)
            assert bot.app.runner.queue.length == 1
            shown = [e.screen.text for e in bot.chat.effects if isinstance(e, EditScreen)]
            assert any("В очереди: 1-й" in text for text in shown), "the user was told the place"
            charged = await bot.balance()
            assert (await bot.app.storage.jobs.get(job_id)).state is JobState.CREATED
        assert kie.requests_to("createTask") == []
        # A new process on the same storage resumes the waiting job: submitted once, delivered, charged once.
        async with running_bot(tmp_path, clock=clock, **settings) as bot:
            await bot.settle()
            assert (await bot.app.storage.jobs.get(job_id)).state is JobState.DELIVERED
            assert await bot.balance() == charged
            entries = await bot.app.storage.ledger.entries(bot.user_id, limit=50)
            assert [e.key for e in entries].count(f"launch:{job_id}") == 1
        assert len(kie.requests_to("createTask")) == 1


async def test_a_budget_out_of_reach_makes_launches_wait_not_fail():
    from ports.storage import StorageUnavailableError

    clock = VirtualClock()

    class Flaky:
        def __init__(self) -> None:
            self.down = 3

        async def take(self) -> float:
            if self.down:
                self.down -= 1
                raise StorageUnavailableError("the database is restarting")
            return 0.0

        async def hold(self, seconds: float) -> None: ...

    async def order() -> list[str]:
        return ["j001"]

    told: list[int] = []

    async def tell(place: int) -> None:
        told.append(place)

    queue = SubmitQueue(Flaky(), clock, order)
    assert await queue.turn(job(1, clock), tell) >= 1.0
    assert told == [1] and queue.passed == 1
