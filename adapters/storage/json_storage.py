"""Storage in JSON documents in one directory, for a single bot process.

``state.json`` holds users, ledger, drafts and jobs (json_state.State); ``inbox.json`` holds the Telegram
updates taken in and the ids already processed (json_inbox.InboxDocument); ``admin.json`` the operators'
documents. Each is a json_file.DurableFile: a snapshot plus an append-only journal (``state.journal``, ...)
with group commit and compaction, rollback and StorageUnavailableError when an append fails. Separate
files, so that taking in an update (on the webhook's critical path) never waits on a state compaction;
inbox operations need not be atomic with ledger ones. A flock on ``<data_dir>/state.lock`` keeps a second
process (or a second JsonStorage) from opening the same directory and overwriting its writes. When the
process already holds that flock as its leader lock (file_leader_lock.FileLeaderLock), pass it to open():
the storage then relies on it instead of taking a second flock (which would be refused), and leaves
releasing it to its owner.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Collection, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from adapters.storage.file_leader_lock import LOCK_FILE, FileLeaderLock
from adapters.storage.json_admin_roles import AdminFile, JsonAudit, JsonBroadcasts, JsonRuntime, load_admin_file
from adapters.storage.json_file import DurableFile, lock_directory
from adapters.storage.json_inbox import InboxDocument
from adapters.storage.json_outbox import message_record
from adapters.storage.json_roles import (
    JsonDirectory,
    JsonFreeUsage,
    JsonPayments,
    JsonReferrals,
    JsonStats,
    JsonTopups,
)
from adapters.storage.json_state import State
from adapters.storage.json_uow import JsonUnitOfWork, RowLocks
from ports.outbox import OutboxMessage
from ports.storage import Draft, InboxUpdate, Job, JobState, LedgerEntry, StorageUnavailableError, User

STATE_FILE = "state.json"
INBOX_FILE = "inbox.json"

StateFile = DurableFile[State]
InboxFile = DurableFile[InboxDocument]


class JsonStorage:
    """ports.storage.Storage over JSON files. Create with ``await JsonStorage.open(data_dir)``."""

    def __init__(self, state: StateFile, inbox: InboxFile, lock_fd: int | None, admin: AdminFile) -> None:
        self._files = (state, inbox, admin)  # admin.json: json_admin_roles.py
        self._lock_fd = lock_fd  # None when a FileLeaderLock given to open() guards the directory
        self.users = _Users(state)
        self.ledger = _Ledger(state)
        self.drafts = _Drafts(state)
        self.jobs = _Jobs(state)
        self.inbox = _Inbox(inbox, state)
        self.outbox = _Outbox(state)
        self.payments, self.topups = JsonPayments(state), JsonTopups(state)  # json_roles.py
        self.free_usage, self.referrals = JsonFreeUsage(state), JsonReferrals(state)
        self.stats, self.directory = JsonStats(state), JsonDirectory(state)
        self.audit = JsonAudit(admin, state)
        self.runtime = JsonRuntime(admin)
        self.broadcasts = JsonBroadcasts(admin, state)
        self._state, self._row_locks = state, RowLocks()

    def unit_of_work(self) -> JsonUnitOfWork:
        """ports.uow.UnitOfWork over the state file (json_uow.py): its writes become one journal record."""
        return JsonUnitOfWork(self._state, self._row_locks)

    @classmethod
    async def open(cls, data_dir: Path, *, lock: FileLeaderLock | None = None) -> JsonStorage:
        """Open (creating) the directory. Without ``lock``, take the directory's flock for the storage's
        life. With ``lock``, it must be held and be the flock on this directory's lock file; the storage
        then takes none (close() does not release it: close the storage, then release the lock)."""
        return cls(*await asyncio.to_thread(_open_files, Path(data_dir), lock))

    async def close(self) -> None:
        for file in self._files:
            await file.close()  # waits for a write in flight
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None


class _Users:
    def __init__(self, file: StateFile) -> None:
        self._file = file

    async def get(self, user_id: int) -> User | None:
        return await self._file.read(lambda state: state.user(user_id))

    async def set_language(self, user_id: int, language: str) -> None:
        await self._file.change("set_user_field", user_id, "language", language)

    async def set_active_draft(self, user_id: int, draft_id: str | None) -> None:
        await self._file.change("set_user_field", user_id, "active_draft_id", draft_id)

    async def set_blocked(self, user_id: int, blocked: bool) -> None:
        await self._file.change("set_blocked", user_id, blocked)

    async def set_banned(self, user_id: int, banned: bool) -> bool:
        return await self._file.change("set_banned", user_id, banned)


class _Ledger:
    def __init__(self, file: StateFile) -> None:
        self._file = file

    async def balance(self, user_id: int) -> int:
        return await self._file.read(lambda state: state.balance(user_id))

    async def debt(self, user_id: int) -> int:
        return await self._file.read(lambda state: state.debt(user_id))

    async def entries(self, user_id: int, limit: int = 20) -> list[LedgerEntry]:
        return await self._file.read(lambda state: state.entries(user_id, limit))


class _Drafts:
    def __init__(self, file: StateFile) -> None:
        self._file = file

    async def put(self, draft: Draft) -> None:
        await self._file.change("put_draft", draft)

    async def put_active(self, draft: Draft) -> None:
        await self.put(draft)
        await self._file.change("set_user_field", draft.user_id, "active_draft_id", draft.id)

    async def get(self, draft_id: str) -> Draft | None:
        return await self._file.read(lambda state: state.draft(draft_id))

    async def get_with_job(self, draft_id: str) -> tuple[Draft | None, Job | None]:
        draft = await self.get(draft_id)
        return (None, None) if draft is None else (draft, await self._file.read(lambda state: state.job(draft_id)))


class _Jobs:
    def __init__(self, file: StateFile) -> None:
        self._file = file

    async def get(self, job_id: str) -> Job | None:
        return await self._file.read(lambda state: state.job(job_id))

    async def find_by_task(self, task_id: str) -> Job | None:
        return await self._file.read(lambda state: state.job_by_task(task_id))

    async def transition(
        self, job_id: str, allowed_from: Collection[JobState], to: JobState, **changes: Any
    ) -> Job | None:
        return await self._file.change("transition", job_id, allowed_from, to, changes)

    async def in_states(self, states: Collection[JobState], limit: int = 1000) -> list[Job]:
        return await self._file.read(lambda state: state.jobs_in_states(states, limit))

    async def for_user(self, user_id: int, limit: int = 10, offset: int = 0) -> list[Job]:
        return await self._file.read(lambda state: state.jobs_for_user(user_id, limit, offset))


class _Inbox:
    """The inbox file, and the state file's record of the updates applied (json_outbox.py): an update whose
    state change, messages and done mark were committed together is done, whatever inbox.json says yet."""

    def __init__(self, file: InboxFile, state: StateFile) -> None:
        self._file, self._state = file, state

    async def put(self, update: InboxUpdate) -> bool:
        if update.text is not None:  # the document keeps the text only: journal it without the parsed copy
            update = dataclasses.replace(update, payload={})
        return await self._file.change("put", update)

    async def pending(self, limit: int = 100) -> list[InboxUpdate]:
        while True:
            updates = await self._file.read(lambda inbox: inbox.pending(limit))
            applied = await self._state.read(lambda state: state.applied([u.update_id for u in updates]))
            if not applied:
                return updates
            for update_id in sorted(applied):  # committed before a crash cut the inbox's own mark short
                await self._file.change("done", update_id, self._state_time(updates, update_id))

    async def done(self, update_id: int, now: datetime, messages: Sequence[OutboxMessage] = (),
                   sent: Sequence[str] = ()) -> None:
        if type(update_id) is not int:
            raise TypeError(f"an update id is an int, got {type(update_id).__name__}")
        if messages or sent:
            records = [message_record(message) for message in messages]
            await self._state.change("outbox_add", records, update_id, now, list(sent))  # the commit point
        await self._file.change("done", update_id, now)

    @staticmethod
    def _state_time(updates: list[InboxUpdate], update_id: int) -> datetime:
        return next(update.received_at for update in updates if update.update_id == update_id)

    async def depth(self) -> int:
        return await self._file.read(lambda inbox: inbox.depth())


class _Outbox:
    def __init__(self, file: StateFile) -> None:
        self._file = file

    async def add(self, messages: Sequence[OutboxMessage]) -> None:
        await self._file.change("outbox_add", [message_record(message) for message in messages])

    async def pending(self, limit: int = 100, chat_id: int | None = None) -> list[OutboxMessage]:
        return await self._file.read(lambda state: state.outbox_pending(limit, chat_id))

    async def sent(self, keys: Sequence[str], now: datetime) -> None:
        await self._file.change("outbox_sent", list(keys), now)

    async def retry_later(self, key: str, attempts: int, next_attempt_at: datetime) -> None:
        await self._file.change("outbox_retry", key, attempts, next_attempt_at)

    async def drop_chat(self, chat_id: int, now: datetime) -> int:
        return await self._file.change("outbox_drop_chat", chat_id, now)

    async def depth(self) -> int:
        return await self._file.read(lambda state: state.outbox_depth())


# --- opening (runs in a worker thread) ----------------------------------------------------------


def _open_files(
    data_dir: Path, lock: FileLeaderLock | None
) -> tuple[StateFile, InboxFile, int | None, AdminFile]:
    """Lock the directory (creating it), unless ``lock`` already guards it; then load both files,
    dropping crash leftovers."""
    if lock is not None:
        if not lock.guards(data_dir):
            raise StorageUnavailableError(
                f"the leader lock given for {data_dir} is not held, or is not the lock of that directory"
            )
        lock_fd = None
    else:
        lock_fd = lock_directory(data_dir / LOCK_FILE)
    try:
        state = DurableFile.load(data_dir / STATE_FILE, State.parse, State.empty, "balances")
        inbox = DurableFile.load(
            data_dir / INBOX_FILE, InboxDocument.parse, InboxDocument.empty, "updates acknowledged to Telegram"
        )
        admin = load_admin_file(data_dir)
    except BaseException:
        if lock_fd is not None:
            os.close(lock_fd)
        raise
    return state, inbox, lock_fd, admin
