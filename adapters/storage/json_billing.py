"""ports.billing's rows in the state document, as read: Stars payments, manual top-ups, free tries,
referrals, and each user's debt. json_state.State mixes them in; the rules that write them are the core's
(core/cashier.py), written through a unit of work (json_rows.State.apply).

Sections of the document (each optional: a document written before them reads as empty)::

    "payments":   {"<charge id>": StarsPayment},
    "topups":     {"<top-up id>": ManualTopup},
    "free_tries": {"<job id>": {"user_id": int, "day": "YYYY-MM-DD", "taken": bool, "released": bool}},
    "referrals":  {"<invitee id>": {"inviter_id": int, "created_at": time, "rewarded_at": time | null,
                                    "inviter_bonus": int, "invitee_bonus": int}}

and in each account ``"debt": int`` (absent: 0). A refused free try is kept too (``taken`` false), so a
repeat for the same job answers as the first call did.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from adapters.storage import checks
from adapters.storage.entity_codec import decode, encode_field, utc_text
from ports.billing import ManualTopup, ReferralStats, StarsPayment
from ports.storage import User

Record = dict[str, Any]


class BillingRows:
    """Mixed into json_state.State; relies on its document and accounts."""

    if TYPE_CHECKING:
        _doc: Record
        _users: dict[str, Record]
        _accounts: dict[str, Record]

        def _account(self, user_id: int) -> Record: ...

    def _init_billing(self) -> None:
        self._payments: dict[str, Record] = self._doc.setdefault("payments", {})
        self._topups: dict[str, Record] = self._doc.setdefault("topups", {})
        self._free_tries: dict[str, Record] = self._doc.setdefault("free_tries", {})
        self._referrals: dict[str, Record] = self._doc.setdefault("referrals", {})
        self._free_used: dict[tuple[int, str], int] = {}
        for record in self._free_tries.values():
            if record["taken"] and not record["released"]:
                day = (record["user_id"], record["day"])
                self._free_used[day] = self._free_used.get(day, 0) + 1

    def _check_billing(self) -> None:
        for key, account in self._accounts.items():
            debt = account.get("debt", 0)
            if type(debt) is not int or debt < 0:
                raise ValueError(f"account {key}: debt {debt!r}")
        for key, record in self._payments.items():
            payment = decode(StarsPayment, record)
            _known(self._users, key, payment.charge_id, payment.user_id)
        for key, record in self._topups.items():
            topup = decode(ManualTopup, record)
            _known(self._users, key, topup.id, topup.user_id)
        for key, record in self._free_tries.items():
            checks.text_id(key, "a job id")
            checks.day(record["day"])
            if not (type(record["user_id"]) is int and type(record["taken"]) is bool is type(record["released"])):
                raise ValueError(f"free try {key}: {record!r}")
        for key, record in self._referrals.items():
            _known(self._users, key, key, record["inviter_id"])
            _known(self._users, key, key, int(key))
            for moment in (record["created_at"], record["rewarded_at"]):
                if moment is not None:
                    utc_text(datetime.fromisoformat(moment))  # ValueError when not an aware ISO time
            checks.bonus(record["inviter_bonus"], "inviter_bonus")
            checks.bonus(record["invitee_bonus"], "invitee_bonus")

    # --- debt -------------------------------------------------------------------------------

    def debt(self, user_id: int) -> int:
        return self._account(user_id).get("debt", 0)

    # --- Stars payments ---------------------------------------------------------------------

    def payment(self, charge_id: str) -> StarsPayment | None:
        record = self._payments.get(charge_id)
        return None if record is None else decode(StarsPayment, record)

    def payments_for_user(self, user_id: int, limit: int) -> list[StarsPayment]:
        limit = checks.count(limit, "limit")
        mine = [record for record in reversed(self._payments.values()) if record["user_id"] == user_id]
        mine.sort(key=lambda record: record["created_at"], reverse=True)  # ties: the later recorded first
        return [decode(StarsPayment, record) for record in mine[:limit]]

    # --- manual top-ups ---------------------------------------------------------------------

    def topup(self, topup_id: str) -> ManualTopup | None:
        record = self._topups.get(topup_id)
        return None if record is None else decode(ManualTopup, record)

    # --- free tier --------------------------------------------------------------------------

    def free_used(self, user_id: int, day: str) -> int:
        return self._free_used.get((encode_field(User, "id", user_id), checks.day(day)), 0)

    # --- referrals --------------------------------------------------------------------------

    def referral_stats(self, inviter_id: int) -> ReferralStats:
        mine = [record for record in self._referrals.values() if record["inviter_id"] == inviter_id]
        rewarded = [record for record in mine if record["rewarded_at"] is not None]
        return ReferralStats(
            invited=len(mine), rewarded=len(rewarded), earned=sum(record["inviter_bonus"] for record in rewarded)
        )


def _known(users: dict[str, Record], key: str, record_id: str, user_id: int) -> None:
    if key != record_id:
        raise ValueError(f"record {record_id!r} is stored under {key!r}")
    if str(user_id) not in users:
        raise ValueError(f"record {record_id!r} names an unknown user {user_id}")
