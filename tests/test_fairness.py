"""No chat can stall the others: waiting for a chat's sending pace holds no worker, one chat's updates stay
in order, and the inbound limit sheds excess at intake (counted, answered "too fast" once, marked done).

The dispatcher runs the real core on JSON storage with a virtual clock; the messenger is a fake whose sends
to a "held" chat wait on an event, as a send waits for Telegram's per-chat pace. No wall-clock timing: a
test that would hang on the old code fails on a generous bound instead."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from typing import AsyncIterator, Sequence

from adapters.system.clock import VirtualClock
from adapters.system.files import LocalFileReader
from adapters.telegram.updates import parse_update, update_chat_id
from core.rate_limit import RateLimiter
from entrypoints.dispatcher import Dispatcher
from entrypoints.settings import load_settings
from entrypoints.smoke_checks import callback_update, message_update
from entrypoints.wiring import build_app
from ports.effects import AnswerCallback, Effect, SendScreen
from ports.storage import InboxUpdate

FLOODER, OTHER = 5001, 5002
BOUND = 10.0  # seconds; only reached when the behaviour is wrong (the old code waits forever)


class PacedMessenger:
    """Records what is sent; a send to a held chat waits until the chat is released (its pace)."""

    def __init__(self) -> None:
        self.sent: list[tuple[int | None, Effect]] = []
        self._gates: dict[int, asyncio.Event] = {}
        self._changed = asyncio.Condition()

    def hold(self, chat_id: int) -> None:
        self._gates[chat_id] = asyncio.Event()

    def release(self, chat_id: int) -> None:
        self._gates.pop(chat_id).set()

    async def apply(self, effects: Sequence[Effect]) -> None:
        for effect in effects:
            chat = getattr(effect, "chat_id", None)
            gate = self._gates.get(chat) if chat is not None else None
            if gate is not None:
                await gate.wait()
            self.sent.append((chat, effect))
            async with self._changed:
                self._changed.notify_all()

    def texts(self, chat_id: int) -> list[str]:
        return [e.screen.text for chat, e in self.sent if chat == chat_id and isinstance(e, SendScreen)]

    def answers(self) -> list[AnswerCallback]:
        return [e for _, e in self.sent if isinstance(e, AnswerCallback)]

    async def wait_for(self, predicate) -> None:
        async with asyncio.timeout(BOUND):
            async with self._changed:
                await self._changed.wait_for(predicate)


@asynccontextmanager
async def dispatching(tmp_path, *, workers: int = 1, burst: int = 100, per_second: float = 100.0,
                      backlog_max: int = 10) -> AsyncIterator[tuple[Dispatcher, PacedMessenger]]:
    config = load_settings({}, DATA_DIR=tmp_path / "data", FREE_DAILY_LIMIT=0)
    messenger, clock = PacedMessenger(), VirtualClock()
    async with build_app(config, messenger=messenger, media=LocalFileReader(), clock=clock) as app:
        dispatcher = Dispatcher(
            inbox=app.storage.inbox, users=app.storage.users, core=app.core, parse=parse_update,
            chat_of=update_chat_id, clock=clock, workers=workers, limiter=RateLimiter(burst, per_second),
            backlog_max=backlog_max,
        )
        await dispatcher.start()
        try:
            yield dispatcher, messenger
        finally:
            await dispatcher.stop(grace=1)


async def test_a_chat_waiting_for_its_pace_does_not_delay_another_chats_reply(tmp_path):
    async with dispatching(tmp_path, workers=1) as (dispatcher, messenger):
        messenger.hold(FLOODER)  # its replies wait for Telegram's pace
        for text in ("/start", "/balance", "/help"):
            await dispatcher.accept(message_update(FLOODER, text))
        await dispatcher.accept(message_update(OTHER, "/start"))
        # One worker only: the old dispatcher kept it for the flooder until its queue was empty.
        await messenger.wait_for(lambda: messenger.texts(OTHER))
        assert messenger.texts(OTHER)[0].startswith("👋") and messenger.texts(FLOODER) == []
        messenger.release(FLOODER)
        await dispatcher.wait_idle()
        flooder = messenger.texts(FLOODER)
        assert [text[0] for text in flooder] == ["👋", "💰", "❓"]  # its own order is kept


async def test_updates_over_the_rate_limit_are_shed_at_intake_counted_and_told_once(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    async with dispatching(tmp_path, burst=2, per_second=0.001) as (dispatcher, messenger):
        for _ in range(5):
            await dispatcher.accept(message_update(FLOODER, "/start"))
        assert dispatcher.shed == 3  # decided as they came in, before any was processed
        await dispatcher.wait_idle()
        texts = messenger.texts(FLOODER)
        assert sum(text.startswith("👋") for text in texts) == 2
        assert texts.count("⏳ Слишком быстро, подождите секунду.") == 1  # one answer, not one per update
        assert caplog.text.count("UPDATE_SHED") == 3
        assert await dispatcher._inbox.depth() == 0  # shed updates are marked done, never processed later


async def test_a_backlog_taken_from_the_inbox_is_judged_by_arrival_and_its_excess_marked_done(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    config = load_settings({}, DATA_DIR=tmp_path / "data", FREE_DAILY_LIMIT=0)
    messenger, clock = PacedMessenger(), VirtualClock()
    async with build_app(config, messenger=messenger, media=LocalFileReader(), clock=clock) as app:
        for second in (0, 0, 0, 0, 30):  # stored by another instance (or before a restart): 4 at once, 1 later
            clock.advance(second)
            update = message_update(FLOODER, "/help")
            await app.storage.inbox.put(InboxUpdate(update["update_id"], update, clock.now(), FLOODER, ""))
        dispatcher = Dispatcher(
            inbox=app.storage.inbox, users=app.storage.users, core=app.core, parse=parse_update,
            chat_of=update_chat_id, clock=clock, limiter=RateLimiter(2, 0.1),
        )
        await dispatcher.start()
        assert dispatcher.shed == 2  # burst of 2; the one sent 30 s later had its token back
        await dispatcher.wait_idle()
        assert sum(text.startswith("❓") for text in messenger.texts(FLOODER)) == 3
        assert await app.storage.inbox.depth() == 0 and "stored=1" in caplog.text


async def test_presses_over_the_limit_are_all_answered_and_logged_as_rate_limited(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    async with dispatching(tmp_path, burst=1, per_second=0.001) as (dispatcher, messenger):
        await dispatcher.accept(message_update(FLOODER, "/start"))
        for _ in range(3):
            await dispatcher.accept(callback_update(FLOODER, "help", 1))
        await dispatcher.wait_idle()
        answers = [answer.text for answer in messenger.answers()]
        assert sorted(answers) == ["", "", "⏳ Слишком быстро, подождите секунду."]  # no spinner left
        assert caplog.text.count("reason_code=RATE_LIMIT") == 3
        assert dispatcher.shed == 3


async def test_a_chat_with_a_full_backlog_sheds_what_comes_next(tmp_path):
    async with dispatching(tmp_path, backlog_max=3) as (dispatcher, messenger):
        messenger.hold(FLOODER)
        for _ in range(6):
            await dispatcher.accept(message_update(FLOODER, "/help"))
        assert dispatcher.shed == 3
        await dispatcher.accept(message_update(OTHER, "/help"))  # another chat has its own backlog
        assert dispatcher.shed == 3
        messenger.release(FLOODER)
        await dispatcher.wait_idle()
        assert sum(text.startswith("❓") for text in messenger.texts(FLOODER)) == 3


async def test_payments_are_never_shed(tmp_path):
    async with dispatching(tmp_path, burst=1, per_second=0.001, backlog_max=1) as (dispatcher, messenger):
        messenger.hold(FLOODER)
        await dispatcher.accept(message_update(FLOODER, "/start"))
        refund = message_update(FLOODER, "")
        refund["message"].pop("text")
        refund["message"]["refunded_payment"] = {"currency": "XTR", "total_amount": 1, "invoice_payload": "stars:1",
                                                 "telegram_payment_charge_id": "none"}
        await dispatcher.accept(refund)
        assert dispatcher.shed == 0
        messenger.release(FLOODER)
        await dispatcher.wait_idle()
