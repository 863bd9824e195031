"""The submission queue: a launch beyond KIE's budget (ports/budgets.py: 20 new generation requests per 10 s for
the account, every instance together) waits here for its slot instead of failing, and its user sees the place.

Nothing here is the queue's memory: a waiting job is a job in state CREATED (charged once at launch, resumed
after a restart), and its place is derived from storage: 1 + the CREATED jobs launched before it (oldest first,
on every instance). This process's waiters take slots one at a time, oldest first; instances compete for slots
as equals. One slot-taking loop runs per process while anything waits (one budget round trip per slot or per
refusal), and places are read from storage at most once per ``refresh`` seconds for all waiters at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from ports.budgets import SubmitBudget
from ports.clock import Clock
from ports.model import Job
from ports.storage import StorageUnavailableError

log = logging.getLogger(__name__)

Tell = Callable[[int], Awaitable[None]]  # shows the job's place in the queue (1 = next)
Waiting = Callable[[], Awaitable[list[str]]]  # ids of every job waiting to be submitted, oldest first

REFRESH = 1.0  # seconds between two readings of the places (and the longest sleep between two tries)
SHOW_EVERY = 5.0  # seconds: a place that changed is shown again at most this often (edits cost Telegram's pace)


@dataclass(order=True)
class _Waiter:
    key: tuple[datetime, str]
    granted: asyncio.Future[None] = field(compare=False)
    tell: Tell = field(compare=False)
    since: datetime = field(compare=False)
    shown: int | None = field(default=None, compare=False)
    shown_at: datetime | None = field(default=None, compare=False)


class SubmitQueue:
    def __init__(self, budget: SubmitBudget, clock: Clock, waiting: Waiting, *, refresh: float = REFRESH,
                 show_every: float = SHOW_EVERY) -> None:
        self._budget, self._clock, self._waiting = budget, clock, waiting
        self._refresh, self._show_every = refresh, show_every
        self._waiters: dict[str, _Waiter] = {}
        self._pump: asyncio.Task[None] | None = None
        self._read_at: datetime | None = None
        # For /metrics and benchmarks: plain numbers, read at any time.
        self.passed = 0  # jobs that got their slot (at once or after waiting)
        self.queued = 0  # of them, those that had to wait
        self.waited_total = 0.0  # seconds the queued ones waited, together
        self.longest_wait = 0.0
        self.told = 0  # place messages shown
        self.global_length = 0  # jobs waiting on every instance, at the latest reading

    @property
    def length(self) -> int:
        """Jobs of this process waiting for a slot now."""
        return sum(1 for waiter in self._waiters.values() if not waiter.granted.done())

    async def turn(self, job: Job, tell: Tell) -> float:
        """Return once ``job`` holds a slot of the budget (the caller submits it at once); the seconds it waited.
        While it waits, ``tell(place)`` shows its place: at once, then when it changes (at most every
        ``show_every`` seconds)."""
        if not self._pending() and await self._take() == 0.0:
            self.passed += 1
            return 0.0
        started = self._clock.now()
        waiter = _Waiter((job.created_at, job.id), asyncio.get_running_loop().create_future(), tell, started)
        self._waiters[job.id] = waiter
        log.info("JOB_QUEUED", extra={"job": job.id, "waiting": len(self._waiters)})
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._run(), name="submit-queue")
        try:
            await self._show_places()  # told at once, even if the slot comes before the next refusal
            await waiter.granted
        finally:
            self._waiters.pop(job.id, None)
        waited = (self._clock.now() - started).total_seconds()
        self.passed += 1
        self.queued += 1
        self.waited_total += waited
        self.longest_wait = max(self.longest_wait, waited)
        log.info("JOB_DEQUEUED", extra={"job": job.id, "waited_s": round(waited, 2)})
        return waited

    async def stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)
            self._pump = None

    async def _run(self) -> None:
        try:
            while self._pending():
                wait = await self._take()
                if wait == 0.0:
                    self._grant()
                    continue
                await self._show_places()
                await self._clock.sleep(min(wait, self._refresh))
        except asyncio.CancelledError:
            raise
        except Exception:  # worker loop boundary: the waiters' drivers fail over to the next resume
            log.exception("EXCEPTION_CAUGHT", extra={"error_type": "submit_queue"})
            for waiter in list(self._waiters.values()):
                if not waiter.granted.done():
                    waiter.granted.set_exception(RuntimeError("the submission queue stopped"))

    async def _take(self) -> float:
        try:
            return await self._budget.take()
        except StorageUnavailableError as error:  # the shared budget is out of reach: wait, try again later
            log.warning("SUBMIT_BUDGET_UNAVAILABLE", extra={"error": str(error)})
            return self._refresh

    def _pending(self) -> bool:
        """Someone still waits (a granted waiter stays listed until its task resumes: it needs no slot)."""
        return any(not waiter.granted.done() for waiter in self._waiters.values())

    def _grant(self) -> None:
        """The slot just taken goes to the oldest waiter still waiting (a cancelled one's slot is passed on)."""
        for waiter in sorted(self._waiters.values()):
            if not waiter.granted.done():
                waiter.granted.set_result(None)
                return

    async def _show_places(self) -> None:
        now = self._clock.now()
        untold = any(waiter.shown is None for waiter in self._waiters.values())
        if not untold and self._read_at is not None and (now - self._read_at).total_seconds() < self._refresh:
            return
        self._read_at = now
        try:
            order = await self._waiting()
        except StorageUnavailableError as error:
            log.warning("SUBMIT_QUEUE_PLACES_UNKNOWN", extra={"error": str(error)})
            return
        self.global_length = len(order)
        places = {job_id: index + 1 for index, job_id in enumerate(order)}
        mine = sorted(waiter for waiter in self._waiters.values() if not waiter.granted.done())
        for rank, waiter in enumerate(mine, start=1):
            place = places.get(waiter.key[1], len(order) + rank)  # beyond the reading: after everything read
            if place == waiter.shown:
                continue
            recent = waiter.shown_at is not None and (now - waiter.shown_at).total_seconds() < self._show_every
            if recent:
                continue
            waiter.shown, waiter.shown_at = place, now
            self.told += 1
            await waiter.tell(place)
