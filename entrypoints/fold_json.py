"""``python -m entrypoints.fold_json``: fold the JSON storage's journals into its snapshots, then exit.

Opening the storage does it (json_journal.recover: replay each journal, write the snapshot, empty the journal);
nothing else runs, so nothing is written after. What it is for: going back to an older release, which cannot
replay this release's journal lines (``apply``) but reads the snapshot. The directory is DATA_DIR (the
environment or a ``.env`` file, like every setting; default ``./data``). It takes the directory's lock, so it
refuses while a bot runs on it. Exit status: 0 when folded, 1 when the files cannot be read or the lock is held.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from adapters.storage.json_storage import JsonStorage
from entrypoints.settings import read_environment
from ports.storage import StorageError

JOURNALS = ("state.journal", "inbox.journal", "admin.journal")


async def fold(data_dir: Path) -> None:
    storage = await JsonStorage.open(data_dir)
    await storage.close()


def run(env: Mapping[str, str]) -> tuple[int, str]:
    """Exit status and the line to print."""
    data_dir = Path(env.get("DATA_DIR") or "data")
    if not data_dir.is_dir():
        return 1, f"fold_json: {data_dir} is not a directory"
    try:
        asyncio.run(fold(data_dir))
    except (StorageError, OSError) as error:
        return 1, f"fold_json: {type(error).__name__}: {error}".replace("\n", " ")
    left = [name for name in JOURNALS if (data_dir / name).exists() and (data_dir / name).stat().st_size]
    if left:
        return 1, f"fold_json: {', '.join(left)} in {data_dir} still hold changes"
    return 0, f"fold_json: the journals in {data_dir} are folded into its snapshots"


def main(argv: Sequence[str] | None = None) -> int:
    del argv  # no options: DATA_DIR says where
    status, line = run(read_environment())
    print(line, file=sys.stdout if status == 0 else sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
