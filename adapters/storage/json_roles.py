"""ports.billing's Payments, ManualTopups, FreeUsage and Referrals and ports.admin's Stats and UserDirectory
over the state file (``state.json``). Each call is one operation on json_state.State under the file's lock
(json_billing.py and json_reports.py hold the rules); a change is durable before the call returns, the money
movement and the record that justifies it in the same write. JsonStorage attaches them.
"""

from __future__ import annotations

from datetime import datetime

from adapters.storage.json_file import DurableFile
from adapters.storage.json_state import State
from ports.admin import ModelCosts, StatsSummary
from ports.billing import ManualTopup, ReferralStats, StarsPayment
from ports.storage import User

StateFile = DurableFile[State]


class JsonPayments:
    def __init__(self, file: StateFile) -> None:
        self._file = file

    async def get(self, charge_id: str) -> StarsPayment | None:
        return await self._file.read(lambda state: state.payment(charge_id))

    async def for_user(self, user_id: int, limit: int = 20) -> list[StarsPayment]:
        return await self._file.read(lambda state: state.payments_for_user(user_id, limit))


class JsonTopups:
    def __init__(self, file: StateFile) -> None:
        self._file = file

    async def get(self, topup_id: str) -> ManualTopup | None:
        return await self._file.read(lambda state: state.topup(topup_id))

class JsonFreeUsage:
    def __init__(self, file: StateFile) -> None:
        self._file = file

    async def used(self, user_id: int, day: str) -> int:
        return await self._file.read(lambda state: state.free_used(user_id, day))


class JsonReferrals:
    def __init__(self, file: StateFile) -> None:
        self._file = file

    async def stats(self, inviter_id: int) -> ReferralStats:
        return await self._file.read(lambda state: state.referral_stats(inviter_id))


class JsonStats:
    def __init__(self, file: StateFile) -> None:
        self._file = file

    async def summary(self, now: datetime, top: int = 5) -> StatsSummary:
        return await self._file.read(lambda state: state.summary(now, top))

    async def costs(self, since: datetime) -> list[ModelCosts]:
        return await self._file.read(lambda state: state.costs(since))


class JsonDirectory:
    def __init__(self, file: StateFile) -> None:
        self._file = file

    async def find(self, query: str) -> User | None:
        return await self._file.read(lambda state: state.find_user(query))

    async def touch(self, user_id: int, now: datetime) -> None:
        await self._file.change("touch", user_id, now)
