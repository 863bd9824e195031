"""The outbox's drainer: sends what was committed to the outbox (ports/outbox.py), one chat's messages one at a
time in the order they were stored, and removes each once sent.

- Sent: the message is marked sent (its key is kept for a day, so a repeated commit adds it no more). The mark
  costs no round trip of its own: it rides on the next update's commit (``take_marks``, core/bot.py), or goes
  with the next sweep (about a second on the active instance) or at shutdown (``flush``). A crash between the
  send and that mark sends the message again after restart: the only repeat the outbox allows.
- ``RecipientBlockedError``: the recipient blocked the bot, left or is gone. The recipient (a private chat is a
  user) is marked blocked and every message still waiting for that chat is dropped.
- ``MessengerUnavailableError`` (network, 5xx, Telegram down): the message stays, its attempts are counted and it
  is tried again after a backoff (doubling from ``backoff_first`` up to ``backoff_max``); the chat's later
  messages wait behind it, so the order is kept.
- ``ResultRefusedError`` or an error nobody expected: the message can never go out as it is; after
  ``max_attempts`` it is dropped (logged) so one bad message does not hold its chat forever.

``send_now(messages)`` sends just-committed messages at once. When this process knows nothing older waits for
their chat (it has swept since it started, and every message it was handed since went out), it sends them as
given, without reading the outbox back: one round trip per message, its mark. Otherwise it drains the chat from
storage, in order. ``sweep()`` drains every chat with something due (the active instance calls it periodically:
retries, and what a crash or another instance left behind).

Several instances on one database (``shared``): every instance commits and sends its own updates' messages, and
the chat's next update may be processed by another instance while they are still going out. So an instance
sends only what it was handed (it never drains a chat from storage, where another instance's message may be in
flight), marks each message sent at once (a deferred mark would let another instance's sweep send it again), and
the leader's sweep takes only what is plainly left behind: a message due for a retry, or one older than
``orphan_after`` seconds (its instance died between the commit and the send).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import OrderedDict
from datetime import timedelta
from typing import Sequence

from entrypoints.delivery import Delivery
from entrypoints.telemetry import exception_caught
from ports.clock import Clock
from ports.effects import Messenger, MessengerUnavailableError, RecipientBlockedError, ResultRefusedError
from ports.outbox import Outbox, OutboxMessage
from ports.storage import StorageUnavailableError, Users
from ports.trace import correlation_id

log = logging.getLogger(__name__)

RECENT_KEYS = 10_000  # keys sent here lately: a sweep and a send_now racing for one message send it once


class OutboxSender:
    def __init__(self, outbox: Outbox, messenger: Messenger, users: Users, clock: Clock, *,
                 backoff_first: float = 2.0, backoff_max: float = 300.0, max_attempts: int = 8,
                 batch: int = 100, shared: bool = False, orphan_after: float = 10.0) -> None:
        self._outbox, self._messenger, self._clock = outbox, messenger, clock
        self._shared, self._orphan_after = shared, timedelta(seconds=orphan_after)
        self._delivery = Delivery(messenger, users)
        self._backoff_first, self._backoff_max = backoff_first, backoff_max
        self._max_attempts, self._batch = max_attempts, batch
        # One drain per chat at a time: two would interleave its messages.
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        self._swept = False  # a first sweep found what earlier processes left
        self._backlog: set[int] = set()  # chats that may have older messages waiting (put off, or left)
        self._recent: OrderedDict[str, None] = OrderedDict()  # keys this process sent lately
        self._unmarked: list[str] = []  # sent, not yet marked sent in storage
        self.sent = 0  # messages sent since start
        self.retried = 0  # sends put off for a retry

    async def send_now(self, messages: Sequence[OutboxMessage]) -> None:
        by_chat: dict[int, list[OutboxMessage]] = {}
        for message in messages:
            by_chat.setdefault(message.chat_id, []).append(message)
        if len(by_chat) == 1:
            [(chat, given)] = by_chat.items()
            await self._drain_chat(chat, given)
        elif by_chat:
            await asyncio.gather(*(self._drain_chat(chat, given) for chat, given in by_chat.items()))

    def take_marks(self) -> list[str]:
        """The keys sent and not yet marked: the caller marks them in its own commit (or gives them back)."""
        keys, self._unmarked = self._unmarked, []
        return keys

    def give_back(self, keys: list[str]) -> None:
        """Marks a commit could not make: they go with the next one."""
        self._unmarked[:0] = keys

    async def flush(self) -> None:
        """Mark sent what was sent and is not marked yet (one statement)."""
        keys = self.take_marks()
        if keys:
            try:
                await self._outbox.sent(keys, self._clock.now())
            except BaseException:
                self.give_back(keys)
                raise

    async def close(self) -> None:
        """At shutdown: mark what was sent (a failure is logged: those few are sent again after restart)."""
        try:
            await self.flush()
        except Exception as error:  # shutting down: nothing left to retry with
            exception_caught(error, stage="outbox_close")

    async def sweep(self) -> int:
        """Mark what was sent, then drain every chat that has a message waiting; how many chats were looked at."""
        await self.flush()
        waiting = await self._outbox.pending(self._batch * 10)
        self._swept = True
        self._backlog.update(message.chat_id for message in waiting)
        now = self._clock.now()
        if self._shared:  # another instance may be sending a fresh message: only retries and orphans are ours
            waiting = [m for m in waiting if m.next_attempt_at is not None or m.created_at <= now - self._orphan_after]
        chats = [chat for chat in dict.fromkeys(message.chat_id for message in waiting) if not self._busy(chat)]
        due = {m.chat_id for m in waiting if m.next_attempt_at is None or m.next_attempt_at <= now}
        chats = [chat for chat in chats if chat in due]
        if self._shared:  # exactly the messages picked above, in their order (given: no read back)
            await asyncio.gather(*(self._drain_chat(chat, [m for m in waiting if m.chat_id == chat]) for chat in chats))
        else:
            await asyncio.gather(*(self._drain_chat(chat) for chat in chats))
        return len(chats)

    async def run(self, every: float) -> None:
        """Sweep every ``every`` seconds until cancelled (the active instance's outbox loop). Started on taking
        over: until its first sweep, chats are drained from storage (another instance may have left messages)."""
        self._swept = False
        while True:
            try:
                await self.sweep()
            except StorageUnavailableError as error:
                exception_caught(error, stage="outbox_sweep")
            await asyncio.sleep(every)

    def _busy(self, chat_id: int) -> bool:
        lock = self._locks.get(chat_id)
        return lock is not None and lock.locked()

    async def _drain_chat(self, chat_id: int, given: list[OutboxMessage] | None = None) -> None:
        lock = self._locks.get(chat_id)
        if lock is None:
            lock = self._locks[chat_id] = asyncio.Lock()
        async with lock:
            if given is not None and (self._shared or (self._swept and chat_id not in self._backlog)):
                for message in given:
                    if message.key not in self._recent and not await self._send_one(message):
                        self._backlog.add(chat_id)
                        return
                return
            while True:
                waiting = [m for m in await self._outbox.pending(self._batch, chat_id) if m.key not in self._recent]
                if not waiting:
                    self._backlog.discard(chat_id)
                    return
                for message in waiting:
                    if not await self._send_one(message):
                        self._backlog.add(chat_id)
                        return  # the chat waits: for its retry time, or it was dropped
                if len(waiting) < self._batch:
                    self._backlog.discard(chat_id)
                    return

    async def _send_one(self, message: OutboxMessage) -> bool:
        """True when the chat may go on to its next message."""
        now = self._clock.now()
        if message.next_attempt_at is not None and message.next_attempt_at > now:
            return False
        token = correlation_id.set(message.cid or correlation_id.get())
        try:
            try:
                await self._messenger.apply([message.effect])
            except RecipientBlockedError as error:
                recipient = error.chat_id if error.chat_id is not None else message.chat_id
                await self._delivery.mark_unreachable(recipient, type(message.effect).__name__)
                await self._mark_sent(message)
                dropped = await self._outbox.drop_chat(recipient, self._clock.now())
                log.info("OUTBOX_DROPPED chat=%s messages=%s", recipient, dropped + 1)
                return False
            except MessengerUnavailableError as error:
                await self._later(message, str(error))
                return False
            except (StorageUnavailableError, asyncio.CancelledError):
                raise
            except Exception as error:  # ResultRefusedError or a bug: never block the chat forever
                if message.attempts + 1 >= self._max_attempts or isinstance(error, ResultRefusedError):
                    exception_caught(error, stage="outbox", chat=message.chat_id, key=message.key)
                    await self._mark_sent(message)
                    log.error("OUTBOX_GAVE_UP chat=%s key=%s attempts=%s", message.chat_id, message.key,
                              message.attempts + 1)
                    return True
                exception_caught(error, stage="outbox", chat=message.chat_id, key=message.key)
                await self._later(message, type(error).__name__)
                return False
            await self._mark_sent(message)
            self.sent += 1
            return True
        finally:
            correlation_id.reset(token)

    async def _mark_sent(self, message: OutboxMessage) -> None:
        self._recent[message.key] = None  # never sent again by this process, marked or not yet
        while len(self._recent) > RECENT_KEYS:
            self._recent.popitem(last=False)
        self._unmarked.append(message.key)
        if self._shared or len(self._unmarked) >= self._batch:
            await self.flush()

    async def _later(self, message: OutboxMessage, reason: str) -> None:
        attempts = message.attempts + 1
        delay = min(self._backoff_first * 2 ** (attempts - 1), self._backoff_max)
        await self._outbox.retry_later(message.key, attempts, self._clock.now() + timedelta(seconds=delay))
        self.retried += 1
        log.warning("OUTBOX_RETRY chat=%s key=%s attempts=%s in_s=%s reason=%s", message.chat_id, message.key,
                    attempts, delay, reason[:80])
