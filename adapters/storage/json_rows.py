"""The state document as tables of rows: what a unit of work (json_uow.py) reads, and ``apply``, the one
operation that writes a committed unit's rows. json_state.State mixes it in.

``apply(rows)`` is a journal operation like any other (json_file.py): deterministic given its rows, so a
replay writes the same. It checks every row first (the storage's backstop, as PostgreSQL's UNIQUE and
CHECK constraints are) and changes the document only when all pass; a failure raises
ConstraintViolationError and leaves the document untouched. Checked: a keyed row is added once; a row
put exists; a ledger entry names a known user and keeps the balance it states >= 0; an account put ends
with a balance >= 0 and <= MAX_BALANCE, a debt >= 0, and equal to its ledger (its balance before plus
the unit's entries for it). Decisions (what to credit, which transition) are the core's.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from adapters.storage.entity_codec import decode, encode
from adapters.storage.json_ops import JsonData
from ports.model import (
    Account,
    AuditEntry,
    Draft,
    FreeTry,
    Job,
    LedgerEntry,
    ManualTopup,
    Referral,
    StarsPayment,
    User,
)
from ports.storage import MAX_BALANCE, ConstraintViolationError

Record = dict[str, Any]
AUDIT_CAP = 10_000  # the newest audit entries kept in the state document

_TABLES: dict[str, type] = {
    "users": User, "accounts": Account, "ledger": LedgerEntry, "drafts": Draft, "jobs": Job,
    "payments": StarsPayment, "topups": ManualTopup, "free_tries": FreeTry, "referrals": Referral,
    "audit": AuditEntry,
}


class RowTables:
    """Mixed into json_state.State; relies on its sections and indexes."""

    if TYPE_CHECKING:
        _doc: Record
        _users: dict[str, Record]
        _accounts: dict[str, Record]
        _drafts: dict[str, Record]
        _jobs: dict[str, Record]
        _payments: dict[str, Record]
        _topups: dict[str, Record]
        _free_tries: dict[str, Record]
        _referrals: dict[str, Record]
        _entry_by_key: dict[str, Record]
        _free_used: dict[tuple[int, str], int]

        def _store_job(self, old: Record | None, new: Record) -> None: ...

    def _init_rows(self) -> None:
        self._audit: list[Record] = self._doc.setdefault("audit", [])

    def _check_rows(self) -> None:
        """Called by State._check: the audit section holds audit entries, oldest first."""
        ats = [decode(AuditEntry, record).at for record in self._audit]
        if ats != sorted(ats):
            raise ValueError("the audit entries are not in time order")

    # --- reads (entities are fresh copies) -------------------------------------------------------

    def account(self, user_id: int) -> Account | None:
        record = self._accounts.get(str(user_id))
        return None if record is None else Account(user_id, record["balance"], record.get("debt", 0))

    def entry(self, key: str) -> LedgerEntry | None:
        record = self._entry_by_key.get(key)
        return None if record is None else decode(LedgerEntry, record)

    def free_try(self, job_id: str) -> FreeTry | None:
        record = self._free_tries.get(job_id)
        return None if record is None else FreeTry(job_id, record["user_id"], record["day"], record["taken"],
                                                   record["released"])

    def referral(self, invitee_id: int) -> Referral | None:
        record = self._referrals.get(str(invitee_id))
        return None if record is None else decode(Referral, {"invitee_id": invitee_id, **record})

    def audit_recent(self, limit: int) -> list[AuditEntry]:
        return [decode(AuditEntry, record) for record in reversed(self._audit[max(len(self._audit) - limit, 0):])]

    # --- the one write ----------------------------------------------------------------------------

    def apply(self, rows: list[list[Any]]) -> tuple[None, bool]:
        """Write ``rows``, each ``[table, "add" | "put", values]``: the entity's JSON form (entity_codec) without
        its field names, in field order (a journal line stays short; fields added later, at the end with a
        default, read back from older lines)."""
        planned = [self._planned(*row) for row in rows]
        self._check_planned(planned)
        for table, kind, value, record in planned:
            self._write(table, kind, value, record)
        return None, bool(planned)

    def _planned(self, table: str, kind: str, values: list[Any] | JsonData) -> tuple[str, str, Any, Record]:
        if isinstance(values, JsonData):  # as called live; a replay reads the plain list back
            values = values.value
        cls = _TABLES.get(table)
        if cls is None or kind not in ("add", "put") or not isinstance(values, list):
            raise ConstraintViolationError(f"not a row: {table} {kind}")
        names = [field.name for field in fields(cls)]
        if len(values) > len(names):
            raise ValueError(f"{table}: {len(values)} values for {len(names)} fields")
        value = decode(cls, dict(zip(names, values)))  # TypeError/ValueError for values that do not fit
        return table, kind, value, encode(value)

    def _check_planned(self, planned: list[tuple[str, str, Any, Record]]) -> None:
        added: set[tuple[str, str]] = set()
        users = set(self._users)
        moved: dict[int, int] = {}  # user id -> the unit's ledger total
        for table, kind, value, _ in planned:
            key = _key(table, value)
            if kind == "add" and table != "audit":
                if (table, key) in added or self._exists(table, key):
                    raise ConstraintViolationError(f"{table} {key!r} exists: it is added once")
                added.add((table, key))
                if table == "users":
                    users.add(key)
            elif kind == "put" and table not in ("drafts", "audit") and not (
                (table, key) in added or self._exists(table, key) or (table == "accounts" and key in users)
            ):
                raise ConstraintViolationError(f"{table} {key!r} does not exist: it cannot be put")
            if table == "ledger":
                if str(value.user_id) not in users or value.amount == 0 or value.balance_after < 0:
                    raise ConstraintViolationError(f"ledger entry {value.key!r} is not valid")
                moved[value.user_id] = moved.get(value.user_id, 0) + value.amount
        final: dict[int, Account] = {}
        for table, _, value, _ in planned:
            if table == "accounts":
                final[value.user_id] = value
        for user_id, account in final.items():
            before = self.account(user_id)
            start = 0 if before is None else before.balance
            if not (0 <= account.balance <= MAX_BALANCE and account.debt >= 0):
                raise ConstraintViolationError(f"account {user_id}: balance {account.balance}, debt {account.debt}")
            if account.balance != start + moved.pop(user_id, 0):
                raise ConstraintViolationError(f"account {user_id}: the balance does not equal its ledger")
        for user_id, total in moved.items():
            if total:
                raise ConstraintViolationError(f"account {user_id}: ledger entries without the balance they move")

    def _exists(self, table: str, key: Any) -> bool:
        sections = {"users": self._users, "accounts": self._accounts, "drafts": self._drafts, "jobs": self._jobs,
                    "payments": self._payments, "topups": self._topups, "free_tries": self._free_tries,
                    "referrals": self._referrals}
        if table == "ledger":
            return key in self._entry_by_key
        return str(key) in sections[table]

    def _write(self, table: str, kind: str, value: Any, record: Record) -> None:
        if table == "users":
            self._users[str(value.id)] = record
            self._accounts.setdefault(str(value.id), {"balance": 0, "entries": []})
        elif table == "accounts":
            account = self._accounts[str(value.user_id)]
            account["balance"] = value.balance
            account["debt"] = value.debt
        elif table == "ledger":
            self._accounts[str(value.user_id)]["entries"].append(record)
            self._entry_by_key[value.key] = record
        elif table == "drafts":
            self._drafts[value.id] = record
        elif table == "jobs":
            self._store_job(self._jobs.get(value.id), record)
        elif table == "payments":
            self._payments[value.charge_id] = record
        elif table == "topups":
            self._topups[value.id] = record
        elif table == "free_tries":
            self._write_free_try(value, record)
        elif table == "referrals":
            del record["invitee_id"]
            self._referrals[str(value.invitee_id)] = record
        else:
            self._add_audit(record)

    def _write_free_try(self, value: FreeTry, record: Record) -> None:
        old = self._free_tries.get(value.job_id)
        if old is not None and old["taken"] and not old["released"]:
            self._free_used[(old["user_id"], old["day"])] -= 1
        if value.taken and not value.released:
            day = (value.user_id, value.day)
            self._free_used[day] = self._free_used.get(day, 0) + 1
        del record["job_id"]
        self._free_tries[value.job_id] = record

    def _add_audit(self, record: Record) -> None:
        position = bisect_right([entry["at"] for entry in self._audit], record["at"])  # ties keep recording order
        self._audit.insert(position, record)
        del self._audit[: max(len(self._audit) - AUDIT_CAP, 0)]


_KEY_FIELD = {"users": "id", "accounts": "user_id", "ledger": "key", "drafts": "id", "jobs": "id",
              "payments": "charge_id", "topups": "id", "free_tries": "job_id", "referrals": "invitee_id", "audit": "at"}


def _key(table: str, value: Any) -> Any:
    key = getattr(value, _KEY_FIELD[table])
    return str(key) if table in ("users", "accounts") else key
