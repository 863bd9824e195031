"""The JSON storage's journal (json_file.py, json_journal.py, json_ops.py): replay, torn and corrupt journals,
compaction, group commit, rollback of a failed group, crashes mid-compaction, kill -9 under concurrent load."""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.storage import json_journal
from adapters.storage.json_file import DurableFile
from adapters.storage.json_ops import decode_call, encode_call
from adapters.storage.json_state import State
from adapters.storage.json_storage import JsonStorage
from adapters.storage.json_uow import JsonUnitOfWork, RowLocks
from core import cashier
from adapters.storage.entity_codec import encode
from ports.admin import BroadcastState
from ports.model import Account, LedgerEntry, User
from ports.events import UserRef
from ports.storage import JobState, StorageUnavailableError
from tests.test_json_storage import ROOT, full_job, run_writer_until_killed

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def load(path: Path, **options: Any) -> DurableFile[State]:
    return DurableFile.load(path, State.parse, State.empty, "balances", **options)


class FileStore:
    """Just enough of a Storage for the core's use cases to change a bare state file (one unit = one record)."""

    def __init__(self, file: DurableFile[State]) -> None:
        self.file, self.locks = file, RowLocks()

    def unit_of_work(self) -> JsonUnitOfWork:
        return JsonUnitOfWork(self.file, self.locks)


_stores: dict[int, FileStore] = {}


def store(file: DurableFile[State]) -> Any:
    if id(file) not in _stores or _stores[id(file)].file is not file:
        _stores[id(file)] = FileStore(file)
    return _stores[id(file)]


async def busy_day(file: DurableFile[State], users: int = 5) -> None:
    """A mix of every kind of argument: dataclasses, enums, tuples, sets, dicts, datetimes, keywords."""
    for user in range(1, users + 1):
        await cashier.ensure_user(store(file), UserRef(user, "ru", f"u{user}", "Ünïcode \n name"), 100, at(user))
        await cashier.credit(store(file), user, 7, f"pay:{user}", "payment", at(user))
        await file.change("set_user_field", user, "language", "en")
    await cashier.ensure_user(store(file), UserRef(42), 100, NOW)
    await cashier.launch(store(file), full_job())
    await file.change("transition", "j1", frozenset({JobState.CREATED}), JobState.RUNNING,
                      {"task_id": "task-2", "result_urls": ("https://r/x",), "updated_at": at(50)})
    await cashier.debit(store(file), 2, 3, "spend:2", "launch", at(60))


async def dump(file: DurableFile[State]) -> bytes:
    return await file.read(lambda state: state.dump())


def test_a_record_round_trips_every_kind_of_argument() -> None:
    args = (UserRef(1, "ru"), JobState.FAILED, BroadcastState.DONE, (1, "a"), frozenset({2}), {"k": [1, {"x": None}]},
            NOW, Decimal("2.35"), None, 1.5, True)
    line = encode_call("op", args, {"approve": False})

    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert decode_call(line) == ("op", list(args), {"approve": False})
    with pytest.raises(TypeError):
        encode_call("op", (object(),), {})


