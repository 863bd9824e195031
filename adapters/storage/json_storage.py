"""Storage in one JSON file (``<data_dir>/state.json``), for a single bot process.

The state lives in memory (json_state.State) and every operation runs under one asyncio.Lock, so a
balance check and the write that follows never interleave with another operation. A mutating operation
returns only once the new document is durable: it is written to a temp file in the same directory,
fsynced, renamed over state.json and the directory fsynced, all in a worker thread. When the write
fails, memory is rolled back to the last durable document and StorageUnavailableError is raised, so
memory always equals disk. A flock on ``<data_dir>/state.lock`` keeps a second process (or a second
JsonStorage) from opening the same directory and overwriting its writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import tempfile
from collections.abc import Callable, Collection
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from adapters.storage.json_state import CorruptStateError, State
from ports.events import UserRef
from ports.storage import Draft, Job, JobState, LedgerEntry, StorageError, StorageUnavailableError, User

STATE_FILE = "state.json"
LOCK_FILE = "state.lock"

T = TypeVar("T")

# Raised by State while validating, before it changes anything: no rollback needed.
_REJECTIONS = (StorageError, ValueError, TypeError)


class JsonStorage:
    """ports.storage.Storage over one JSON file. Create with ``await JsonStorage.open(data_dir)``."""

    def __init__(self, file: _StateFile) -> None:
        self._file = file
        self.users = _Users(file)
        self.ledger = _Ledger(file)
        self.drafts = _Drafts(file)
        self.jobs = _Jobs(file)

    @classmethod
    async def open(cls, data_dir: Path) -> JsonStorage:
        path = Path(data_dir) / STATE_FILE
        lock_fd, state, durable = await asyncio.to_thread(_open_files, path)
        return cls(_StateFile(path, state, durable, lock_fd))

    async def close(self) -> None:
        await self._file.close()


class _StateFile:
    """The in-memory state, its lock, and the durable write behind every change."""

    def __init__(self, path: Path, state: State, durable: bytes, lock_fd: int) -> None:
        self._path = path
        self._state = state
        self._durable = durable  # the bytes state.json holds: what a failed write rolls back to
        self._lock_fd: int | None = lock_fd
        self._lock = asyncio.Lock()

    async def read(self, query: Callable[[State], T]) -> T:
        async with self._lock:
            return query(self._open_state())

    async def change(self, change: Callable[[State], tuple[T, bool]]) -> T:
        """Run ``change``; when it reports a change, persist before returning."""
        async with self._lock:
            state = self._open_state()
            try:
                result, changed = change(state)
            except _REJECTIONS:
                raise
            except BaseException:
                self._rollback()  # a bug midway through a change: memory must not drift from disk
                raise
            if changed:
                await self._persist()
            return result

    async def close(self) -> None:
        async with self._lock:
            if self._lock_fd is not None:
                os.close(self._lock_fd)  # releases the flock
                self._lock_fd = None

    def _open_state(self) -> State:
        if self._lock_fd is None:
            raise StorageUnavailableError(f"{self._path}: the storage is closed")
        return self._state

    async def _persist(self) -> None:
        # The write runs to its end even if our caller is cancelled meanwhile: releasing the lock while a
        # worker thread still writes would let the next write race it to os.replace.
        write = asyncio.ensure_future(asyncio.to_thread(_write_durably, self._path, self._state))
        cancelled = await _wait_through_cancellation(write)
        failure = self._settle(write)
        if cancelled:
            raise asyncio.CancelledError() from failure
        if failure is not None:
            raise failure

    def _settle(self, write: asyncio.Future[tuple[bytes, OSError | None]]) -> BaseException | None:
        """Record the outcome of a finished write; return the error to raise, if any."""
        error = write.exception()
        if error is not None:
            self._rollback()
            if isinstance(error, OSError):
                return _unavailable(f"cannot write {self._path} ({error}); the change was not applied", error)
            return error
        data, sync_error = write.result()
        self._durable = data  # state.json now holds these bytes, synced or not
        if sync_error is not None:
            return _unavailable(
                f"{self._path} was replaced but its directory could not be synced ({sync_error}); "
                "the change is applied but may not survive a power loss",
                sync_error,
            )
        return None

    def _rollback(self) -> None:
        self._state = State.parse(self._durable)


class _Users:
    def __init__(self, file: _StateFile) -> None:
        self._file = file

    async def ensure(self, ref: UserRef, welcome_amount: int, now: datetime) -> tuple[User, bool]:
        return await self._file.change(lambda state: state.ensure_user(ref, welcome_amount, now))

    async def get(self, user_id: int) -> User | None:
        return await self._file.read(lambda state: state.user(user_id))

    async def set_language(self, user_id: int, language: str) -> None:
        await self._file.change(lambda state: state.set_user_field(user_id, "language", language))

    async def set_active_draft(self, user_id: int, draft_id: str | None) -> None:
        await self._file.change(lambda state: state.set_user_field(user_id, "active_draft_id", draft_id))


class _Ledger:
    def __init__(self, file: _StateFile) -> None:
        self._file = file

    async def balance(self, user_id: int) -> int:
        return await self._file.read(lambda state: state.balance(user_id))

    async def credit(self, user_id: int, amount: int, key: str, reason: str, now: datetime) -> LedgerEntry:
        return await self._file.change(lambda state: state.credit(user_id, amount, key, reason, now))

    async def debit(self, user_id: int, amount: int, key: str, reason: str, now: datetime) -> LedgerEntry:
        return await self._file.change(lambda state: state.debit(user_id, amount, key, reason, now))

    async def entries(self, user_id: int, limit: int = 20) -> list[LedgerEntry]:
        return await self._file.read(lambda state: state.entries(user_id, limit))


class _Drafts:
    def __init__(self, file: _StateFile) -> None:
        self._file = file

    async def put(self, draft: Draft) -> None:
        await self._file.change(lambda state: state.put_draft(draft))

    async def get(self, draft_id: str) -> Draft | None:
        return await self._file.read(lambda state: state.draft(draft_id))


class _Jobs:
    def __init__(self, file: _StateFile) -> None:
        self._file = file

    async def launch(self, job: Job) -> tuple[Job, bool]:
        return await self._file.change(lambda state: state.launch(job))

    async def get(self, job_id: str) -> Job | None:
        return await self._file.read(lambda state: state.job(job_id))

    async def find_by_task(self, task_id: str) -> Job | None:
        return await self._file.read(lambda state: state.job_by_task(task_id))

    async def transition(
        self, job_id: str, allowed_from: Collection[JobState], to: JobState, **changes: Any
    ) -> Job | None:
        return await self._file.change(lambda state: state.transition(job_id, allowed_from, to, changes))

    async def refund(self, job_id: str, now: datetime) -> Job | None:
        return await self._file.change(lambda state: state.refund(job_id, now))

    async def in_states(self, states: Collection[JobState], limit: int = 1000) -> list[Job]:
        return await self._file.read(lambda state: state.jobs_in_states(states, limit))

    async def for_user(self, user_id: int, limit: int = 10, offset: int = 0) -> list[Job]:
        return await self._file.read(lambda state: state.jobs_for_user(user_id, limit, offset))


# --- files (run in worker threads) --------------------------------------------------------------


def _open_files(path: Path) -> tuple[int, State, bytes]:
    """Create the directory, lock it, drop crash leftovers, read the state: (lock fd, state, its bytes)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock_fd = _lock_directory(path.parent / LOCK_FILE)
    except OSError as error:
        raise StorageUnavailableError(f"cannot open the storage directory {path.parent} ({error})") from error
    try:
        _remove_leftover_temp_files(path)
        state, durable = _read_state(path)
    except BaseException:
        os.close(lock_fd)
        raise
    return lock_fd, state, durable


