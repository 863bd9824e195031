"""KIE's account-wide limit: at most 20 new generation requests per 10 seconds, every API family together
(KIE_API.md §8); a request beyond it is refused with 429 and not queued. This instance keeps to the limit
itself: a submit beyond it waits for its slot (first come, first served) instead of failing the order.
Single-instance only: several instances sharing one key need a shared budget (the scale-out issue)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from ports.clock import Clock

DEFAULT_LIMIT = 20
DEFAULT_WINDOW = 10.0  # seconds
# KIE counts a request when it arrives, we when we send it: a request sent later may arrive sooner, so a slot
# is reused only this long after the window has passed.
MARGIN = 0.5


class SubmitLimiter:
    def __init__(
        self, clock: Clock, sleep: Callable[[float], Awaitable[None]], *, limit: int = DEFAULT_LIMIT,
        window: float = DEFAULT_WINDOW,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be ≥ 1 and window positive")
        self._clock = clock
        self._sleep = sleep
        self._limit = limit
        self._window = timedelta(seconds=window)
        self._sent: deque[datetime] = deque()
        self._turn = asyncio.Lock()  # waiters take their slots in arrival order
        self.waited = 0.0  # seconds spent waiting in total (for logs and benchmarks)

    async def acquire(self) -> float:
        """Take one slot, waiting until the window has room; returns the seconds waited."""
        waited = 0.0
        async with self._turn:
            while True:
                now = self._clock.now()
                while self._sent and now - self._sent[0] >= self._window + timedelta(seconds=MARGIN):
                    self._sent.popleft()
                if len(self._sent) < self._limit:
                    self._sent.append(now)
                    self.waited += waited
                    return waited
                pause = max((self._sent[0] + self._window - now).total_seconds() + MARGIN, 0.001)
                waited += pause
                await self._sleep(pause)
