"""One JSON document held in memory and mirrored durably to disk as a snapshot plus an append-only journal:
the write path every JSON file of the storage shares (state.json, inbox.json, admin.json).

A ``DurableFile`` owns a document (anything with ``dump() -> bytes``, rebuilt from bytes by ``parse``).

Changes are operations, not closures: ``await file.change("credit", user_id, amount, key, reason, now)``
calls ``document.credit(user_id, amount, key, reason, now)``, which returns ``(result, changed)``, exactly
as before. When it changed something, the record ``credit(<args>)`` (json_ops.py: one JSON line) is
appended to the journal, and ``change`` returns ``result`` only once that line is fsynced. On start the
document is the snapshot with the journal replayed by calling the same methods (json_journal.py), so an
operation must be deterministic given its arguments: pass the time in (``now``), never read a clock, a
random source or another document inside it. Arguments can be scalars, lists, tuples, sets, dicts,
datetimes, Decimals, enums and dataclasses (json_ops.py; a class must be importable from the document's
own module, since replay and compaction look it up by name). Converting a call site of the old closure form
``change(lambda doc: doc.op(a, b, flag=c))`` is mechanical: ``change("op", a, b, flag=c)``. Reads stay
closures: ``await file.read(lambda doc: doc.query(...))``.

Group commit: each operation runs on the in-memory document at once (synchronously, so a check and the
change that follows never interleave with another operation), and its record joins the open group. One
flusher task appends a whole group with one write and one fsync in a worker thread; operations arriving
meanwhile form the next group. A read, or an operation that changed nothing, returns once everything it
saw is durable. Memory equals disk: when an append fails, the journal is cut back to its durable length,
memory is rebuilt from disk (dropping the failed group and every change made after it) and each of those
callers gets StorageUnavailableError; if even that fails, the file refuses every further operation.

Compaction: when the journal outgrows ``max(compact_min_bytes, compact_ratio * snapshot size)``, the
flusher rotates it (between two groups) and a child process (json_fold.py) folds it into a new snapshot
from the files alone (load the snapshot, replay, dump), never touching the live document nor holding our
GIL; the parent then swaps the snapshot in atomically (json_journal.py). The journal size that triggers a
compaction grows with the snapshot, so its cost per change stays flat.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from adapters.storage import json_journal
from adapters.storage.json_fold import fold_in_child
from adapters.storage.json_journal import Files
from adapters.storage.json_ops import encode_call
from ports.storage import StorageError, StorageUnavailableError

T = TypeVar("T")
log = logging.getLogger(__name__)

# Raised by a document while validating, before it changes anything: no rollback needed.
_REJECTIONS = (StorageError, ValueError, TypeError)
COMPACT_MIN_BYTES = 4 * 1024 * 1024
COMPACT_RATIO = 1.0


class Document(Protocol):
    def dump(self) -> bytes: ...


D = TypeVar("D", bound=Document)


class _Group:
    """Records flushed together with one fsync, and the future their callers wait on."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.done: asyncio.Future[BaseException | None] | None = None

    def add(self, line: bytes) -> asyncio.Future[BaseException | None]:
        self.lines.append(line)
        return self.waiter()

    def waiter(self) -> asyncio.Future[BaseException | None]:
        if self.done is None:
            self.done = asyncio.get_running_loop().create_future()
        return self.done

    def settle(self, error: BaseException | None) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_result(error)