def _lock_directory(lock_path: Path) -> int:
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as error:
        os.close(fd)
        raise StorageUnavailableError(
            f"{lock_path.parent} is already open in another process or another JsonStorage"
        ) from error
    except BaseException:
        os.close(fd)
        raise
    return fd


def _remove_leftover_temp_files(path: Path) -> None:
    """Temp files of a write cut short by a crash: never acknowledged, so never needed."""
    try:
        for leftover in path.parent.glob(f"{path.name}.*.tmp"):
            leftover.unlink()
    except OSError as error:
        raise StorageUnavailableError(f"cannot remove leftover temp files next to {path} ({error})") from error


def _read_state(path: Path) -> tuple[State, bytes]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        state = State.empty()
        return state, state.dump()
    except OSError as error:
        raise StorageUnavailableError(f"cannot read {path} ({error})") from error
    try:
        return State.parse(raw), raw
    except CorruptStateError as error:
        raise StorageUnavailableError(
            f"{path} is unreadable: {error}. Refusing to start with an empty state, which would lose "
            "balances: restore the file from a backup, or move it away to start empty on purpose."
        ) from error


def _write_durably(path: Path, state: State) -> tuple[bytes, OSError | None]:
    """Write ``state`` over ``path`` atomically; return the bytes and a directory-sync error, if any.

    An error before the rename propagates (state.json unchanged); an error syncing the directory after it
    is returned, because state.json already holds the new bytes.
    """
    data = state.dump()
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f"{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as temp:
            temp.write(data)
            temp.flush()
            os.fsync(temp.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):  # the next open removes it anyway
            os.unlink(temp_name)
        raise
    try:
        _fsync_directory(path.parent)
    except OSError as error:
        return data, error
    return data, None


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


async def _wait_through_cancellation(future: asyncio.Future[Any]) -> bool:
    """Wait until ``future`` is done, even across cancellations; return True when we were cancelled."""
    cancelled = False
    while not future.done():
        try:
            await asyncio.wait({future})  # unlike shield/wait_for, never cancels ``future``
        except asyncio.CancelledError:
            cancelled = True
    return cancelled


def _unavailable(message: str, cause: BaseException) -> StorageUnavailableError:
    error = StorageUnavailableError(message)
    error.__cause__ = cause
    return error
