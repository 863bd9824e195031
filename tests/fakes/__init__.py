"""Fakes of external services that speak their real protocols (HTTP on loopback), and test time helpers.

- :mod:`adapters.telegram.fake_bot_api`: ``FakeBotApi``, the Telegram Bot API.
- :class:`FakeTime`: an injectable monotonic clock and async sleep; a sleep records its duration, moves the
  clock and returns at once.
- :func:`bounded`: wraps an async test in ``asyncio.timeout`` so a hang fails the test instead of the run.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


class FakeTime:
    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


def bounded(seconds: float = 10.0) -> Callable[[F], F]:
    def wrap(test: F) -> F:
        @functools.wraps(test)
        async def run(*args: Any, **kwargs: Any) -> Any:
            async with asyncio.timeout(seconds):
                return await test(*args, **kwargs)

        return run  # type: ignore[return-value]

    return wrap
