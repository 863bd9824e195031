"""The files behind one json_file.DurableFile, and the blocking work on them (run it in worker threads).

For a document kept at ``<dir>/state.json`` (the same for inbox.json and admin.json)::

    state.json                 the snapshot: the whole document (what older versions wrote, read as is)
    state.journal              changes committed since the snapshot, one json_ops record a line, fsynced
    state.journal.compacting   a journal being folded into the snapshot (only during a compaction)
    state.json.next            the next snapshot while it is written; complete once the compacting journal is gone

The snapshot is always the document before the compacting journal, which comes before the journal. Folding
(``fold``) writes snapshot + compacting journal to ``.next`` and fsyncs it, deletes the compacting journal,
then renames ``.next`` over the snapshot; a crash at any point leaves files that ``recover`` reads back to
the same document. Recovery replays the records in order; bytes after the last newline are a write cut
short by a crash (never acknowledged, since a change is acknowledged only after its line is fsynced) and are
dropped; a bad line before that refuses to start, naming the file and the line.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from adapters.storage.json_ops import decode_call
from ports.storage import StorageError, StorageUnavailableError

D = TypeVar("D")
Parse = Callable[[bytes], Any]


@dataclass(frozen=True)
class Files:
    snapshot: Path
    at_stake: str  # what starting empty would lose, for the refusal message

    @property
    def journal(self) -> Path:
        return self.snapshot.with_name(f"{self.snapshot.stem}.journal")

    @property
    def compacting(self) -> Path:
        return self.snapshot.with_name(f"{self.snapshot.stem}.journal.compacting")

    @property
    def next(self) -> Path:
        return self.snapshot.with_name(f"{self.snapshot.name}.next")


def recover(files: Files, parse: Parse, empty: Callable[[], Any]) -> tuple[Any, int]:
    """Bring the files to rest and load the document: finish or discard a compaction cut short, fold any
    journal into the snapshot. Returns the document and the snapshot's size in bytes."""
    _remove_leftover_temp_files(files.snapshot)
    try:
        if files.next.exists():
            if files.compacting.exists():
                files.next.unlink()  # may be incomplete: the compacting journal still has its changes
            else:
                os.replace(files.next, files.snapshot)
                fsync_directory(files.snapshot.parent)
        loaded: tuple[Any, int] | None = None
        if files.compacting.exists():
            loaded = fold(files, parse, empty)
        if files.journal.exists() and files.journal.stat().st_size > 0:
            document = loaded[0] if loaded else load_snapshot(files, parse, empty)[0]
            replay(document, files.journal, files.at_stake)  # a corrupt line refuses here, the file left as is
            os.replace(files.journal, files.compacting)
            fsync_directory(files.snapshot.parent)
            loaded = document, _write_snapshot(files, document)
    except OSError as error:
        raise StorageUnavailableError(f"cannot recover {files.snapshot} and its journal ({error})") from error
    return loaded if loaded is not None else load_snapshot(files, parse, empty)


def load_snapshot(files: Files, parse: Parse, empty: Callable[[], Any]) -> tuple[Any, int]:
    path = files.snapshot
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return empty(), 0
    except OSError as error:
        raise StorageUnavailableError(f"cannot read {path} ({error})") from error
    try:
        return parse(raw), len(raw)
    except ValueError as error:
        raise StorageUnavailableError(
            f"{path} is unreadable: {error}. Refusing to start empty, which would lose {files.at_stake}: "
            f"restore the file from a backup, or move it and {files.journal.name} away to start empty on purpose."
        ) from error


def load_durable(files: Files, parse: Parse, empty: Callable[[], Any], journal_size: int) -> Any:
    """The document the files hold, reading only the first ``journal_size`` bytes of the journal; changes
    nothing on disk. Used to roll memory back to disk after a failed append."""
    document, _ = load_snapshot(files, parse, empty)
    if files.compacting.exists():
        replay(document, files.compacting, files.at_stake)
    if journal_size:
        replay(document, files.journal, files.at_stake, journal_size)
    return document


