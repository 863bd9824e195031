"""From the inbox to the core: every acknowledged update is processed once, one chat's updates one at a
time and in order, different chats concurrently on a bounded number of workers.

``accept`` is the intake used by the webhook route and the polling loop: it stores the raw update in
the durable inbox and only then returns (the caller acknowledges Telegram after that). An update is
marked done after it has been processed; a crash in between re-processes it after restart (money
movements are idempotent by key, so this repeats at most a screen, never a charge).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from typing import Any, Callable, Hashable, Mapping

from core.bot import BotCore, Outcome
from core.rate_limit import RateLimiter
from entrypoints.telemetry import exception_caught, marker, new_cid
from ports.clock import Clock
from ports.effects import EditScreen, RecipientBlockedError, SendScreen
from ports.events import CallbackPress, Command, Event, MediaMessage, TextMessage
from ports.storage import Inbox, InboxUpdate, Users
from ports.trace import correlation_id

log = logging.getLogger(__name__)

Parser = Callable[[Mapping[str, Any]], Event | None]
ChatOf = Callable[[Mapping[str, Any]], int | None]

CALLBACK_ANSWER_WITHIN = 0.8  # seconds; Telegram users see a spinner until a press is answered
RECENTLY_DONE = 10_000  # update ids remembered after processing (see Dispatcher._recently_done)
# What the per-user rate limit applies to: what users type and press. Payments, pre-checkout queries and
# membership changes always go through (dropping a successful_payment would lose money).
LIMITED = (Command, TextMessage, MediaMessage, CallbackPress)


class Dispatcher:
    def __init__(
        self,
        *,
        inbox: Inbox,
        users: Users,
        core: BotCore,
        parse: Parser,
        chat_of: ChatOf,
        clock: Clock,
        workers: int = 8,
        limiter: RateLimiter | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inbox, self._users, self._core = inbox, users, core
        self._parse, self._chat_of, self._clock = parse, chat_of, clock
        self._limiter = limiter or RateLimiter(burst=10, per_second=2.0)
        self._monotonic = monotonic
        self._slots = asyncio.Semaphore(workers)
        self._queues: dict[Hashable, deque[InboxUpdate]] = {}
        self._known: set[int] = set()  # queued or being processed in this process
        # Finished here lately: a pending-rows read that started before an update was marked done may
        # still list it; without this the sweeper would queue it a second time.
        self._recently_done: OrderedDict[int, None] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self.processing = False  # only the active instance processes; a passive one only stores
        self.pending = 0  # inbox depth as this process knows it (for /health, answered from memory)

    # --- intake -----------------------------------------------------------------------------

    async def accept(self, payload: Mapping[str, Any], text: str | None = None) -> bool:
        """Store one raw update durably; True when it is new. Raises StorageUnavailableError when it
        could not be stored (the caller must then not acknowledge it). ``text``: the JSON ``payload`` was
        read from (the webhook's body), stored as it is."""
        update_id = payload["update_id"]
        token = correlation_id.set(new_cid())
        try:
            marker("UPDATE_RECEIVED", update_id=update_id)
            try:
                chat_id = self._chat_of(payload)
            except ValueError:
                chat_id = None
            item = InboxUpdate(update_id, payload, self._clock.now(), chat_id, correlation_id.get(), text)
            new = await self._inbox.put(item)
            if not new:
                log.info("UPDATE_DUPLICATE update_id=%s", update_id)
                return False
            self.pending += 1
            if self.processing:
                self._enqueue(item)
            return True
        finally:
            correlation_id.reset(token)

    async def start(self) -> int:
        """Become the processing instance: queue everything pending in the inbox (oldest first)."""
        self.processing = True
        return await self.load_pending()

    async def load_pending(self, limit: int = 1000) -> int:
        items = await self._inbox.pending(limit)
        self.pending = max(self.pending, len(items))
        for item in items:
            self._enqueue(item)
        return len(items)

    async def stop(self, grace: float) -> None:
        """Stop taking updates into processing; let the running ones finish within ``grace`` seconds."""
        self.processing = False
        if self._tasks:
            _, late = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def wait_idle(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- scheduling -------------------------------------------------------------------------

    def _enqueue(self, item: InboxUpdate) -> None:
        if item.update_id in self._known or item.update_id in self._recently_done:
            return
        self._known.add(item.update_id)
        key: Hashable = item.chat_id if item.chat_id is not None else ("update", item.update_id)
        queue = self._queues.setdefault(key, deque())
        queue.append(item)
        if len(queue) == 1:
            task = asyncio.create_task(self._drain(key), name=f"chat-{key}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _drain(self, key: Hashable) -> None:
        """Process one chat's queue in order, holding one worker slot."""
        queue = self._queues[key]
        async with self._slots:
            while queue:
                item = queue[0]
                await self._process(item)
                await self._mark_done(item)
                queue.popleft()
        del self._queues[key]

    async def _mark_done(self, item: InboxUpdate) -> None:
        for attempt in range(5):
            try:
                await self._inbox.done(item.update_id, self._clock.now())
            except Exception as error:  # worker loop boundary: retry, never drop the worker
                exception_caught(error, update_id=item.update_id, stage="inbox_done")
                await asyncio.sleep(0.5 * 2**attempt)
            else:
                self._recently_done[item.update_id] = None
                while len(self._recently_done) > RECENTLY_DONE:
                    self._recently_done.popitem(last=False)
                self._known.discard(item.update_id)
                self.pending = max(self.pending - 1, 0)
                return
        # Left in _known: this process will not process it again; after a restart it is re-processed.

    # --- one update -------------------------------------------------------------------------

    async def _process(self, item: InboxUpdate) -> None:
        token = correlation_id.set(item.cid or new_cid())
        event: Event | None = None
        try:
            try:
                event = self._parse(item.payload)
            except ValueError as error:
                marker("DISPATCH_FAIL", update_id=item.update_id, reason="MALFORMED_UPDATE", detail=str(error)[:120])
                return
            if event is None:
                marker("DISPATCH_OK", update_id=item.update_id, ignored=1)
                return
            if isinstance(event, CallbackPress):
                marker("CALLBACK_RECEIVED", callback_id=event.callback_id, update_id=item.update_id)
            if isinstance(event, LIMITED) and not self._limiter.allow(event.user.id, self._monotonic()):
                await self._core.messenger.apply(self._core.too_fast(event))
                if isinstance(event, CallbackPress):
                    marker("CALLBACK_REJECTED", reason_code="RATE_LIMIT")
                marker("DISPATCH_OK", update_id=item.update_id, rate_limited=1)
                return
            outcome = await self._core.process(event, answer_within=CALLBACK_ANSWER_WITHIN)
            self._report(event, outcome)
            marker("DISPATCH_OK", update_id=item.update_id)
        except RecipientBlockedError:
            assert event is not None
            await self._users.set_blocked(event.user.id, True)
            marker("DISPATCH_OK", update_id=item.update_id, recipient_blocked=1)
        except Exception as error:  # the per-update boundary: log, apologise, keep the worker going
            await self._fail(item, event, error)
        finally:
            correlation_id.reset(token)

    @staticmethod
    def _report(event: Event, outcome: Outcome) -> None:
        if isinstance(event, CallbackPress):
            marker("CALLBACK_ROUTED", handler=outcome.route)
            if outcome.rejected:
                marker("CALLBACK_REJECTED", reason_code=outcome.rejected)
            else:
                marker("CALLBACK_ACCEPTED")
        for effect in outcome.effects:
            if isinstance(effect, (SendScreen, EditScreen)):
                marker("UI_RENDER", screen_id=effect.screen.screen_id or "-")

    async def _fail(self, item: InboxUpdate, event: Event | None, error: Exception) -> None:
        exception_caught(error, update_id=item.update_id)
        marker("DISPATCH_FAIL", update_id=item.update_id, reason="INTERNAL_ERROR")
        if event is None:
            return
        if isinstance(event, CallbackPress):
            marker("CALLBACK_REJECTED", reason_code="INTERNAL_ERROR")
        try:
            await self._core.messenger.apply(self._core.apology(event))
        except Exception as second:  # the apology itself failed (Telegram down): logged, not raised
            exception_caught(second, update_id=item.update_id, stage="apology")
