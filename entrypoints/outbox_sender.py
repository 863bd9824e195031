"""The outbox's drainer: sends what was committed to the outbox (ports/outbox.py), one chat's messages one at a
time in the order they were stored, and removes each once sent.

- Sent: the message is removed ("marked sent"). A crash between the send and the removal sends it again after
  restart: the only repeat the outbox allows.
- ``RecipientBlockedError``: the recipient blocked the bot, left or is gone. The recipient (a private chat is a
  user) is marked blocked and every message still waiting for that chat is dropped.
- ``MessengerUnavailableError`` (network, 5xx, Telegram down): the message stays, its attempts are counted and it
  is tried again after a backoff (doubling from ``backoff_first`` up to ``backoff_max``); the chat's later
  messages wait behind it, so the order is kept.
- ``ResultRefusedError`` or an error nobody expected: the message can never go out as it is; after
  ``max_attempts`` it is dropped (logged) so one bad message does not hold its chat forever.

``send_now(chat_ids)`` drains those chats at once (after a commit); ``sweep()`` drains every chat with something
due (the active instance calls it periodically: retries, and what a crash left behind).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
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


class OutboxSender:
    def __init__(self, outbox: Outbox, messenger: Messenger, users: Users, clock: Clock, *,
                 backoff_first: float = 2.0, backoff_max: float = 300.0, max_attempts: int = 8,
                 batch: int = 100) -> None:
        self._outbox, self._messenger, self._clock = outbox, messenger, clock
        self._delivery = Delivery(messenger, users)
        self._backoff_first, self._backoff_max = backoff_first, backoff_max
        self._max_attempts, self._batch = max_attempts, batch
        # One drain per chat at a time: two would interleave its messages.
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        self.sent = 0  # messages sent since start
        self.retried = 0  # sends put off for a retry

    async def send_now(self, chat_ids: Sequence[int]) -> None:
        chats = list(dict.fromkeys(chat_ids))
        if len(chats) == 1:
            await self._drain_chat(chats[0])
        elif chats:
            await asyncio.gather(*(self._drain_chat(chat) for chat in chats))

    async def sweep(self) -> int:
        """Drain every chat that has a message waiting; how many chats were looked at."""
        waiting = await self._outbox.pending(self._batch * 10)
        now = self._clock.now()
        chats = [chat for chat in dict.fromkeys(message.chat_id for message in waiting) if not self._busy(chat)]
        due = {m.chat_id for m in waiting if m.next_attempt_at is None or m.next_attempt_at <= now}
        chats = [chat for chat in chats if chat in due]
        await asyncio.gather(*(self._drain_chat(chat) for chat in chats))
        return len(chats)

    async def run(self, every: float) -> None:
        """Sweep every ``every`` seconds until cancelled (the active instance's outbox loop)."""
        while True:
            try:
                await self.sweep()
            except StorageUnavailableError as error:
                exception_caught(error, stage="outbox_sweep")
            await asyncio.sleep(every)

    def _busy(self, chat_id: int) -> bool:
        lock = self._locks.get(chat_id)
        return lock is not None and lock.locked()

    async def _drain_chat(self, chat_id: int) -> None:
        lock = self._locks.get(chat_id)
        if lock is None:
            lock = self._locks[chat_id] = asyncio.Lock()
        async with lock:
            while True:
                waiting = await self._outbox.pending(self._batch, chat_id)
                if not waiting:
                    return
                for message in waiting:
                    if not await self._send_one(message):
                        return  # the chat waits: for its retry time, or it was dropped
                if len(waiting) < self._batch:
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
                await self._outbox.sent(message.seq)
                dropped = await self._outbox.drop_chat(recipient)
                log.info("OUTBOX_DROPPED chat=%s messages=%s", recipient, dropped + 1)
                return recipient != message.chat_id
            except MessengerUnavailableError as error:
                await self._later(message, str(error))
                return False
            except (StorageUnavailableError, asyncio.CancelledError):
                raise
            except Exception as error:  # ResultRefusedError or a bug: never block the chat forever
                if message.attempts + 1 >= self._max_attempts or isinstance(error, ResultRefusedError):
                    exception_caught(error, stage="outbox", chat=message.chat_id, key=message.key)
                    await self._outbox.sent(message.seq)
                    log.error("OUTBOX_GAVE_UP chat=%s key=%s attempts=%s", message.chat_id, message.key,
                              message.attempts + 1)
                    return True
                exception_caught(error, stage="outbox", chat=message.chat_id, key=message.key)
                await self._later(message, type(error).__name__)
                return False
            await self._outbox.sent(message.seq)
            self.sent += 1
            return True
        finally:
            correlation_id.reset(token)

    async def _later(self, message: OutboxMessage, reason: str) -> None:
        attempts = message.attempts + 1
        delay = min(self._backoff_first * 2 ** (attempts - 1), self._backoff_max)
        await self._outbox.retry_later(message.seq, attempts, self._clock.now() + timedelta(seconds=delay))
        self.retried += 1
        log.warning("OUTBOX_RETRY chat=%s key=%s attempts=%s in_s=%s reason=%s", message.chat_id, message.key,
                    attempts, delay, reason[:80])
