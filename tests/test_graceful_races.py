"""Two repeats bench/chaos.py found without any crash, pinned down (bench/repro_races.py reproduces them
against the old code): the sweeper re-queuing an update that just finished, and a result sent twice
because a graceful stop cut a delivery between "sent" and "marked delivered"."""

from __future__ import annotations

import asyncio

from entrypoints.dispatcher import Dispatcher
from ports.effects import SendMedia
from ports.events import Command
from ports.storage import JobState
from tests.harness import running_bot


class StaleInbox:
    """An inbox whose pending() answers what was pending when the query started (a query in flight)."""

    def __init__(self, inner) -> None:
        self.inner, self.snapshot = inner, None

    async def put(self, update):
        return await self.inner.put(update)

    async def pending(self, limit=100):
        return self.snapshot if self.snapshot is not None else await self.inner.pending(limit)

    async def done(self, update_id, now):
        await self.inner.done(update_id, now)

    async def depth(self):
        return await self.inner.depth()


async def test_an_update_finished_while_the_sweeper_read_the_inbox_is_not_processed_again(tmp_path):
    async with running_bot(tmp_path) as bot:
        storage = bot.app.storage
        inbox = StaleInbox(storage.inbox)
        seen: list[int] = []
        dispatcher = Dispatcher(
            inbox=inbox, users=storage.users, core=bot.app.core, clock=bot.clock,
            parse=lambda payload: seen.append(payload["update_id"]) or Command(bot.driver.user, bot.user_id, "help"),
            chat_of=lambda payload: bot.user_id,
        )
        await dispatcher.start()
        await dispatcher.accept({"update_id": 1})
        inbox.snapshot = list(await storage.inbox.pending())  # the sweeper's read, still listing update 1
        await dispatcher.wait_idle()
        await dispatcher.load_pending()  # its answer arrives after update 1 was done
        await dispatcher.wait_idle()
        assert seen == [1]


async def test_a_graceful_stop_lets_a_delivery_under_way_finish_so_it_is_not_sent_twice(tmp_path):
    async with running_bot(tmp_path) as bot:
        jobs = bot.app.storage.jobs
        original = jobs.transition
        delivering = asyncio.Event()

        async def slow_transition(job_id, allowed_from, to, **changes):
            if to is JobState.DELIVERED:
                delivering.set()
                await asyncio.sleep(0.3)  # storage answering slowly, right after the picture was sent
            return await original(job_id, allowed_from, to, **changes)

        jobs.transition = slow_transition
        await bot.send("/start")
        await bot.press("Картинки и дизайн")
        await bot.press("Z-Image")
        await bot.send("test")
        outcome = await bot.press("Запустить")
        await asyncio.wait_for(delivering.wait(), 10)
        await bot.app.runner.stop(grace=5)  # SIGTERM arrives now
        job = await jobs.get(outcome.started_job)
        assert job.state is JobState.DELIVERED
        await bot.app.runner.resume()  # what the next active instance does
        await bot.settle()
        assert len([e for e in bot.chat.effects if isinstance(e, SendMedia)]) == 1
