"""KIE's account-wide limit: at most 20 new generation requests per 10 seconds, every API family together
(KIE_API.md §8); a request beyond it is refused with 429 and not queued. This is the in-process
``SubmitBudget`` (ports/budgets.py) of a single instance (JSON storage); instances sharing PostgreSQL share the
budget in the database instead (adapters/storage/postgres/budgets.py). Waiting for a slot is the caller's: the
job runner keeps launches beyond the budget in its submission queue (core/submit_queue.py)."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from ports.budgets import SubmitBudget
from ports.clock import Clock

DEFAULT_LIMIT = 20
DEFAULT_WINDOW = 10.0  # seconds
# KIE counts a request when it arrives, we when we send it: a request sent later may arrive sooner, so a slot
# is reused only this long after the window has passed.
MARGIN = 0.5
RATE_LIMIT_HOLD = DEFAULT_WINDOW  # seconds without new requests after KIE's 429 (it sends no retry_after)
SHORTEST_WAIT = 0.001  # seconds: a refusal always asks the caller to wait a little


class LocalSubmitBudget:
    """A sliding-window log: a slot taken at ``t`` comes back at ``t + window + MARGIN``."""

    def __init__(self, clock: Clock, *, limit: int = DEFAULT_LIMIT, window: float = DEFAULT_WINDOW) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be ≥ 1 and window positive")
        self._clock = clock
        self._limit = limit
        self._span = timedelta(seconds=window + MARGIN)
        self._taken: deque[datetime] = deque()
        self._held_until: datetime | None = None

    async def take(self) -> float:
        now = self._clock.now()
        if self._held_until is not None and now < self._held_until:
            return max((self._held_until - now).total_seconds(), SHORTEST_WAIT)
        while self._taken and now - self._taken[0] >= self._span:
            self._taken.popleft()
        if len(self._taken) < self._limit:
            self._taken.append(now)
            return 0.0
        return max((self._taken[0] + self._span - now).total_seconds(), SHORTEST_WAIT)

    async def hold(self, seconds: float) -> None:
        until = self._clock.now() + timedelta(seconds=max(seconds, 0.0))
        self._held_until = max(self._held_until or until, until)


async def wait_for_slot(budget: SubmitBudget, sleep: Callable[[float], Awaitable[None]]) -> float:
    """Take a slot, sleeping while there is none; the seconds waited."""
    waited = 0.0
    while (wait := await budget.take()) > 0:
        waited += wait
        await sleep(wait)
    return waited
