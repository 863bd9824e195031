"""The whole bot state as one JSON document held in memory: rows, no rules (the core decides).

Pure and synchronous: no files, no locks (json_storage.py adds both). Changes are ``apply`` (json_rows.py:
a unit of work's rows, checked against the backstop constraints, all or nothing), the job compare-and-set
and a few single-field updates (the operations of the release before the unit of work, ``credit``, ``launch``,
..., remain only to replay a journal it wrote: json_legacy_ops.py). Each validates first and mutates only
once nothing can fail any more, so a rejected call leaves the document untouched. Mutating operations
return ``(result, changed)``; ``changed`` is False for a no-op, which then costs no write.

Document layout (format version 1)::

    {"format": "trt-bot-state", "version": 1,
     "users":    {"<user id>": User},
     "accounts": {"<user id>": {"balance": int, "entries": [LedgerEntry, ... oldest first]}},
     "drafts":   {"<draft id>": Draft},
     "jobs":     {"<job id>": Job},
     "audit":    [AuditEntry, ... oldest first]}  (json_rows.py; absent in older documents)

plus the sections of ports.billing (json_billing.py, which also keeps each user's debt) and of the outbox
(json_outbox.py: messages to send, updates applied); json_reports.py
answers ports.admin's Stats and UserDirectory from the same document.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from adapters.storage.json_billing import BillingRows
from adapters.storage.json_legacy_ops import LegacyOps
from adapters.storage.entity_codec import decode, encode, encode_field
from adapters.storage.json_outbox import OutboxRules
from adapters.storage.json_reports import ReportQueries
from adapters.storage.json_rows import RowTables
from ports.storage import (
    JOB_MUTABLE_FIELDS,
    Draft,
    Job,
    JobState,
    LedgerEntry,
    UnknownUserError,
    User,
)

FORMAT = "trt-bot-state"
VERSION = 1

Record = dict[str, Any]


class CorruptStateError(ValueError):
    """The bytes are not a state document this code can read."""


class State(BillingRows, ReportQueries, RowTables, OutboxRules, LegacyOps):
    def __init__(self, doc: Record) -> None:
        self._doc = doc
        self._users: dict[str, Record] = doc["users"]
        self._accounts: dict[str, Record] = doc["accounts"]
        self._drafts: dict[str, Record] = doc["drafts"]
        self._jobs: dict[str, Record] = doc["jobs"]
        self._entry_by_key: dict[str, Record] = {}
        self._job_id_by_task: dict[str, str] = {}
        for account in self._accounts.values():
            for entry in account["entries"]:
                self._entry_by_key[entry["key"]] = entry
        for job_id, job in self._jobs.items():
            if job["task_id"] is not None:
                self._job_id_by_task[job["task_id"]] = job_id
        self._init_billing()
        self._init_rows()
        self._init_outbox()

    # --- document ---------------------------------------------------------------------------

    @classmethod
    def empty(cls) -> State:
        return cls({"format": FORMAT, "version": VERSION, "users": {}, "accounts": {}, "drafts": {}, "jobs": {}})

    @classmethod
    def parse(cls, raw: bytes) -> State:
        try:
            doc = json.loads(raw)
        except ValueError as error:
            raise CorruptStateError(f"not valid JSON ({error})") from error
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise CorruptStateError(f"not a {FORMAT} document")
        if doc.get("version") != VERSION:
            raise CorruptStateError(f"unknown format version {doc.get('version')!r} (this code reads {VERSION})")
        try:
            state = cls(doc)
            state._check()
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise CorruptStateError(f"invalid content: {error!r}") from error
        return state

    def dump(self) -> bytes:
        return json.dumps(self._doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")

    def _check(self) -> None:
        """Every record decodes, ids match their keys, every balance equals the sum of its entries."""
        if self._users.keys() != self._accounts.keys():
            raise ValueError("users and accounts do not match")
        for key, record in self._users.items():
            _same(key, str(decode(User, record).id))
        for key, account in self._accounts.items():
            entries = [decode(LedgerEntry, entry) for entry in account["entries"]]
            if any(str(entry.user_id) != key for entry in entries):
                raise ValueError(f"account {key} holds another user's entry")
            total = sum(entry.amount for entry in entries)
            if type(account["balance"]) is not int or account["balance"] != total or total < 0:
                raise ValueError(f"account {key}: balance {account['balance']!r}, entries sum to {total}")
        if len(self._entry_by_key) != sum(len(account["entries"]) for account in self._accounts.values()):
            raise ValueError("duplicate ledger keys")
        for key, record in self._drafts.items():
            _same(key, decode(Draft, record).id)
        for key, record in self._jobs.items():
            _same(key, decode(Job, record).id)
        self._check_billing()
        self._check_rows()
        self._check_outbox()

    # --- users ------------------------------------------------------------------------------

    def user(self, user_id: int) -> User | None:
        record = self._users.get(str(user_id))
        return None if record is None else decode(User, record)

    def set_user_field(self, user_id: int, name: str, value: Any) -> tuple[None, bool]:
        record = self._user_record(user_id)
        encoded = encode_field(User, name, value)
        if record[name] == encoded:
            return None, False
        record[name] = encoded
        return None, True

    def set_blocked(self, user_id: int, blocked: bool) -> tuple[None, bool]:
        """Unknown users are a no-op (a block can be reported for someone who never talked to us)."""
        return None, self._set_flag(user_id, "blocked", blocked) is True

    def set_banned(self, user_id: int, banned: bool) -> tuple[bool, bool]:
        """(known user, changed)."""
        changed = self._set_flag(user_id, "banned", banned)
        return changed is not None, changed is True

    def _set_flag(self, user_id: int, name: str, value: bool) -> bool | None:
        """None for an unknown user, else whether the flag changed (documents older than it lack it)."""
        encoded = encode_field(User, name, value)
        record = self._users.get(str(user_id))
        if record is None:
            return None
        if record.get(name, False) == encoded:
            return False
        record[name] = encoded
        return True

    def _user_record(self, user_id: int) -> Record:
        record = self._users.get(str(user_id))
        if record is None:
            raise UnknownUserError(f"unknown user {user_id}")
        return record

    # --- ledger -----------------------------------------------------------------------------

    def balance(self, user_id: int) -> int:
        return self._account(user_id)["balance"]

    def entries(self, user_id: int, limit: int) -> list[LedgerEntry]:
        records = self._account(user_id)["entries"]
        if limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        newest = records[max(len(records) - limit, 0) :] if limit else []
        return [decode(LedgerEntry, record) for record in reversed(newest)]

    def _account(self, user_id: int) -> Record:
        account = self._accounts.get(str(user_id))
        if account is None:
            raise UnknownUserError(f"unknown user {user_id}")
        return account

    # --- drafts -----------------------------------------------------------------------------

    def draft(self, draft_id: str) -> Draft | None:
        record = self._drafts.get(draft_id)
        return None if record is None else decode(Draft, record)

    def put_draft(self, draft: Draft) -> tuple[None, bool]:
        record = encode(draft)
        if self._drafts.get(draft.id) == record:
            return None, False
        self._drafts[draft.id] = record
        return None, True

    # --- jobs -------------------------------------------------------------------------------

    def job(self, job_id: str) -> Job | None:
        record = self._jobs.get(job_id)
        return None if record is None else decode(Job, record)

    def job_by_task(self, task_id: str) -> Job | None:
        job_id = self._job_id_by_task.get(task_id)
        return None if job_id is None else self.job(job_id)

    def transition(
        self, job_id: str, allowed_from: Collection[JobState], to: JobState, changes: dict[str, Any]
    ) -> tuple[Job | None, bool]:
        unknown = set(changes) - JOB_MUTABLE_FIELDS
        if unknown:
            raise ValueError(
                f"a transition cannot change {sorted(unknown)}; it may change {sorted(JOB_MUTABLE_FIELDS)}"
            )
        allowed = {JobState(state).value for state in allowed_from}
        updates = {name: encode_field(Job, name, value) for name, value in changes.items()}
        updates["state"] = JobState(to).value
        record = self._jobs.get(job_id)
        if record is None or record["state"] not in allowed:
            return None, False
        updated = {**record, **updates}
        if updated == record:
            return decode(Job, record), False
        self._store_job(record, updated)
        return decode(Job, updated), True

    def jobs_in_states(self, states: Collection[JobState], limit: int) -> list[Job]:
        wanted = {JobState(state).value for state in states}
        matches = [record for record in self._jobs.values() if record["state"] in wanted]
        matches.sort(key=_created_at)  # fixed-width UTC ISO text sorts chronologically; stable on ties
        return [decode(Job, record) for record in matches[: _count(limit)]]

    def jobs_for_user(self, user_id: int, limit: int, offset: int) -> list[Job]:
        matches = [record for record in reversed(self._jobs.values()) if record["user_id"] == user_id]
        matches.sort(key=_created_at, reverse=True)  # ties: the later launch first
        start = _count(offset)
        return [decode(Job, record) for record in matches[start : start + _count(limit)]]

    def _store_job(self, old: Record | None, new: Record) -> None:
        if old is not None and old["task_id"] is not None and old["task_id"] != new["task_id"]:
            self._job_id_by_task.pop(old["task_id"], None)
        if new["task_id"] is not None:
            self._job_id_by_task[new["task_id"]] = new["id"]
        self._jobs[new["id"]] = new


def _count(value: int) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(f"expected an int >= 0, got {value!r}")
    return value


def _created_at(record: Record) -> str:
    return record["created_at"]


def _same(key: str, record_id: str) -> None:
    if key != record_id:
        raise ValueError(f"record {record_id!r} is stored under {key!r}")
