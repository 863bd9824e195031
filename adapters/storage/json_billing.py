"""ports.billing's rules on the state document: Stars payments, manual top-ups, the free tier, referrals,
and the debt a Stars refund may leave, which later credits settle. json_state.State mixes them in, so every
money movement here goes through State's own ledger (``_plan`` / ``_apply``) in the same document change as
the record that justifies it: one durable write, under the state file's lock.

Same discipline as json_state: validate first, mutate only once nothing can fail, return ``(result,
changed)`` (an idempotent repeat reports no change and costs no write).

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

from adapters.storage import billing_checks as checks
from adapters.storage.json_codec import decode, encode_field, utc_text
from ports.billing import ManualTopup, ReferralStats, StarsPayment, TopupState
from ports.storage import IdempotencyConflictError, User

Record = dict[str, Any]


class BillingRules:
    """Mixed into json_state.State; relies on its document, accounts and ledger helpers."""

    if TYPE_CHECKING:
        _doc: Record
        _users: dict[str, Record]
        _accounts: dict[str, Record]
        _entry_by_key: dict[str, Record]

        def _account(self, user_id: int) -> Record: ...

        def _plan(
            self, user_id: int, balance: int, amount: int, key: str, reason: str, now: datetime
        ) -> tuple[Record, bool]: ...

        def _apply(self, entry: Record) -> None: ...

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

    def _settlement(self, entry: Record) -> Record | None:
        """The entry paying off the user's debt out of the new credit ``entry`` (to apply right after it),
        or None (not a credit, or no debt). Changes nothing; refuses a ``settle:`` key already taken."""
        if entry["amount"] <= 0:
            return None
        settled = min(self._accounts[str(entry["user_id"])].get("debt", 0), entry["amount"])
        if settled == 0:
            return None
        key = f"settle:{entry['key']}"
        if key in self._entry_by_key:
            raise IdempotencyConflictError(f"key {key!r} is taken: cannot settle the debt out of {entry['key']!r}")
        return {
            "key": key,
            "user_id": entry["user_id"],
            "amount": -settled,
            "balance_after": entry["balance_after"] - settled,
            "reason": "debt",
            "created_at": entry["created_at"],
        }

    def _settle(self, account: Record, settlement: Record) -> None:
        """Apply ``_settlement``'s entry (called by State._apply right after the credit)."""
        account["entries"].append(settlement)
        account["balance"] = settlement["balance_after"]
        account["debt"] = account.get("debt", 0) + settlement["amount"]
        self._entry_by_key[settlement["key"]] = settlement

    # --- Stars payments ---------------------------------------------------------------------

    def record_stars(self, payment: StarsPayment) -> tuple[tuple[StarsPayment, bool], bool]:
        record = checks.stars_payment(payment)
        existing = self._payments.get(payment.charge_id)
        if existing is not None:
            return (decode(StarsPayment, existing), False), False
        balance = self._account(payment.user_id)["balance"]
        key = f"stars:{payment.charge_id}"
        entry, new = self._plan(payment.user_id, balance, payment.amount, key, "topup", payment.created_at)
        if new:
            self._apply(entry)
        self._payments[payment.charge_id] = record
        return (decode(StarsPayment, record), True), True

    def refund_stars(self, charge_id: str, now: datetime) -> tuple[tuple[StarsPayment | None, bool], bool]:
        refunded_at = encode_field(StarsPayment, "refunded_at", now)
        record = self._payments.get(checks.text_id(charge_id, "a charge id"))
        if record is None:
            return (None, False), False
        if record["refunded_at"] is not None:
            return (decode(StarsPayment, record), False), False
        user_id, amount = record["user_id"], record["amount"]
        account = self._account(user_id)
        taken = min(amount, account["balance"])
        entry, key = None, f"stars_refund:{charge_id}"
        if taken > 0:
            entry, new = self._plan(user_id, account["balance"], -taken, key, "refund_stars", now)
            if not new:
                raise IdempotencyConflictError(f"key {key!r} is taken, yet payment {charge_id} is not refunded")
        if entry is not None:
            self._apply(entry)
        if amount > taken:
            account["debt"] = account.get("debt", 0) + amount - taken
        record["refunded_at"] = refunded_at
        return (decode(StarsPayment, record), True), True

    def payment(self, charge_id: str) -> StarsPayment | None:
        record = self._payments.get(charge_id)
        return None if record is None else decode(StarsPayment, record)

    def payments_for_user(self, user_id: int, limit: int) -> list[StarsPayment]:
        limit = checks.count(limit, "limit")
        mine = [record for record in reversed(self._payments.values()) if record["user_id"] == user_id]
        mine.sort(key=lambda record: record["created_at"], reverse=True)  # ties: the later recorded first
        return [decode(StarsPayment, record) for record in mine[:limit]]

    # --- manual top-ups ---------------------------------------------------------------------

    def create_topup(self, topup: ManualTopup) -> tuple[None, bool]:
        record = checks.new_topup(topup)
        if topup.id in self._topups:
            return None, False  # created before: the first one stands
        self._account(topup.user_id)
        self._topups[topup.id] = record
        return None, True

    def topup(self, topup_id: str) -> ManualTopup | None:
        record = self._topups.get(topup_id)
        return None if record is None else decode(ManualTopup, record)

    def decide_topup(
        self, topup_id: str, admin_id: int, now: datetime, approve: bool
    ) -> tuple[tuple[ManualTopup | None, bool], bool]:
        decided = {
            "state": (TopupState.APPROVED if approve else TopupState.REJECTED).value,
            "decided_by": encode_field(ManualTopup, "decided_by", admin_id),
            "decided_at": encode_field(ManualTopup, "decided_at", now),
        }
        record = self._topups.get(topup_id)
        if record is None:
            return (None, False), False
        if record["state"] != TopupState.PENDING.value:
            return (decode(ManualTopup, record), False), False
        if approve:
            balance = self._account(record["user_id"])["balance"]
            entry, new = self._plan(record["user_id"], balance, record["amount"], f"manual:{topup_id}", "topup", now)
            if new:
                self._apply(entry)
        record.update(decided)
        return (decode(ManualTopup, record), True), True

    # --- free tier --------------------------------------------------------------------------

    def consume_free(self, user_id: int, day: str, limit: int, job_id: str) -> tuple[bool, bool]:
        user_id = encode_field(User, "id", user_id)
        day, limit = checks.day(day), checks.count(limit, "limit")
        existing = self._free_tries.get(checks.text_id(job_id, "a job id"))
        if existing is not None:
            return existing["taken"], False
        taken = self._free_used.get((user_id, day), 0) < limit
        self._free_tries[job_id] = {"user_id": user_id, "day": day, "taken": taken, "released": False}
        if taken:
            self._free_used[(user_id, day)] = self._free_used.get((user_id, day), 0) + 1
        return taken, True

    def release_free(self, job_id: str) -> tuple[bool, bool]:
        record = self._free_tries.get(job_id)
        if record is None or not record["taken"] or record["released"]:
            return False, False
        record["released"] = True
        self._free_used[(record["user_id"], record["day"])] -= 1
        return True, True

    def free_used(self, user_id: int, day: str) -> int:
        return self._free_used.get((encode_field(User, "id", user_id), checks.day(day)), 0)

    # --- referrals --------------------------------------------------------------------------

    def link_referral(self, invitee_id: int, inviter_id: int, now: datetime) -> tuple[bool, bool]:
        invitee_id, inviter_id = encode_field(User, "id", invitee_id), encode_field(User, "id", inviter_id)
        created_at = utc_text(now)
        if (
            invitee_id == inviter_id
            or str(invitee_id) not in self._users
            or str(inviter_id) not in self._users
            or str(invitee_id) in self._referrals
        ):
            return False, False
        self._referrals[str(invitee_id)] = {
            "inviter_id": inviter_id,
            "created_at": created_at,
            "rewarded_at": None,
            "inviter_bonus": 0,
            "invitee_bonus": 0,
        }
        return True, True

    def reward_referral(
        self, invitee_id: int, inviter_bonus: int, invitee_bonus: int, now: datetime
    ) -> tuple[int | None, bool]:
        invitee_id = encode_field(User, "id", invitee_id)
        bonuses = checks.bonus(inviter_bonus, "inviter_bonus"), checks.bonus(invitee_bonus, "invitee_bonus")
        rewarded_at = utc_text(now)
        record = self._referrals.get(str(invitee_id))
        if record is None or record["rewarded_at"] is not None:
            return None, False
        inviter_id = record["inviter_id"]
        credits = []
        for user_id, amount, side in ((inviter_id, bonuses[0], "inviter"), (invitee_id, bonuses[1], "invitee")):
            if amount > 0:
                balance = self._account(user_id)["balance"]
                entry, new = self._plan(user_id, balance, amount, f"ref:{invitee_id}:{side}", "referral", now)
                if new:
                    credits.append(entry)
        for entry in credits:
            self._settlement(entry)  # raises now, before anything changed, rather than between the two
        for entry in credits:
            self._apply(entry)
        record.update(rewarded_at=rewarded_at, inviter_bonus=bonuses[0], invitee_bonus=bonuses[1])
        return inviter_id, True

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
