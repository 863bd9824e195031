"""Telegram's sending pace kept in this process: the ``SendPace`` (ports/budgets.py) of a single instance.
Instances sharing PostgreSQL share the pace in the database instead (adapters/storage/postgres/budgets.py);
both answer alike.

GCRA: each key keeps a theoretical arrival time ``tat``; a send at ``t`` conforms when ``t >= tat - tolerance``
and moves ``tat`` to ``max(tat, t) + interval``. A chat's slot is reserved first (the caller sleeps until it);
the overall slot is taken only when the chat's slot is now: a chat whose next slot is a second away holds no
overall capacity meanwhile, so a busy chat's pace never delays other chats' sends. Bulk sends (broadcasts)
take an overall slot only when ``tat`` is at most ``bulk_lookahead`` ahead, without the burst tolerance, so
interactive sends can always use the burst in front of them.
"""

from __future__ import annotations

from collections.abc import Callable

from ports.budgets import SLOW_FACTOR, PaceGrant, PaceSettings

SHORTEST_WAIT = 0.001


class LocalSendPace:
    def __init__(self, settings: PaceSettings, clock: Callable[[], float], *, max_chats: int = 10_000) -> None:
        self._settings, self._clock, self._max_chats = settings, clock, max_chats
        self._chats: dict[int, float] = {}
        self._tat = clock()
        self._slow_until = float("-inf")

    async def reserve(self, chat_id: int, *, bulk: bool = False) -> PaceGrant:
        now, s = self._clock(), self._settings
        if len(self._chats) > self._max_chats:
            self._chats = {chat: tat for chat, tat in self._chats.items() if tat > now}
        tat = max(self._chats.get(chat_id, now), now)
        self._chats[chat_id] = tat + s.per_chat_interval
        wait = tat - s.chat_tolerance - now
        if wait > 1e-9:
            return PaceGrant(False, wait)
        return self._overall(now, bulk)

    async def overall(self, *, bulk: bool = False) -> PaceGrant:
        return self._overall(self._clock(), bulk)

    async def defer(self, chat_id: int, seconds: float) -> None:
        now = self._clock()
        self._chats[chat_id] = max(self._chats.get(chat_id, now), now + seconds + self._settings.chat_tolerance)
        self._slow_until = max(self._slow_until, now + seconds)

    def _overall(self, now: float, bulk: bool) -> PaceGrant:
        s = self._settings
        slot = max(self._tat, now)
        if bulk and slot > now + s.bulk_lookahead:
            return PaceGrant(False, max(slot - s.bulk_lookahead - now, SHORTEST_WAIT))
        self._tat = slot + s.interval * (SLOW_FACTOR if self._slow_until > now else 1)
        return PaceGrant(True, max(slot - now - (0.0 if bulk else s.tolerance), 0.0))
