"""One JSON document held in memory and mirrored durably to one file: the write path every JSON file
of the storage shares (state.json, inbox.json).

A ``DurableFile`` owns a document (anything with ``dump() -> bytes``, rebuilt from bytes by ``parse``) and
an asyncio.Lock. Every operation runs under the lock, so a check and the write that follows never
interleave with another operation on the same file. A mutating operation returns only once the new
document is durable: it is written to a temp file in the same directory, fsynced, renamed over the file
and the directory fsynced, all in a worker thread. When the write fails, memory is rolled back to the last
durable bytes and StorageUnavailableError is raised, so memory always equals disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from ports.storage import StorageError, StorageUnavailableError

T = TypeVar("T")

# Raised by a document while validating, before it changes anything: no rollback needed.
_REJECTIONS = (StorageError, ValueError, TypeError)


class Document(Protocol):
    def dump(self) -> bytes: ...


D = TypeVar("D", bound=Document)


class DurableFile(Generic[D]):
    """A document, its lock, and the durable write behind every change. Open with ``load``."""

    def __init__(self, path: Path, document: D, durable: bytes, parse: Callable[[bytes], D]) -> None:
        self._path = path
        self._document = document
        self._durable = durable  # the bytes the file holds: what a failed write rolls back to
        self._parse = parse
        self._closed = False
        self._lock = asyncio.Lock()

    @classmethod
    def load(cls, path: Path, parse: Callable[[bytes], D], empty: Callable[[], D], at_stake: str) -> DurableFile[D]:
        """Read ``path`` (blocking: call from a worker thread). A missing file is an empty document; an
        unreadable one raises StorageUnavailableError, naming the file and what starting empty would lose."""
        _remove_leftover_temp_files(path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            document = empty()
            return cls(path, document, document.dump(), parse)
        except OSError as error:
            raise StorageUnavailableError(f"cannot read {path} ({error})") from error
        try:
            return cls(path, parse(raw), raw, parse)
        except ValueError as error:
            raise StorageUnavailableError(
                f"{path} is unreadable: {error}. Refusing to start empty, which would lose {at_stake}: "
                "restore the file from a backup, or move it away to start empty on purpose."
            ) from error

    async def read(self, query: Callable[[D], T]) -> T:
        async with self._lock:
            return query(self._open_document())

    async def change(self, change: Callable[[D], tuple[T, bool]]) -> T:
        """Run ``change``; when it reports a change, persist before returning."""
        async with self._lock:
            document = self._open_document()
            try:
                result, changed = change(document)
            except _REJECTIONS:
                raise
            except BaseException:
                self._rollback()  # a bug midway through a change: memory must not drift from disk
                raise
            if changed:
                await self._persist()
            return result

    async def close(self) -> None:
        """Wait for the operation in flight, then refuse any further one."""
        async with self._lock:
            self._closed = True

    def _open_document(self) -> D:
        if self._closed:
            raise StorageUnavailableError(f"{self._path}: the storage is closed")
        return self._document

    async def _persist(self) -> None:
        # The write runs to its end even if our caller is cancelled meanwhile: releasing the lock while a
        # worker thread still writes would let the next write race it to os.replace.
        write = asyncio.ensure_future(asyncio.to_thread(write_durably, self._path, self._document.dump))
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
        self._durable = data  # the file now holds these bytes, synced or not
        if sync_error is not None:
            return _unavailable(
                f"{self._path} was replaced but its directory could not be synced ({sync_error}); "
                "the change is applied but may not survive a power loss",
                sync_error,
            )
        return None

    def _rollback(self) -> None:
        self._document = self._parse(self._durable)


# --- files (blocking: run in worker threads) ----------------------------------------------------


def lock_directory(lock_path: Path) -> int:
    """Create the directory and take an exclusive flock on ``lock_path``; return its fd (closing it unlocks).
    A second process (or a second storage in this one) is refused instead of overwriting our writes."""
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        raise StorageUnavailableError(f"cannot open the storage directory {lock_path.parent} ({error})") from error
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


def write_durably(path: Path, dump: Callable[[], bytes]) -> tuple[bytes, OSError | None]:
    """Write ``dump()`` over ``path`` atomically; return the bytes and a directory-sync error, if any.

    An error before the rename propagates (the file unchanged); an error syncing the directory after it
    is returned, because the file already holds the new bytes.
    """
    data = dump()
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


def _remove_leftover_temp_files(path: Path) -> None:
    """Temp files of a write cut short by a crash: never acknowledged, so never needed."""
    try:
        for leftover in path.parent.glob(f"{path.name}.*.tmp"):
            leftover.unlink()
    except OSError as error:
        raise StorageUnavailableError(f"cannot remove leftover temp files next to {path} ({error})") from error


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
