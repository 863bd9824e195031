"""The transactional outbox: effects promised to users, stored in the same commit as the change that caused them,
sent afterwards by a drainer (entrypoints/outbox_sender.py), one chat's messages in the order they were stored.

A message is stored once per ``key``: adding a key already stored, pending or sent within RETENTION, changes
nothing. That is what makes a handler safe to repeat after a crash: it names its notices by what they are about
(``receipt:<charge id>``), and the repeat's copy is dropped. Delivery is at least once: a crash between a send and
its "marked sent" sends that message again after restart; nothing else repeats.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, Sequence

from ports.effects import Effect


RETENTION = timedelta(hours=24)  # a sent message's key is remembered this long


@dataclass(frozen=True)
class OutboxMessage:
    key: str  # unique among stored messages: "u<update id>:<n>" for an update's effects, "refund:<job id>", ...
    chat_id: int  # the recipient: one chat's messages go out one at a time, in ``seq`` order
    effect: Effect
    created_at: datetime
    cid: str = ""  # the correlation id of the update or job that made it (its send logs carry it)
    seq: int = 0  # given by the storage when stored (increasing); 0 on a message not stored yet
    attempts: int = 0  # failed sends so far
    next_attempt_at: datetime | None = None  # None: due now


class Outbox(Protocol):
    async def add(self, messages: Sequence[OutboxMessage]) -> None:
        """Store the messages (given ``seq`` is ignored; each gets the next one). A key already stored, pending
        or sent within RETENTION, is skipped."""
        ...

    async def pending(self, limit: int = 100, chat_id: int | None = None) -> list[OutboxMessage]:
        """Messages not sent yet (of one chat, when given), lowest ``seq`` first, due or not."""
        ...

    async def sent(self, keys: Sequence[str], now: datetime) -> None:
        """Sent (or given up): no longer pending; the keys are remembered for RETENTION. Idempotent."""
        ...

    async def retry_later(self, key: str, attempts: int, next_attempt_at: datetime) -> None:
        """A send failed for now: count it and wait until ``next_attempt_at``."""
        ...

    async def drop_chat(self, chat_id: int, now: datetime) -> int:
        """The recipient blocked the bot (or the chat is gone): its pending messages are given up; how many."""
        ...

    async def depth(self) -> int:
        """How many messages wait to be sent."""
        ...


class OutboxWaker(Protocol):
    """What a committed change calls so its messages go out now (the drainer), rather than at its next sweep."""

    async def send_now(self, messages: Sequence[OutboxMessage]) -> None:
        """Send these just-committed messages (and whatever waits before them in their chats), in order; returns
        when each was sent or put off for a retry."""
        ...

    def take_marks(self) -> list[str]:
        """Keys sent but not yet marked sent: the caller marks them in the commit it is about to make."""
        ...

    def give_back(self, keys: list[str]) -> None:
        """That commit failed: the marks go with a later one."""
        ...
