"""Compaction in a child process: the CPU-heavy half of folding a journal into a snapshot.

Parsing and dumping a large document are single C calls that hold the GIL for their whole length (about a
second per 100 MB), so a worker thread would stall the event loop, and with it the webhook acks, for that
long. ``fold_in_child`` runs ``json_journal.write_next`` in ``python -m adapters.storage.json_fold``
instead (its own interpreter, its own core); the parent then installs the result (json_journal.install_next).
The child reads only the snapshot and the compacting journal, which nobody else writes meanwhile, and writes
only ``<snapshot>.next``. It asks the kernel to kill it when its parent dies (PR_SET_PDEATHSIG), so it never
outlives a killed bot into the next one's recovery (which discards a ``.next`` while the compacting
journal exists, and folds again itself).
"""

from __future__ import annotations

import asyncio
import ctypes
import importlib
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from adapters.storage import json_journal

_ROOT = Path(__file__).resolve().parents[2]
_PR_SET_PDEATHSIG = 1


async def fold_in_child(files: json_journal.Files, parse: Callable[[bytes], Any], empty: Callable[[], Any]) -> int:
    """Write ``.next`` in a child process; its size. Raises OSError when the child fails."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_ROOT), env.get("PYTHONPATH", "")]))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "adapters.storage.json_fold", str(files.snapshot.resolve()), files.at_stake,
        _reference(parse), _reference(empty), str(os.getpid()),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        last = (err.decode(errors="replace").strip().splitlines() or ["no message"])[-1]
        raise OSError(f"the compaction process exited with {process.returncode}: {last}")
    return int(out)


def _reference(function: Callable[..., Any]) -> str:
    return f"{function.__module__}:{function.__qualname__}"


def _resolve(reference: str) -> Any:
    module_name, _, qualname = reference.partition(":")
    found: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


def main(argv: list[str]) -> int:
    snapshot, at_stake, parse, empty, parent = argv
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: the parent's death is still checked below
    if os.getppid() != int(parent):
        return 3  # the parent died before we could ask to die with it
    files = json_journal.Files(Path(snapshot), at_stake)
    print(json_journal.write_next(files, _resolve(parse), _resolve(empty)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
