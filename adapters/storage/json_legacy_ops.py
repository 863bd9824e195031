"""The state operations of the release before the unit of work (c93a1ad), kept so that a ``state.journal`` it
wrote is replayed at start instead of refused. json_state.State mixes them in.

That release journaled each rule by name (``credit``, ``launch``, ``refund_stars``, ...: json_file.py replays
a line by calling the document's method of that name). This release writes only ``apply`` (json_rows.py),
whose rows the core computes; the operations below exist for replay alone: nothing in this release calls
them live. Each changes the document exactly as that release's method did, byte for byte (the document
format is the same), including what it computed on the way: the ledger entry's ``balance_after``, a repeated
key being a no-op, the ``settle:<key>`` entry by which a credit pays off debt, the debt a Stars refund leaves,
a free try refused when the day's limit is used. A line that release would have refused (an overdraft, a key
reused with another amount) raises here too, so recovery refuses it with the line named, as it did.

The rules are restated here, not imported: adapters do not import core/ (the core's cashier is where they
live now). Each method returns ``(None, changed)``: a replay uses only ``changed``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import ports.events  # noqa: F401 - that release's lines name ports.events:UserRef (a record never imports code)
from adapters.storage import checks
from adapters.storage.entity_codec import encode, encode_field, utc_text
from ports.billing import ManualTopup, StarsPayment, TopupState
from ports.events import UserRef
from ports.storage import (
    MAX_BALANCE,
    BalanceLimitError,
    IdempotencyConflictError,
    InsufficientBalanceError,
    Job,
    JobState,
    LedgerEntry,
    UnknownUserError,
    User,
)

Record = dict[str, Any]
Result = tuple[None, bool]

_REFUNDABLE = frozenset({JobState.FAILED.value, JobState.TIMED_OUT.value})
_REFRESHED_USER_FIELDS = ("username", "first_name", "language_code")


class LegacyOps:
    """Mixed into json_state.State; relies on its sections and indexes."""

    if TYPE_CHECKING:
        _users: dict[str, Record]
        _accounts: dict[str, Record]
        _jobs: dict[str, Record]
        _payments: dict[str, Record]
        _topups: dict[str, Record]
        _free_tries: dict[str, Record]
        _referrals: dict[str, Record]
        _entry_by_key: dict[str, Record]
        _free_used: dict[tuple[int, str], int]

        def _account(self, user_id: int) -> Record: ...

        def _store_job(self, old: Record | None, new: Record) -> None: ...

    # --- users and ledger -------------------------------------------------------------------------

    def ensure_user(self, ref: UserRef, welcome_amount: int, now: datetime) -> Result:
        if type(welcome_amount) is not int or welcome_amount < 0:
            raise ValueError(f"welcome_amount must be an int >= 0, got {welcome_amount!r}")
        record = self._users.get(str(ref.id))
        if record is not None:
            fresh = {name: encode_field(User, name, getattr(ref, name)) for name in _REFRESHED_USER_FIELDS}
            changes = {name: value for name, value in fresh.items() if record[name] != value}
            record.update(changes)
            return None, bool(changes)
        record = encode(User(id=ref.id, created_at=now, language_code=ref.language_code, username=ref.username,
                             first_name=ref.first_name))
        welcome = None
        if welcome_amount > 0:
            welcome, _ = self._legacy_plan(ref.id, 0, welcome_amount, f"welcome:{ref.id}", "welcome", now)
        self._users[str(ref.id)] = record
        self._accounts[str(ref.id)] = {"balance": 0, "entries": []}
        if welcome is not None:
            self._legacy_apply(welcome)
        return None, True

    def credit(self, user_id: int, amount: int, key: str, reason: str, now: datetime) -> Result:
        return self._legacy_move(user_id, _positive(amount), key, reason, now)

    def debit(self, user_id: int, amount: int, key: str, reason: str, now: datetime) -> Result:
        return self._legacy_move(user_id, -_positive(amount), key, reason, now)

    # --- jobs -------------------------------------------------------------------------------------

    def launch(self, job: Job) -> Result:
        record = encode(job)
        if job.id in self._jobs:
            return None, False
        if job.price < 0:
            raise ValueError(f"job {job.id}: negative price {job.price}")
        charge = None
        if job.price > 0:
            balance = self._account(job.user_id)["balance"]
            charge, new = self._legacy_plan(job.user_id, balance, -job.price, f"launch:{job.id}", "launch",
                                            job.created_at)
            charge = charge if new else None
        elif str(job.user_id) not in self._users:
            raise UnknownUserError(f"unknown user {job.user_id}")
        if charge is not None:
            self._legacy_apply(charge)
        self._store_job(None, record)
        return None, True

    def refund(self, job_id: str, now: datetime) -> Result:
        updated_at = encode_field(Job, "updated_at", now)
        record = self._jobs.get(job_id)
        if record is None or record["state"] not in _REFUNDABLE:
            return None, False
        credit = None
        if record["price"] > 0:
            user_id = record["user_id"]
            balance = self._account(user_id)["balance"]
            credit, new = self._legacy_plan(user_id, balance, record["price"], f"refund:{job_id}", "refund", now)
            credit = credit if new else None
        updated = {**record, "state": JobState.REFUNDED.value, "updated_at": updated_at}
        if credit is not None:
            self._legacy_apply(credit)
        self._store_job(record, updated)
        return None, True

    # --- Stars payments and manual top-ups --------------------------------------------------------

    def record_stars(self, payment: StarsPayment) -> Result:
        record = encode(payment)
        checks.text_id(payment.charge_id, "a charge id")
        for value, what in ((payment.stars, "stars"), (payment.amount, "a payment amount")):
            _positive(value, what)
        if payment.refunded_at is not None:
            raise ValueError(f"payment {payment.charge_id}: a payment is recorded before any refund")
        if payment.charge_id in self._payments:
            return None, False
        balance = self._account(payment.user_id)["balance"]
        key = f"stars:{payment.charge_id}"
        entry, new = self._legacy_plan(payment.user_id, balance, payment.amount, key, "topup", payment.created_at)
        if new:
            self._legacy_apply(entry)
        self._payments[payment.charge_id] = record
        return None, True

    def refund_stars(self, charge_id: str, now: datetime) -> Result:
        refunded_at = encode_field(StarsPayment, "refunded_at", now)
        record = self._payments.get(checks.text_id(charge_id, "a charge id"))
        if record is None or record["refunded_at"] is not None:
            return None, False
        user_id, amount = record["user_id"], record["amount"]
        account = self._account(user_id)
        taken = min(amount, account["balance"])
        entry, key = None, f"stars_refund:{charge_id}"
        if taken > 0:
            entry, new = self._legacy_plan(user_id, account["balance"], -taken, key, "refund_stars", now)
            if not new:
                raise IdempotencyConflictError(f"key {key!r} is taken, yet payment {charge_id} is not refunded")
        if entry is not None:
            self._legacy_apply(entry)
        if amount > taken:
            account["debt"] = account.get("debt", 0) + amount - taken
        record["refunded_at"] = refunded_at
        return None, True

    def create_topup(self, topup: ManualTopup) -> Result:
        record = encode(topup)
        checks.text_id(topup.id, "a top-up id")
        _positive(topup.amount, "a top-up amount")
        if topup.state is not TopupState.PENDING or topup.decided_by is not None or topup.decided_at is not None:
            raise ValueError(f"top-up {topup.id}: a new top-up is PENDING and undecided, got {topup.state.value}")
        if topup.id in self._topups:
            return None, False
        self._account(topup.user_id)
        self._topups[topup.id] = record
        return None, True

    def decide_topup(self, topup_id: str, admin_id: int, now: datetime, approve: bool) -> Result:
        decided = {
            "state": (TopupState.APPROVED if approve else TopupState.REJECTED).value,
            "decided_by": encode_field(ManualTopup, "decided_by", admin_id),
            "decided_at": encode_field(ManualTopup, "decided_at", now),
        }
        record = self._topups.get(topup_id)
        if record is None or record["state"] != TopupState.PENDING.value:
            return None, False
        if approve:
            user_id = record["user_id"]
            balance = self._account(user_id)["balance"]
            entry, new = self._legacy_plan(user_id, balance, record["amount"], f"manual:{topup_id}", "topup", now)
            if new:
                self._legacy_apply(entry)
        record.update(decided)
        return None, True

    # --- free tier and referrals ------------------------------------------------------------------

    def consume_free(self, user_id: int, day: str, limit: int, job_id: str) -> Result:
        user_id = encode_field(User, "id", user_id)
        day, limit = checks.day(day), checks.count(limit, "limit")
        if checks.text_id(job_id, "a job id") in self._free_tries:
            return None, False
        taken = self._free_used.get((user_id, day), 0) < limit
        self._free_tries[job_id] = {"user_id": user_id, "day": day, "taken": taken, "released": False}
        if taken:
            self._free_used[(user_id, day)] = self._free_used.get((user_id, day), 0) + 1
        return None, True

    def release_free(self, job_id: str) -> Result:
        record = self._free_tries.get(job_id)
        if record is None or not record["taken"] or record["released"]:
            return None, False
        record["released"] = True
        self._free_used[(record["user_id"], record["day"])] -= 1
        return None, True

    def link_referral(self, invitee_id: int, inviter_id: int, now: datetime) -> Result:
        invitee_id, inviter_id = encode_field(User, "id", invitee_id), encode_field(User, "id", inviter_id)
        created_at = utc_text(now)
        if (invitee_id == inviter_id or str(invitee_id) not in self._users or str(inviter_id) not in self._users
                or str(invitee_id) in self._referrals):
            return None, False
        self._referrals[str(invitee_id)] = {"inviter_id": inviter_id, "created_at": created_at, "rewarded_at": None,
                                            "inviter_bonus": 0, "invitee_bonus": 0}
        return None, True

    def reward_referral(self, invitee_id: int, inviter_bonus: int, invitee_bonus: int, now: datetime) -> Result:
        invitee_id = encode_field(User, "id", invitee_id)
        bonuses = checks.bonus(inviter_bonus, "inviter_bonus"), checks.bonus(invitee_bonus, "invitee_bonus")
        rewarded_at = utc_text(now)
        record = self._referrals.get(str(invitee_id))
        if record is None or record["rewarded_at"] is not None:
            return None, False
        credits = []
        for user_id, amount, side in ((record["inviter_id"], bonuses[0], "inviter"),
                                      (invitee_id, bonuses[1], "invitee")):
            if amount > 0:
                balance = self._account(user_id)["balance"]
                entry, new = self._legacy_plan(user_id, balance, amount, f"ref:{invitee_id}:{side}", "referral", now)
                if new:
                    credits.append(entry)
        for entry in credits:
            self._legacy_settlement(entry)  # raises now, before anything changed, rather than between the two
        for entry in credits:
            self._legacy_apply(entry)
        record.update(rewarded_at=rewarded_at, inviter_bonus=bonuses[0], invitee_bonus=bonuses[1])
        return None, True

    # --- that release's ledger: plan an entry, apply it, settle debt out of a credit ---------------

    def _legacy_move(self, user_id: int, amount: int, key: str, reason: str, now: datetime) -> Result:
        account = self._account(user_id)
        record, new = self._legacy_plan(user_id, account["balance"], amount, key, reason, now)
        if new:
            self._legacy_apply(record)
        return None, new

    def _legacy_plan(self, user_id: int, balance: int, amount: int, key: str, reason: str,
                     now: datetime) -> tuple[Record, bool]:
        """The entry moving ``amount`` (signed) and whether it is new (False: the key moved it before)."""
        if not isinstance(key, str) or not key:
            raise ValueError(f"an idempotency key must be a non-empty string, got {key!r}")
        existing = self._entry_by_key.get(key)
        if existing is not None:
            if existing["user_id"] != user_id or existing["amount"] != amount:
                raise IdempotencyConflictError(f"key {key!r} already moved {existing['amount']} for user "
                                               f"{existing['user_id']}, not {amount} for user {user_id}")
            return existing, False
        if balance + amount < 0:
            raise InsufficientBalanceError(balance, -amount)
        if balance + amount > MAX_BALANCE:
            raise BalanceLimitError(balance, amount)
        return encode(LedgerEntry(key=key, user_id=user_id, amount=amount, balance_after=balance + amount,
                                  reason=reason, created_at=now)), True

    def _legacy_apply(self, entry: Record) -> None:
        settlement = self._legacy_settlement(entry)
        account = self._accounts[str(entry["user_id"])]
        for each in (entry, settlement):
            if each is not None:
                account["entries"].append(each)
                account["balance"] = each["balance_after"]
                self._entry_by_key[each["key"]] = each
        if settlement is not None:
            account["debt"] = account.get("debt", 0) + settlement["amount"]

    def _legacy_settlement(self, entry: Record) -> Record | None:
        """The entry by which the credit ``entry`` pays off the user's debt (applied right after it), or None."""
        if entry["amount"] <= 0:
            return None
        settled = min(self._accounts[str(entry["user_id"])].get("debt", 0), entry["amount"])
        if settled == 0:
            return None
        key = f"settle:{entry['key']}"
        if key in self._entry_by_key:
            raise IdempotencyConflictError(f"key {key!r} is taken: cannot settle the debt out of {entry['key']!r}")
        return {"key": key, "user_id": entry["user_id"], "amount": -settled,
                "balance_after": entry["balance_after"] - settled, "reason": "debt", "created_at": entry["created_at"]}


def _positive(value: Any, what: str = "amount") -> int:
    if type(value) is not int or value <= 0:
        raise ValueError(f"{what} must be an int > 0, got {value!r}")
    return value
