"""ports.admin's Stats and UserDirectory on the state document (json_state.State mixes them in).

Read-only but for ``touch``, which writes ``last_seen_at`` at most once per checks.TOUCH_EVERY per
user. Times are compared as the codec's fixed-width UTC ISO text, which sorts chronologically. A window of
``d`` days is ``(now - d days, now]``, as in the PostgreSQL storage; text ties sort by code point (there by
``COLLATE "C"``), so both give the same answers.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from adapters.storage import checks
from adapters.storage.entity_codec import decode, encode_field, utc_text
from ports.admin import ModelCosts, Revenue, StatsSummary
from ports.billing import TopupState
from ports.storage import JobState, User

Record = dict[str, Any]


class ReportQueries:
    """Mixed into json_state.State; relies on its users and jobs and on json_billing's sections."""

    if TYPE_CHECKING:
        _users: dict[str, Record]
        _jobs: dict[str, Record]
        _payments: dict[str, Record]
        _topups: dict[str, Record]

    # --- Stats ------------------------------------------------------------------------------

    def summary(self, now: datetime, top: int) -> StatsSummary:
        until, top = utc_text(now), checks.count(top, "top")
        since = {days: utc_text(now - timedelta(days=days)) for days in checks.STATS_DAYS}
        seen = [record.get("last_seen_at") for record in self._users.values()]
        states = Counter(record["state"] for record in self._jobs.values())
        models = Counter(record["model_id"] for record in self._jobs.values())
        refunded = [record["price"] for record in self._jobs.values() if record["state"] == JobState.REFUNDED.value]
        return StatsSummary(
            users_total=len(self._users),
            users_active={
                days: sum(1 for moment in seen if moment is not None and start < moment <= until)
                for days, start in since.items()
            },
            jobs_by_state=dict(sorted(states.items())),  # the states that have jobs
            top_models=tuple(sorted(models.items(), key=lambda item: (-item[1], item[0]))[:top]),
            revenue={days: self._revenue(start, until) for days, start in since.items()},
            refunds=len(refunded),
            refunded_amount=sum(refunded),
        )

    def _revenue(self, since: str, until: str) -> Revenue:
        paid = [
            record
            for record in self._payments.values()
            if record["refunded_at"] is None and since < record["created_at"] <= until
        ]
        approved = [
            record
            for record in self._topups.values()
            if record["state"] == TopupState.APPROVED.value and since < record["decided_at"] <= until
        ]
        return Revenue(
            amount=sum(record["amount"] for record in paid) + sum(record["amount"] for record in approved),
            stars=sum(record["stars"] for record in paid),
            payments=len(paid) + len(approved),
        )

    def costs(self, since: datetime) -> list[ModelCosts]:
        start = utc_text(since)
        found: dict[str, list[Any]] = {}
        for record in self._jobs.values():
            if record["state"] != JobState.DELIVERED.value or record["created_at"] < start:
                continue
            row = found.setdefault(record["model_id"], [0, 0, 0, Decimal(0), 0])
            row[0] += 1
            row[1] += record["price"]
            cost = record.get("cost_credits")  # jobs stored before the field lack it
            if cost is not None:
                row[2] += 1
                row[3] += Decimal(cost)
                row[4] += record["price"]
        costs = [ModelCosts(model_id, *row) for model_id, row in found.items()]
        return sorted(costs, key=lambda item: (-item.paid, item.model_id))

    # --- UserDirectory ----------------------------------------------------------------------

    def find_user(self, query: str) -> User | None:
        wanted = checks.directory_query(query)
        if isinstance(wanted, int):
            record = self._users.get(str(wanted))
            return None if record is None else decode(User, record)
        if wanted is None:
            return None
        named = [
            record
            for record in self._users.values()
            if record["username"] is not None and record["username"].lower() == wanted
        ]
        if not named:
            return None
        # A stale duplicate (a username moved to another account): the one seen last, then the highest id.
        return decode(User, max(named, key=_recency))

    def touch(self, user_id: int, now: datetime) -> tuple[None, bool]:
        """Unknown users are a no-op (activity may be reported before the user is stored)."""
        seen = encode_field(User, "last_seen_at", now)
        record = self._users.get(str(encode_field(User, "id", user_id)))
        if record is None:
            return None, False
        stored = record.get("last_seen_at")  # documents older than the field lack it
        if stored is not None and now - datetime.fromisoformat(stored) < checks.TOUCH_EVERY:
            return None, False
        record["last_seen_at"] = seen
        return None, True


def _recency(record: Record) -> tuple[bool, str, int]:
    seen = record.get("last_seen_at")
    return seen is not None, seen or "", record["id"]