class DurableFile(Generic[D]):
    """A document, its journal, and the group commit behind every change. Open with ``load``."""

    def __init__(self, files: Files, document: D, parse: Callable[[bytes], D], empty: Callable[[], D], fd: int,
                 snapshot_size: int, *, fsync: Callable[[int], None] = os.fsync,
                 compact_min_bytes: int | None = None, compact_ratio: float | None = None) -> None:
        self._files, self._document, self._parse, self._empty = files, document, parse, empty
        self._fd: int | None = fd
        self._fsync = fsync  # injectable: tests count the journal's fsyncs
        self._journal_size = 0  # durable bytes of the journal
        self._snapshot_size = snapshot_size
        self._compact_min_bytes = COMPACT_MIN_BYTES if compact_min_bytes is None else compact_min_bytes
        self._compact_ratio = COMPACT_RATIO if compact_ratio is None else compact_ratio
        self._open = _Group()  # records applied in memory, waiting for the next flush
        self._flushing: _Group | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._compaction: asyncio.Future[Any] | None = None
        self._fold_pending = False  # a compacting journal waits to be folded (an earlier fold failed)
        self._rebuilt: asyncio.Event | None = None  # set while memory is being rebuilt from disk
        self._broken: str | None = None
        self._closed = False
        self._directory_synced = False

    @classmethod
    def load(cls, path: Path, parse: Callable[[bytes], D], empty: Callable[[], D], at_stake: str,
             **options: Any) -> DurableFile[D]:
        """Recover ``path`` and its journal (blocking: call from a worker thread). Missing files are an empty
        document; unreadable ones raise StorageUnavailableError, naming the file and what starting empty would
        lose. ``options``: fsync, compact_min_bytes, compact_ratio."""
        files = Files(Path(path), at_stake)
        document, snapshot_size = json_journal.recover(files, parse, empty)
        try:
            fd = json_journal.open_journal(files, sync=False)  # the first append syncs the directory
        except OSError as error:
            raise StorageUnavailableError(f"cannot open {files.journal} ({error})") from error
        return cls(files, document, parse, empty, fd, snapshot_size, **options)

    @property
    def path(self) -> Path:
        return self._files.snapshot

    async def read(self, query: Callable[[D], T]) -> T:
        document = await self._usable()
        result = query(document)
        await self._durable(self._latest())
        return result

    async def document(self) -> D:
        """The live document, for a unit of work's reads (json_uow.py): never change it outside ``change``;
        what it shows may not be durable yet (``read`` waits for that)."""
        return await self._usable()

    async def change(self, op: str, /, *args: Any, **kwargs: Any) -> Any:
        """Run ``document.op(*args, **kwargs)``; when it reports a change, make it durable before returning."""
        result, durable = await self.apply(op, *args, **kwargs)
        await durable
        return result

    async def apply(self, op: str, /, *args: Any, **kwargs: Any) -> tuple[Any, Awaitable[None]]:
        """``change`` in two steps: run the operation on the document now and return its result with what to
        await for it to be durable. Between the two, later operations already see the change (as they do
        during ``change``): a unit of work releases its row locks there, so units on one row share an fsync."""
        if op.startswith("_"):
            raise ValueError(f"{op!r} is not a document operation")
        line = encode_call(op, args, kwargs)  # a value that cannot be journaled fails before anything changes
        document = await self._usable()
        try:
            result, changed = getattr(document, op)(*args, **kwargs)
        except _REJECTIONS:
            raise
        except BaseException:
            await self._rebuild_after(self._latest())  # a bug midway through a change: memory must not drift
            raise
        if changed:
            waiter: asyncio.Future[BaseException | None] | None = self._open.add(line)
            if self._flusher is None or self._flusher.done():
                self._flusher = asyncio.ensure_future(self._flush())
        else:
            waiter = self._latest()
        return result, self._durable(waiter)

    async def close(self) -> None:
        """Refuse further operations, wait for the ones in flight and any compaction, close the journal."""
        self._closed = True
        if self._flusher is not None:
            await _wait_through_cancellation(self._flusher)
        if self._compaction is not None:
            await _wait_through_cancellation(self._compaction)
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    # --- durability -------------------------------------------------------------------------------

    async def _usable(self) -> D:
        while self._rebuilt is not None:
            await self._rebuilt.wait()
        if self._closed:
            raise StorageUnavailableError(f"{self.path}: the storage is closed")
        if self._broken is not None:
            raise StorageUnavailableError(self._broken)
        return self._document

    def _latest(self) -> asyncio.Future[BaseException | None] | None:
        """What makes everything in memory durable: the open group, else the one being flushed."""
        if self._open.lines:
            return self._open.waiter()
        return self._flushing.waiter() if self._flushing is not None else None

    async def _durable(self, waiter: asyncio.Future[BaseException | None] | None) -> None:
        if waiter is None:
            return
        error = await asyncio.shield(waiter)  # a cancelled caller's change is still flushed (and kept)
        if error is not None:
            raise _unavailable(str(error), error.__cause__ or error)

    async def _flush(self) -> None:
        while self._open.lines and self._fd is not None:
            group, self._open = self._open, _Group()
            self._flushing = group
            data = b"".join(group.lines)
            try:
                await asyncio.to_thread(self._append, self._fd, data)
            except Exception as error:  # noqa: BLE001 - OSError, or a bug: either way the group is not durable
                failed, self._open = [group, self._open], _Group()
                message = f"cannot write {self._files.journal} ({error}); the change was not applied"
                await self._rebuild(truncate=True)
                self._flushing = None
                for each in failed:
                    each.settle(_unavailable(message, error))
                continue
            self._journal_size += len(data)
            self._flushing = None
            group.settle(None)
            await self._maybe_compact()

    def _append(self, fd: int, data: bytes) -> None:
        json_journal.append(fd, data, self._fsync)
        if not self._directory_synced:  # a journal created at start is durable once its directory entry is
            json_journal.fsync_directory(self._files.snapshot.parent)
            self._directory_synced = True

    async def _rebuild_after(self, waiter: asyncio.Future[BaseException | None] | None) -> None:
        """After a bug left memory half-changed: let what is pending reach disk, then reload from disk."""
        event = self._rebuilt = self._rebuilt or asyncio.Event()
        if waiter is not None:
            await asyncio.shield(waiter)
        if self._flusher is not None:
            await _wait_through_cancellation(self._flusher)
        if self._rebuilt is event:
            await self._rebuild(truncate=False)

    async def _rebuild(self, truncate: bool) -> None:
        """Memory := what the files hold. Operations wait meanwhile; on failure the file refuses them all."""
        event = self._rebuilt = self._rebuilt or asyncio.Event()
        try:
            if self._compaction is not None:
                await _wait_through_cancellation(self._compaction)
            self._document = await asyncio.to_thread(self._reload, truncate)
        except Exception as error:  # noqa: BLE001 - any failure here leaves memory unknown
            self._broken = f"{self.path}: memory could not be rolled back to disk ({error}); restart the bot"
            log.error(self._broken)
        finally:
            self._rebuilt = None
            event.set()

    def _reload(self, truncate: bool) -> D:
        if truncate and self._fd is not None:
            json_journal.truncate(self._fd, self._journal_size)
        return json_journal.load_durable(self._files, self._parse, self._empty, self._journal_size)

    # --- compaction -------------------------------------------------------------------------------

    async def _maybe_compact(self) -> None:
        """Between two groups (no append in flight): start a fold when the journal has grown enough."""
        if self._compaction is not None:
            if not self._compaction.done():
                return
            self._compaction = None
        threshold = max(self._compact_min_bytes, self._compact_ratio * self._snapshot_size)
        if not self._fold_pending:
            if self._journal_size < threshold or self._fd is None:
                return
            try:
                self._fd = await asyncio.to_thread(json_journal.rotate, self._files, self._fd)
            except OSError as error:
                log.warning("%s: cannot rotate the journal (%s); will retry", self._files.journal, error)
                return
            self._journal_size, self._fold_pending = 0, True
        self._compaction = asyncio.ensure_future(self._fold())

    async def _fold(self) -> None:
        try:
            size = await fold_in_child(self._files, self._parse, self._empty)  # json_fold.py: off our GIL
            await asyncio.to_thread(json_journal.install_next, self._files)
            self._snapshot_size, self._fold_pending = size, False
        except Exception as error:  # noqa: BLE001 - the compacting journal stays; the next flush retries
            log.warning("%s: compaction failed (%s); will retry", self.path, error)


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