def fold(files: Files, parse: Parse, empty: Callable[[], Any], document: Any = None) -> tuple[Any, int]:
    """Fold the compacting journal into the snapshot; returns the document and the snapshot's size.
    ``document``: the snapshot already loaded, when the caller has it (it is changed in place)."""
    if document is None:
        document, _ = load_snapshot(files, parse, empty)
    replay(document, files.compacting, files.at_stake)
    return document, _write_snapshot(files, document)


def write_next(files: Files, parse: Parse, empty: Callable[[], Any]) -> int:
    """The CPU-heavy half of a fold (json_fold.py runs it in a child process): write snapshot + compacting
    journal to ``.next`` and fsync it. Its size; ``install_next`` finishes the fold."""
    document, _ = load_snapshot(files, parse, empty)
    replay(document, files.compacting, files.at_stake)
    data = document.dump()
    write_synced(files.next, data)
    return len(data)


def install_next(files: Files) -> None:
    """The compacting journal is in ``.next`` (synced): delete it, then make ``.next`` the snapshot."""
    files.compacting.unlink()
    fsync_directory(files.snapshot.parent)
    os.replace(files.next, files.snapshot)
    fsync_directory(files.snapshot.parent)


def _write_snapshot(files: Files, document: Any) -> int:
    """Replace the snapshot with ``document``, which includes the compacting journal; delete that journal."""
    data = document.dump()
    write_synced(files.next, data)
    install_next(files)
    return len(data)


def replay(document: Any, path: Path, at_stake: str, limit: int | None = None) -> int:
    """Apply every complete record of ``path`` (its first ``limit`` bytes) to ``document``; the count."""
    with open(path, "rb") as file:
        data = file.read() if limit is None else file.read(limit)
    end = data.rfind(b"\n") + 1  # what follows is a torn last line: never acknowledged
    lines = data[:end].split(b"\n")[:-1]
    for number, line in enumerate(lines, 1):
        try:
            op, args, kwargs = decode_call(line)
            getattr(document, op)(*args, **kwargs)
        except (ValueError, TypeError, AttributeError, KeyError, StorageError) as error:
            raise StorageUnavailableError(
                f"{path} line {number} is corrupt ({type(error).__name__}: {error}). Refusing to start, which "
                f"would lose {at_stake}: restore the data directory from a backup."
            ) from error
    return len(lines)


# --- the journal file ----------------------------------------------------------------------------


def open_journal(files: Files, sync: bool = True) -> int:
    """Open (creating) the journal for appending. ``sync=False`` leaves syncing the directory entry to the
    caller, before the first record is acknowledged (DurableFile does it with its first append)."""
    fd = os.open(files.journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    if not sync:
        return fd
    try:
        fsync_directory(files.snapshot.parent)
    except BaseException:
        os.close(fd)
        raise
    return fd


def append(fd: int, data: bytes, fsync: Callable[[int], None]) -> None:
    """Write ``data`` at the end of the journal and fsync it: once this returns, the records are durable."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    fsync(fd)


def truncate(fd: int, size: int) -> None:
    """Cut off what a failed append may have left after the durable ``size`` bytes."""
    os.ftruncate(fd, size)
    os.fsync(fd)


def rotate(files: Files, fd: int) -> int:
    """The journal becomes the compacting journal; a new empty journal opens. Returns its fd."""
    os.replace(files.journal, files.compacting)
    new_fd = open_journal(files)  # syncs the directory: both names are durable
    os.close(fd)
    return new_fd


# --- plain files --------------------------------------------------------------------------------


def write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


def fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_leftover_temp_files(path: Path) -> None:
    """Temp files of a write cut short by a crash (older versions wrote through them): never needed."""
    try:
        for leftover in path.parent.glob(f"{path.name}.*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    except OSError as error:
        raise StorageUnavailableError(f"cannot remove leftover temp files next to {path} ({error})") from error


def read_durable(path: Path, parse: Parse, empty: Callable[[], Any]) -> Any:
    """The document the files at ``path`` hold (snapshot + journals), as a restart would load it; reads only."""
    files = Files(Path(path), "the data")
    size = files.journal.stat().st_size if files.journal.exists() else 0
    return load_durable(files, parse, empty, size)
