"""The update pipeline with the outbox: replies are committed with the update's done mark and sent after, and a
paid job starts as soon as its launch is committed, whatever Telegram's pace or state."""

from __future__ import annotations

import asyncio

from adapters.system.clock import VirtualClock
from adapters.system.files import LocalFileReader
from adapters.telegram.updates import parse_update, update_chat_id
from entrypoints.dispatcher import Dispatcher
from entrypoints.settings import load_settings
from entrypoints.smoke_checks import callback_update, message_update
from entrypoints.wiring import build_app
from ports.effects import AnswerCallback, MessengerUnavailableError
from ports.storage import Draft, JobState
from tests.test_fairness import BOUND, PacedMessenger

USER = 6101


class DownMessenger:
    """Telegram is down: every send fails for now; answers to button presses included."""

    def __init__(self) -> None:
        self.down = True
        self.sent: list = []

    async def apply(self, effects):
        if self.down:
            raise MessengerUnavailableError("Telegram is down")
        self.sent.extend(effects)


async def test_a_paid_job_starts_while_its_progress_message_waits_for_telegrams_pace(tmp_path):
    config = load_settings({}, DATA_DIR=tmp_path / "data", FREE_DAILY_LIMIT=0, WELCOME_BALANCE="100")
    messenger, clock = PacedMessenger(), VirtualClock()
    async with build_app(config, messenger=messenger, media=LocalFileReader(), clock=clock) as app:
        dispatcher = Dispatcher(inbox=app.storage.inbox, users=app.storage.users, core=app.core, parse=parse_update,
                                chat_of=update_chat_id, clock=clock)
        await dispatcher.start()
        await dispatcher.accept(message_update(USER, "/start"))
        await dispatcher.wait_idle()
        await app.storage.drafts.put(Draft("drpace1", USER, USER, "z-image", clock.now(), prompt="a cat",
                                           options={"aspect_ratio": "1:1"}))
        messenger.hold(USER)  # nothing reaches this chat until released
        before = len(messenger.sent)
        await dispatcher.accept(callback_update(USER, "launch:drpace1", 5))
        async with asyncio.timeout(BOUND):
            while (job := await app.storage.jobs.get("drpace1")) is None or job.state is JobState.CREATED:
                await asyncio.sleep(0.01)
        assert job.state is not JobState.CREATED  # submitted to the generator already
        assert [type(effect) for _, effect in messenger.sent[before:]] == [AnswerCallback]  # answered, never paced;
        # the progress screen waits for the chat's pace
        messenger.release(USER)
        await dispatcher.wait_idle()
        await app.runner.wait_idle()
        assert (await app.storage.jobs.get("drpace1")).state is JobState.DELIVERED
        await dispatcher.stop(grace=1)


async def test_replies_committed_while_telegram_is_down_go_out_once_it_is_back(tmp_path):
    config = load_settings({}, DATA_DIR=tmp_path / "data", FREE_DAILY_LIMIT=0)
    messenger, clock = DownMessenger(), VirtualClock()
    async with build_app(config, messenger=messenger, media=LocalFileReader(), clock=clock) as app:
        dispatcher = Dispatcher(inbox=app.storage.inbox, users=app.storage.users, core=app.core, parse=parse_update,
                                chat_of=update_chat_id, clock=clock)
        await dispatcher.start()
        await dispatcher.accept(message_update(USER, "/start"))
        await dispatcher.accept(message_update(USER, "/help"))
        await dispatcher.wait_idle()
        assert await app.storage.inbox.depth() == 0  # both processed and done
        assert [m.attempts for m in await app.storage.outbox.pending()] == [1, 0]  # the chat waits behind its first
        messenger.down = False
        clock.advance(2)
        await app.sender.sweep()
        texts = [e.screen.text[0] for e in messenger.sent if not isinstance(e, AnswerCallback)]
        assert texts == ["👋", "❓"]  # in the order written, once each
        await app.sender.sweep()
        assert len(messenger.sent) == 2
        await dispatcher.stop(grace=1)