async def test_replay_after_restart_equals_the_state_before(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    file = await asyncio.to_thread(load, path)
    await busy_day(file)
    before = await dump(file)
    await file.close()
    assert not path.exists() and (tmp_path / "state.journal").stat().st_size > 0  # all of it in the journal

    reopened = await asyncio.to_thread(load, path)
    try:
        assert await dump(reopened) == before
        assert path.read_bytes() == before  # recovery folded the journal into the snapshot
        assert (tmp_path / "state.journal").read_bytes() == b""
    finally:
        await reopened.close()


async def test_a_state_json_without_a_journal_loads_as_the_snapshot(tmp_path: Path) -> None:
    document = State.empty()
    rows = [User(9, NOW), LedgerEntry("welcome:9", 9, 100, 100, "welcome", NOW), Account(9, 100)]
    document.apply([[table, "put" if table == "accounts" else "add", list(encode(row).values())]
                    for table, row in zip(("users", "ledger", "accounts"), rows)])
    (tmp_path / "state.json").write_bytes(document.dump())  # as an older version left it

    storage = await JsonStorage.open(tmp_path)
    try:
        assert await storage.ledger.balance(9) == 100
        await cashier.credit(storage, 9, 5, "pay:1", "payment", at(1))
        assert (tmp_path / "state.json").read_bytes() == document.dump()  # a change appends, never rewrites
    finally:
        await storage.close()
    reopened = await JsonStorage.open(tmp_path)
    try:
        assert await reopened.ledger.balance(9) == 105
    finally:
        await reopened.close()


async def test_a_torn_last_line_is_ignored_and_cut_off(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    file = await asyncio.to_thread(load, path)
    await busy_day(file)
    before = await dump(file)
    await file.close()
    with open(tmp_path / "state.journal", "ab") as journal:
        journal.write(b'{"op":"credit","a":[1,500,"pay:torn","pay')  # a write cut short by a crash

    reopened = await asyncio.to_thread(load, path)
    try:
        assert await dump(reopened) == before
        assert (tmp_path / "state.journal").read_bytes() == b""  # the torn bytes are gone
    finally:
        await reopened.close()


BAD_LINES = [b"{not json\n", b'{"op":"_check","a":[],"k":{}}\n', b'{"op":"apply","a":[],"k":{}}\n']


@pytest.mark.parametrize("bad", BAD_LINES)
async def test_a_corrupt_line_in_the_middle_refuses_to_start_with_one_clear_line(tmp_path: Path, bad: bytes) -> None:
    path = tmp_path / "state.json"
    file = await asyncio.to_thread(load, path)
    await busy_day(file, users=2)
    await file.close()
    journal = tmp_path / "state.journal"
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(lines[:3]) + bad + b"".join(lines[3:]))

    with pytest.raises(StorageUnavailableError) as raised:
        await asyncio.to_thread(load, path)

    message = str(raised.value)
    assert "\n" not in message and f"{tmp_path / 'state.journal'} line 4 is corrupt" in message
    assert "balances" in message
    with pytest.raises(StorageUnavailableError, match="line 4 is corrupt"):  # left as found: refused again
        await asyncio.to_thread(load, path)


async def test_compaction_keeps_the_state(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    file = await asyncio.to_thread(load, path, compact_min_bytes=1, compact_ratio=0.0)  # fold after every group
    await busy_day(file, users=20)
    await asyncio.gather(*(cashier.credit(store(file), 3, 1, f"c:{i}", "payment", at(i)) for i in range(40)))
    before = await dump(file)
    await file.close()  # waits for the compaction in flight

    assert path.exists() and not (tmp_path / "state.journal.compacting").exists()
    assert json_journal.read_durable(path, State.parse, State.empty).dump() == before
    assert (tmp_path / "state.journal").stat().st_size < len(before)
    reopened = await asyncio.to_thread(load, path)
    try:
        assert await dump(reopened) == before
    finally:
        await reopened.close()


async def test_concurrent_changes_share_fsyncs_and_each_returns_durable(tmp_path: Path) -> None:
    fsyncs: list[int] = []

    def counting_fsync(fd: int) -> None:
        fsyncs.append(fd)
        os.fsync(fd)

    path = tmp_path / "state.json"
    file = await asyncio.to_thread(load, path, fsync=counting_fsync)
    await cashier.ensure_user(store(file), UserRef(1), 0, NOW)
    fsyncs.clear()

    entries = await asyncio.gather(*(cashier.credit(store(file), 1, 1, f"pay:{i}", "payment", at(i)) for i in range(50)))

    assert len(entries) == 50 and 1 <= len(fsyncs) < 50
    assert json_journal.read_durable(path, State.parse, State.empty).balance(1) == 50  # durable when returned
    await file.close()


async def test_a_failed_group_rolls_back_every_change_in_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.json"
    file = await asyncio.to_thread(load, path)
    await cashier.ensure_user(store(file), UserRef(1), 10, NOW)
    real_append = json_journal.append

    def failing_append(fd: int, data: bytes, fsync: Any) -> None:
        os.write(fd, data[: len(data) // 2])  # half written, then the disk fills up
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(json_journal, "append", failing_append)
    results = await asyncio.gather(*(cashier.credit(store(file), 1, 1, f"pay:{i}", "payment", at(i)) for i in range(10)),
                                   return_exceptions=True)

    assert all(isinstance(result, StorageUnavailableError) for result in results)
    assert await file.read(lambda state: state.balance(1)) == 10
    monkeypatch.setattr(json_journal, "append", real_append)
    await cashier.credit(store(file), 1, 5, "pay:after", "payment", at(99))
    await file.close()
    reopened = await asyncio.to_thread(load, path)
    try:
        assert await reopened.read(lambda state: [e.key for e in state.entries(1, 100)]) == ["pay:after", "welcome:1"]
    finally:
        await reopened.close()


async def test_a_compaction_cut_short_recovers_either_way(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    file = await asyncio.to_thread(load, path)
    await busy_day(file, users=3)
    before = await dump(file)
    await file.close()
    journal, compacting = tmp_path / "state.journal", tmp_path / "state.journal.compacting"
    next_ = tmp_path / "state.json.next"

    journal.rename(compacting)  # crashed while writing the next snapshot: discarded, the journal replayed
    next_.write_bytes(b'{"format": "trt-bot-state", "vers')
    assert await dump(reopened := await asyncio.to_thread(load, path)) == before
    await reopened.close()
    assert not next_.exists() and not compacting.exists()

    next_.write_bytes(path.read_bytes())  # crashed after deleting the compacting journal: the next snapshot wins
    path.write_bytes(State.empty().dump())
    assert await dump(reopened := await asyncio.to_thread(load, path)) == before
    await reopened.close()


CONCURRENT_WRITER = """
import asyncio, sys
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, sys.argv[2])
from adapters.storage import json_file
from adapters.storage.json_storage import JsonStorage
from core import cashier
from ports.events import UserRef

json_file.COMPACT_MIN_BYTES, json_file.COMPACT_RATIO = 20_000, 0.0  # compactions run all along


async def worker(storage, user):
    now = datetime.now(timezone.utc)
    await cashier.ensure_user(storage, UserRef(id=user), welcome_amount=10, now=now)
    i = 0
    while True:
        key = f"op:{user}:{i}"
        if i % 3 == 2:
            await cashier.debit(storage, user, 1, key, "test", now)
        else:
            await cashier.credit(storage, user, 2, key, "test", now)
        print(key, flush=True)
        i += 1


async def main():
    storage = await JsonStorage.open(Path(sys.argv[1]))
    await asyncio.gather(*(worker(storage, user) for user in range(1, 9)))


asyncio.run(main())
"""


async def test_kill_9_during_concurrent_writes_and_compactions_loses_no_acknowledged_change(tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(CONCURRENT_WRITER)
    data_dir = tmp_path / "data"

    acknowledged, errors, returncode = await asyncio.to_thread(run_writer_until_killed, script, data_dir, 6000, 120)

    assert returncode == -signal.SIGKILL, errors
    assert len(acknowledged) >= 6000, errors
    assert (data_dir / "state.json").exists()  # compactions ran before the kill
    storage = await JsonStorage.open(data_dir)
    try:
        keys: set[str] = set()
        for user in range(1, 9):
            entries = await storage.ledger.entries(user, limit=1_000_000)
            assert sum(entry.amount for entry in entries) == await storage.ledger.balance(user)
            keys |= {entry.key for entry in entries}
    finally:
        await storage.close()
    assert set(acknowledged) <= keys
    assert len(keys - set(acknowledged)) - 8 <= 8  # welcomes, plus at most one in flight per writer task
