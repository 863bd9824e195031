"""Budgets shared by every bot process using one account: KIE's generation requests (20 new ones per 10 s per
account, KIE_API.md §8) and Telegram's sending pace (~30 messages/s per bot, ~1/s per chat,
TELEGRAM_FACTS.md). With PostgreSQL they live in the database and hold across processes
(adapters/storage/postgres/budgets.py); a single instance keeps an in-process equivalent behind the same port
(adapters/kie/submit_limiter.py, adapters/telegram/limits.py)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol


class SubmitBudget(Protocol):
    """At most ``limit`` generation requests in any ``window`` seconds, every process and API family together."""

    async def take(self) -> float:
        """Take one slot when the window has room: 0.0. Otherwise nothing is taken and the answer is the
        seconds after which asking again may succeed (always > 0). One round trip; never waits."""
        ...

    async def hold(self, seconds: float) -> None:
        """The generator answered 429: no slot is given to anyone for ``seconds`` from now."""
        ...


@dataclass(frozen=True)
class PaceSettings:
    """Telegram's pace: one send per chat per ``per_chat_interval`` seconds on average (bursts of ``chat_burst``),
    ``per_second`` sends overall (interactive bursts of one second's worth; bulk sends look ``bulk_lookahead``
    seconds ahead at most, so they never reserve much of the future)."""

    per_chat_interval: float = 1.0
    chat_burst: int = 3
    per_second: float = 30.0
    bulk_lookahead: float = 0.25

    def __post_init__(self) -> None:
        if self.per_chat_interval < 0 or self.chat_burst < 1 or self.per_second <= 0 or self.bulk_lookahead < 0:
            raise ValueError("per_chat_interval >= 0, chat_burst >= 1, per_second > 0, bulk_lookahead >= 0 required")

    @property
    def chat_tolerance(self) -> float:
        return self.per_chat_interval * (self.chat_burst - 1)

    @property
    def interval(self) -> float:
        """Seconds between two overall slots."""
        return 1.0 / self.per_second

    @property
    def tolerance(self) -> float:
        """The interactive burst: one second's worth of slots."""
        return self.interval * (max(1, int(self.per_second)) - 1)


SLOW_FACTOR = 2  # after a 429 the overall interval is this many times longer, for the retry_after


@dataclass(frozen=True)
class PaceGrant:
    """``taken``: an overall slot was taken, and the send may go ``wait`` seconds from now. Otherwise nothing
    overall was taken: ask :meth:`SendPace.overall` again ``wait`` seconds from now."""

    taken: bool
    wait: float


class SendPace(Protocol):
    """Telegram's pace: per chat (a reservation: sleep until it) and overall. Overall slots come in two classes:
    interactive traffic reserves them (and may use the burst); bulk traffic (broadcasts) takes a slot only when
    the pace has room now, so it fills what interactive traffic leaves and never holds slots ahead of it."""

    async def reserve(self, chat_id: int, *, bulk: bool = False) -> PaceGrant:
        """Reserve the chat's next slot; when that slot is now, try the overall slot in the same round trip.
        Not taken: ``wait`` is the time until the chat's slot (or, for bulk, until the pace may have room)."""
        ...

    async def overall(self, *, bulk: bool = False) -> PaceGrant:
        """Take an overall slot (interactive: always taken, perhaps in the future; bulk: only with room now)."""
        ...

    async def defer(self, chat_id: int, seconds: float) -> None:
        """Telegram answered 429 (``retry_after`` = ``seconds``) for this chat: hold the chat back that long,
        and halve the overall pace for that long."""
        ...


# Set by a task that sends bulk traffic (a broadcast); the messenger reads it to pick the pace class.
bulk_sending: ContextVar[bool] = ContextVar("bulk_sending", default=False)

