"""Which instance did what, from the instances' logs (bench/chaos.py keeps one file per instance, appended across
restarts): an update's cid from its UPDATE_RECEIVED line (the instance that stored it), then the instances that
logged DISPATCH_OK/DISPATCH_FAIL for that cid (the ones that processed it), with their timestamps."""

from __future__ import annotations

import re
from pathlib import Path

_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})")


def trace(logs: dict[str, Path], update_id: int) -> str:
    lines = {name: path.read_text(errors="replace").splitlines() if path.exists() else [] for name, path in logs.items()}
    cid, stored = None, []
    for name, text in lines.items():
        for line in text:
            if "UPDATE_RECEIVED" in line and re.search(rf"update_id={update_id}\b", line):
                found = re.search(r"cid=(\w+)", line)
                cid = found.group(1) if found else cid
                stored.append(f"{name} {_stamp(line)}")
    if cid is None:
        return f"update {update_id}: no UPDATE_RECEIVED line in any log"
    done = [f"{name} {_stamp(line)} {'DISPATCH_OK' if 'DISPATCH_OK' in line else 'DISPATCH_FAIL'}"
            for name, text in lines.items() for line in text
            if ("DISPATCH_OK" in line or "DISPATCH_FAIL" in line)
            and (f"cid={cid}" in line or re.search(rf"update_id={update_id}\b", line))]
    return (f"update {update_id} cid={cid}: stored by {', '.join(stored)}; processed by "
            f"{', '.join(done) if done else 'no instance (no DISPATCH line)'}")


def _stamp(line: str) -> str:
    found = _STAMP.match(line)
    return found.group(1)[11:] if found else "?"


def dispatch_counts(logs: dict[str, Path]) -> dict[str, int]:
    """Updates each instance processed (DISPATCH_OK / DISPATCH_FAIL lines in its log)."""
    counts = {}
    for name, path in logs.items():
        text = path.read_text(errors="replace") if path.exists() else ""
        counts[name] = text.count("DISPATCH_OK") + text.count("DISPATCH_FAIL")
    return counts
