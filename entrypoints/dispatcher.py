"""From the inbox to the core: every acknowledged update is processed once, one chat's updates one at a
time and in order, different chats concurrently, and no chat can hold the others up.

``accept`` is the intake used by the webhook route and the polling loop: it stores the raw update in
the durable inbox and only then returns (the caller acknowledges Telegram after that). An update is
marked done in the same durable change that stores its replies in the outbox (core/bot.py ``carry_out``);
the outbox's drainer (entrypoints/outbox_sender.py) then sends them. A crash before that change re-processes
the update after restart; a crash after it sends the replies still unsent (README, "What a crash can repeat").

Scheduling. Each chat with waiting updates has one task that takes them in order. Handling an update (the
core deciding, storage reads and writes) takes one of ``workers`` slots; sending its replies does not:
Telegram's per-chat pace (~1 message/s, :class:`adapters.telegram.limits.FloodLimiter`) is waited out with
the slot released, so a chat with many replies to send never keeps a worker from other chats. The chat's
next update is handled after the previous one's replies went out (the order users see is the order they
wrote in). Slots are granted first come, first served (``asyncio.Semaphore``), and a chat gives its slot back
after every update, so busy chats take turns with everyone else.

The inbound limit is applied when an update is taken in (:mod:`entrypoints.intake_limit`): an update over
its user's budget, or beyond its chat's backlog, is shed at once: logged (``UPDATE_SHED update_id=…``, and
``CALLBACK_REJECTED reason_code=RATE_LIMIT`` for a button), counted (``shed``, in /health), answered "too
fast" at most once in a while (a button is always answered), and never processed. On the processing
instance the check comes before the update is stored, so a flood costs no durable write; an update taken
from the inbox (stored by another instance, or before a restart) is marked done there.

Claims (several instances on PostgreSQL, entrypoints/cluster.py): with ``wake`` given, intake only stores
and calls ``wake("intake")``; this process processes the updates its claimer hands to ``take`` (claimed in storage,
one head per chat at a time), and every update marked done calls ``wake("done")``, since the chat's next
update can be claimed now. The inbound limit is applied by the instance that receives an update, before it is
stored; a claimed update is not checked again (whichever instance stored it admitted it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Mapping

from core.bot import BotCore, Outcome
from core.rate_limit import RateLimiter
from entrypoints.delivery import Delivery
from entrypoints.intake_limit import CHAT_BACKLOG_MAX, IntakeLimit
from entrypoints.telemetry import exception_caught, marker, new_cid
from ports.clock import Clock
from ports.effects import EditScreen, Effect, SendScreen
from ports.events import CallbackPress, Event
from ports.metrics import NO_METRICS, Metrics
from ports.storage import Inbox, InboxUpdate, Users
from ports.trace import correlation_id

log = logging.getLogger(__name__)

Parser = Callable[[Mapping[str, Any]], Event | None]
ChatOf = Callable[[Mapping[str, Any]], int | None]

CALLBACK_ANSWER_WITHIN = 0.8  # seconds; Telegram users see a spinner until a press is answered
RECENTLY_DONE = 10_000  # update ids remembered after processing (see Dispatcher._recently_done)


@dataclass
class _Entry:
    """An update taken in, parsed once: its event, or why it has none."""

    item: InboxUpdate
    event: Event | None = None
    malformed: str | None = None  # the parser refused it (not a Telegram update we can read)
    crash: Exception | None = None  # the parser failed unexpectedly (reported as EXCEPTION_CAUGHT)


def _chat_key(item: InboxUpdate) -> Hashable:
    return item.chat_id if item.chat_id is not None else ("update", item.update_id)


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
        backlog_max: int = CHAT_BACKLOG_MAX,
        wake: Callable[[str], None] | None = None,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self._inbox, self._users, self._core = inbox, users, core
        self._parse, self._chat_of, self._clock = parse, chat_of, clock
        self._metrics = metrics
        self._intake = IntakeLimit(limiter or RateLimiter(burst=10, per_second=2.0), backlog_max)
        self._delivery = Delivery(core.messenger, users)
        self._slots = asyncio.Semaphore(workers)
        self._queues: dict[Hashable, deque[_Entry]] = {}
        self._known: set[int] = set()  # queued, being processed or being shed in this process
        # Finished here lately: a pending-rows read that started before an update was marked done may
        # still list it; without this the sweeper would queue it a second time.
        self._recently_done: OrderedDict[int, None] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = wake  # claims: only claimed updates are processed here (see the module's docstring)
        self.processing = False  # only the active instance processes; a passive one only stores
        self.accepted = 0  # updates newly stored by this process (either mode)

    @property
    def pending(self) -> int:
        """Updates this process has taken into processing and not finished (not the inbox's depth: /health
        reads that from storage, see entrypoints/inbox_gauge.py)."""
        return len(self._known)

    @property
    def shed(self) -> int:
        """Updates shed at intake since start (over the rate limit or the chat's backlog)."""
        return self._intake.shed

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
            admitted = None
            if self.processing:
                admitted = self._parsed(item)
                if not self._admit(admitted):
                    # Shed before it is stored: nothing in it is kept, so a flood costs no durable write.
                    self._shed(admitted, stored=False)
                    self._metrics.update_received(duplicate=False)
                    return True
            new = await self._inbox.put(item)
            self._metrics.update_received(duplicate=not new)
            if not new:
                log.info("UPDATE_DUPLICATE update_id=%s", update_id)
                return False
            self.accepted += 1
            if self._wake is not None:
                self._wake("intake")
            elif self.processing:
                self._enqueue(item, admitted)
            return True
        finally:
            correlation_id.reset(token)

    async def start(self) -> int:
        """Become the processing instance: queue everything pending in the inbox (oldest first)."""
        self.processing = True
        return await self.load_pending()

    async def load_pending(self, limit: int = 1000) -> int:
        items = await self._inbox.pending(limit)
        for item in items:
            self._enqueue(item)
        return len(items)

    def take(self, items: list[InboxUpdate]) -> None:
        """Claims: updates claimed for this process, queued for their chats (none once stopped: they are
        released to the other instances)."""
        if not self.processing:
            return
        for item in items:
            self._enqueue(item, self._parsed(item))

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

    def _enqueue(self, item: InboxUpdate, admitted: _Entry | None = None) -> None:
        """Queue a stored update for its chat; ``admitted``: already parsed and admitted at intake."""
        if item.update_id in self._known or item.update_id in self._recently_done:
            return
        self._known.add(item.update_id)
        entry = admitted or self._parsed(item)
        if admitted is None and not self._admit(entry):
            self._shed(entry, stored=True)
            return
        key = _chat_key(item)
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = deque()
            self._spawn(self._drain(key), f"chat-{key}")
        queue.append(entry)

    def _admit(self, entry: _Entry) -> bool:
        queue = self._queues.get(_chat_key(entry.item))
        return self._intake.admit(entry.event, entry.item.received_at.timestamp(), len(queue) if queue else 0)

    def _parsed(self, item: InboxUpdate) -> _Entry:
        try:
            return _Entry(item, self._parse(item.payload))
        except ValueError as error:
            return _Entry(item, malformed=str(error)[:120])
        except Exception as error:  # reported when its turn comes, at the per-update boundary
            return _Entry(item, crash=error)

    def _spawn(self, work: Any, name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self, key: Hashable) -> None:
        """Process one chat's queue in order (each update takes a worker slot only while it is handled)."""
        queue = self._queues[key]
        try:
            while queue:
                entry = queue[0]
                if await self._process(entry) or await self._mark_done(entry.item):
                    self._forget(entry.item)
                queue.popleft()
        finally:
            del self._queues[key]

    def _shed(self, entry: _Entry, stored: bool) -> None:
        """An update over the inbound limit: logged and counted here, answered "too fast" (at most once in a
        while; a button always, so no spinner is left), never processed; marked done if it had been stored."""
        item, event = entry.item, entry.event
        assert event is not None  # only parsed user input is ever shed
        token = correlation_id.set(item.cid or correlation_id.get())
        try:
            tell = self._intake.first_refusal(event, item.received_at.timestamp())
            if isinstance(event, CallbackPress):
                marker("CALLBACK_RECEIVED", callback_id=event.callback_id, update_id=item.update_id)
                marker("CALLBACK_REJECTED", reason_code="RATE_LIMIT")
            marker("UPDATE_SHED", update_id=item.update_id, user=event.user.id, told=int(tell), stored=int(stored),
                   shed_total=self.shed)
            self._metrics.update_processed("shed", 0.0, 0.0)
            effects = self._core.too_fast(event, tell)
            if effects or stored:  # most of a flood needs neither: no task for it
                self._spawn(self._finish_shed(item, effects, stored), f"shed-{item.update_id}")
        finally:
            correlation_id.reset(token)

    async def _finish_shed(self, item: InboxUpdate, effects: list[Effect], stored: bool) -> None:
        token = correlation_id.set(item.cid or new_cid())
        try:
            await self._delivery.apply(effects)
        except Exception as error:  # the per-update boundary (the answer is a courtesy; the update is done)
            exception_caught(error, update_id=item.update_id, stage="too_fast")
        finally:
            correlation_id.reset(token)
        if stored and await self._mark_done(item):
            self._forget(item)

    async def _mark_done(self, item: InboxUpdate) -> bool:
        """Mark done an update that stored nothing of its own (shed, ignored, failed). False when storage kept
        refusing: the update stays in _known, so this process will not process it again; after a restart it is."""
        for attempt in range(5):
            try:
                await self._inbox.done(item.update_id, self._clock.now())
            except Exception as error:  # worker loop boundary: retry, never drop the worker
                exception_caught(error, update_id=item.update_id, stage="inbox_done")
                await asyncio.sleep(0.5 * 2**attempt)
            else:
                return True
        return False

    def _forget(self, item: InboxUpdate) -> None:
        """Finished here: remembered as recently done (see __init__), no longer known as in flight."""
        self._recently_done[item.update_id] = None
        while len(self._recently_done) > RECENTLY_DONE:
            self._recently_done.popitem(last=False)
        self._known.discard(item.update_id)
        if self._wake is not None:
            self._wake("done")  # the chat's next update (if any) may be claimed now

    # --- one update -------------------------------------------------------------------------

    async def _process(self, entry: _Entry) -> bool:
        """Process one update; True when it was marked done with its replies (in carry_out)."""
        item, event = entry.item, entry.event
        token = correlation_id.set(item.cid or new_cid())
        started, verdict = time.perf_counter(), "error"
        try:
            if entry.crash is not None:
                raise entry.crash
            if entry.malformed is not None:
                verdict = "malformed"
                marker("DISPATCH_FAIL", update_id=item.update_id, reason="MALFORMED_UPDATE", detail=entry.malformed)
                return False
            if event is None:
                verdict = "ignored"
                marker("DISPATCH_OK", update_id=item.update_id, ignored=1)
                return False
            if isinstance(event, CallbackPress):
                marker("CALLBACK_RECEIVED", callback_id=event.callback_id, update_id=item.update_id)
            async with self._slots:  # a worker only while the core decides
                outcome = await self._core.decide(event, answer_within=CALLBACK_ANSWER_WITHIN)
            self._report(event, outcome)
            await self._core.carry_out(event, outcome, item.update_id, self._delivery.apply)  # paced: no slot held
            marker("DISPATCH_OK", update_id=item.update_id)
            verdict = "ok"
            return True
        except Exception as error:  # the per-update boundary: log, apologise, keep the worker going
            await self._fail(item, event, error)
            return False
        finally:
            correlation_id.reset(token)
            self._measure(item, verdict, started)

    def _measure(self, item: InboxUpdate, verdict: str, started: float) -> None:
        """/metrics: how the update ended, its handling time, and its time since intake (queueing included)."""
        since_received = (self._clock.now() - item.received_at).total_seconds()
        self._metrics.update_processed(verdict, time.perf_counter() - started, since_received)

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
            await self._delivery.apply(self._core.apology(event))
        except Exception as second:  # the apology itself failed (Telegram down): logged, not raised
            exception_caught(second, update_id=item.update_id, stage="apology")
