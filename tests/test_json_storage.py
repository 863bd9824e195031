"""JsonStorage beyond the shared contract: persistence, corruption, failed writes, crashes."""

from __future__ import annotations

from core import cashier
import asyncio
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from adapters.storage import json_journal
from adapters.storage.json_inbox import InboxDocument
from adapters.storage.json_state import State
from adapters.storage.json_storage import JsonStorage
from ports.events import UserRef
from ports.storage import Draft, InboxUpdate, Job, JobState, StorageUnavailableError

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
USER = 42


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def full_job() -> Job:
    return Job(
        id="j1",
        user_id=USER,
        chat_id=-100123,
        model_id="kling-2.6/text-to-video",
        input={"prompt": "a cat", "image_urls": ["https://x/a.png"], "params": {"cfg": 0.5, "seed": None}},
        price=30,
        state=JobState.CREATED,
        created_at=at(1),
        updated_at=at(2),
        deadline_at=at(600),
        language="en",
        options={"duration": "10", "sound": True, "steps": 25, "cfg": 0.5},
        progress_message_id=77,
        task_id="task-1",
        result_urls=("https://r/1.mp4", "https://r/2.mp4"),
        result_text="done",
        error="E1",
        error_message="something",
    )


def disk_state(data_dir: Path) -> dict[str, Any]:
    """The state a restart would load: state.json with its journal replayed."""
    return json.loads(json_journal.read_durable(data_dir / "state.json", State.parse, State.empty).dump())


def disk_balance(data_dir: Path, user_id: int = USER) -> int:
    return disk_state(data_dir)["accounts"][str(user_id)]["balance"]


async def fold_journals(data_dir: Path) -> None:
    """Open and close: recovery folds the journals into state.json, so the test can edit it by hand."""
    await (await JsonStorage.open(data_dir)).close()


def fail_appends(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_append(fd: int, data: bytes, fsync: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(json_journal, "append", failing_append)


def forbid_appends(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_append(fd: int, data: bytes, fsync: object) -> None:
        raise AssertionError("a no-op must not write")

    monkeypatch.setattr(json_journal, "append", no_append)


async def test_state_survives_close_and_reopen(tmp_path: Path) -> None:
    draft = Draft(
        id="d1",
        user_id=USER,
        chat_id=USER,
        model_id="m",
        created_at=at(3),
        media={"image_urls": ("https://x/a.png",)},
        prompt="p",
        options={"a": "x", "b": False, "c": 3, "d": 1.5},
        message_id=9,
    )
    storage = await JsonStorage.open(tmp_path)
    await cashier.ensure_user(storage, UserRef(USER, "ru", "alice", "Alice"), welcome_amount=100, now=NOW)
    await storage.users.set_language(USER, "en")
    await cashier.credit(storage, USER, 50, "pay:1", "payment", at(1))
    await cashier.launch(storage, full_job())
    await storage.drafts.put(draft)
    user = await storage.users.get(USER)
    entries = await storage.ledger.entries(USER)
    await storage.close()

    reopened = await JsonStorage.open(tmp_path)
    try:
        assert await reopened.users.get(USER) == user
        assert await reopened.ledger.balance(USER) == 120
        assert await reopened.ledger.entries(USER) == entries
        assert await reopened.jobs.get("j1") == full_job()
        assert await reopened.jobs.find_by_task("task-1") == full_job()
        assert await reopened.drafts.get("d1") == draft
        assert (await cashier.debit(reopened, USER, 120, "spend:all", "launch", at(5))).balance_after == 0
    finally:
        await reopened.close()


async def test_a_missing_directory_is_created_and_opens_empty(tmp_path: Path) -> None:
    data_dir = tmp_path / "a" / "b"

    storage = await JsonStorage.open(data_dir)
    try:
        assert data_dir.is_dir()
        assert await storage.users.get(USER) is None
        assert not (data_dir / "state.json").exists()  # nothing written until something changes
    finally:
        await storage.close()


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{not json",
        b'{"format": "trt-bot-state", "version": 1, "users": {',  # cut short
        b"\xff\xfe garbage",
        b"[]",
        b'{"format": "trt-bot-state", "version": 99, "users": {}, "accounts": {}, "drafts": {}, "jobs": {}}',
        b'{"format": "trt-bot-state", "version": 1, "users": {}, "accounts": {}, "drafts": {}}',
    ],
    ids=["empty", "not-json", "truncated", "binary", "not-an-object", "unknown-version", "missing-section"],
)
async def test_a_corrupt_state_file_raises_instead_of_starting_empty(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "state.json").write_bytes(content)

    with pytest.raises(StorageUnavailableError, match="state.json"):
        await JsonStorage.open(tmp_path)

    assert (tmp_path / "state.json").read_bytes() == content  # left as found, for a human to look at


async def test_a_state_whose_balance_disagrees_with_its_ledger_is_refused(tmp_path: Path) -> None:
    storage = await JsonStorage.open(tmp_path)
    await cashier.ensure_user(storage, UserRef(USER), welcome_amount=100, now=NOW)
    await storage.close()
    await fold_journals(tmp_path)
    doc = json.loads((tmp_path / "state.json").read_bytes())
    doc["accounts"][str(USER)]["balance"] = 1_000_000
    (tmp_path / "state.json").write_text(json.dumps(doc))

    with pytest.raises(StorageUnavailableError, match="balance"):
        await JsonStorage.open(tmp_path)


async def test_leftover_temp_files_from_a_crash_are_removed_on_open(tmp_path: Path) -> None:
    storage = await JsonStorage.open(tmp_path)
    await cashier.ensure_user(storage, UserRef(USER), welcome_amount=100, now=NOW)
    await storage.close()
    leftover = tmp_path / "state.json.abc123.tmp"
    leftover.write_bytes(b'{"half a wri')

    reopened = await JsonStorage.open(tmp_path)
    try:
        assert not leftover.exists()
        assert await reopened.ledger.balance(USER) == 100
    finally:
        await reopened.close()


async def test_a_failed_write_raises_unavailable_and_leaves_memory_equal_to_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = await JsonStorage.open(tmp_path)
    try:
        await cashier.ensure_user(storage, UserRef(USER), welcome_amount=100, now=NOW)
        real_append = json_journal.append
        fail_appends(monkeypatch)
        with pytest.raises(StorageUnavailableError, match="state.journal") as raised:
            await cashier.debit(storage, USER, 30, "spend:1", "launch", at(1))
        with pytest.raises(StorageUnavailableError):
            await cashier.launch(storage, full_job())

        assert isinstance(raised.value.__cause__, OSError)
        assert await storage.ledger.balance(USER) == 100 == disk_balance(tmp_path)
        assert len(await storage.ledger.entries(USER)) == 1
        assert await storage.jobs.get("j1") is None
        assert list(tmp_path.glob("*.tmp")) == []

        monkeypatch.setattr(json_journal, "append", real_append)
        entry = await cashier.debit(storage, USER, 30, "spend:1", "launch", at(2))
        assert entry.balance_after == 70
        assert await storage.ledger.balance(USER) == 70 == disk_balance(tmp_path)
    finally:
        await storage.close()

    reopened = await JsonStorage.open(tmp_path)
    try:
        assert await reopened.ledger.balance(USER) == 70
        assert [e.key for e in await reopened.ledger.entries(USER)] == ["spend:1", f"welcome:{USER}"]
    finally:
        await reopened.close()


async def test_an_idempotent_repeat_does_not_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = await JsonStorage.open(tmp_path)
    try:
        await cashier.ensure_user(storage, UserRef(USER, "ru", "alice"), welcome_amount=100, now=NOW)
        await cashier.credit(storage, USER, 5, "pay:1", "payment", at(1))
        await cashier.launch(storage, full_job())

        forbid_appends(monkeypatch)
        await cashier.ensure_user(storage, UserRef(USER, "ru", "alice"), welcome_amount=100, now=at(9))
        await cashier.credit(storage, USER, 5, "pay:1", "payment", at(9))
        await cashier.launch(storage, full_job())
        assert await cashier.refund_job(storage, "j1", at(9)) is None
    finally:
        await storage.close()


async def test_concurrent_writes_leave_the_file_equal_to_memory(tmp_path: Path) -> None:
    storage = await JsonStorage.open(tmp_path)
    try:
        await cashier.ensure_user(storage, UserRef(USER), welcome_amount=0, now=NOW)

        await asyncio.gather(*(cashier.credit(storage, USER, i, f"pay:{i}", "payment", at(i)) for i in range(1, 31)))

        assert await storage.ledger.balance(USER) == sum(range(1, 31)) == disk_balance(tmp_path)
    finally:
        await storage.close()


async def test_a_cancelled_caller_still_finishes_the_write_before_the_next_operation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = await JsonStorage.open(tmp_path)
    await cashier.ensure_user(storage, UserRef(USER), welcome_amount=100, now=NOW)
    entered, release = threading.Event(), threading.Event()
    real_append = json_journal.append

    def slow_append(*args: object) -> object:
        entered.set()
        release.wait(timeout=10)
        return real_append(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(json_journal, "append", slow_append)
    try:
        credit = asyncio.create_task(cashier.credit(storage, USER, 5, "pay:1", "payment", at(1)))
        assert await asyncio.to_thread(entered.wait, 10)
        credit.cancel()
        balance_read = asyncio.create_task(storage.ledger.balance(USER))
        await asyncio.sleep(0.05)
        assert not balance_read.done()  # a read returns only what is durable: it waits for the write
        release.set()

        with pytest.raises(asyncio.CancelledError):
            await credit
        assert await balance_read == 105 == disk_balance(tmp_path)
    finally:
        release.set()
        await storage.close()


async def test_a_second_storage_on_the_same_directory_is_refused(tmp_path: Path) -> None:
    storage = await JsonStorage.open(tmp_path)
    try:
        with pytest.raises(StorageUnavailableError, match="already open"):
            await JsonStorage.open(tmp_path)
    finally:
        await storage.close()

    await (await JsonStorage.open(tmp_path)).close()  # free again once closed


async def test_operations_after_close_raise_unavailable(tmp_path: Path) -> None:
    storage = await JsonStorage.open(tmp_path)
    await storage.close()
    await storage.close()  # closing twice is harmless

    with pytest.raises(StorageUnavailableError, match="closed"):
        await storage.users.get(USER)


async def test_a_naive_datetime_is_rejected_before_anything_changes(tmp_path: Path) -> None:
    storage = await JsonStorage.open(tmp_path)
    try:
        await cashier.ensure_user(storage, UserRef(USER), welcome_amount=10, now=NOW)

        with pytest.raises(ValueError, match="naive"):
            await cashier.credit(storage, USER, 5, "pay:1", "payment", datetime(2026, 1, 1))

        assert await storage.ledger.balance(USER) == 10 == disk_balance(tmp_path)
    finally:
        await storage.close()


async def test_blocked_survives_reopen_and_a_state_older_than_the_field_reads_as_not_blocked(tmp_path: Path) -> None:
    storage = await JsonStorage.open(tmp_path)
    await cashier.ensure_user(storage, UserRef(USER), welcome_amount=0, now=NOW)
    await cashier.ensure_user(storage, UserRef(USER + 1), welcome_amount=0, now=NOW)
    await storage.users.set_blocked(USER, True)
    await storage.close()
    await fold_journals(tmp_path)
    doc = json.loads((tmp_path / "state.json").read_bytes())
    del doc["users"][str(USER + 1)]["blocked"]  # as written before User.blocked existed
    (tmp_path / "state.json").write_text(json.dumps(doc))

    reopened = await JsonStorage.open(tmp_path)
    try:
        blocked, older = await reopened.users.get(USER), await reopened.users.get(USER + 1)
        assert blocked is not None and blocked.blocked is True
        assert older is not None and older.blocked is False
        await reopened.users.set_blocked(USER + 1, True)
        assert disk_state(tmp_path)["users"][str(USER + 1)]["blocked"] is True
    finally:
        await reopened.close()


# --- inbox --------------------------------------------------------------------------------------


def update(update_id: int, received: float = 0) -> InboxUpdate:
    payload = {"update_id": update_id, "message": {"message_id": update_id, "chat": {"id": USER}, "text": "hi"}}
    return InboxUpdate(update_id=update_id, payload=payload, received_at=at(received), chat_id=USER, cid="c")


def disk_inbox(data_dir: Path) -> dict[str, dict[str, object]]:
    """The inbox a restart would load: inbox.json with its journal replayed."""
    inbox = json_journal.read_durable(data_dir / "inbox.json", InboxDocument.parse, InboxDocument.empty)
    return json.loads(inbox.dump())


async def test_the_inbox_survives_close_and_reopen(tmp_path: Path) -> None:
    storage = await JsonStorage.open(tmp_path)
    for update_id in (1, 2, 3):
        await storage.inbox.put(update(update_id))
    await storage.inbox.done(2, at(10))
    kept = await storage.inbox.pending()
    await storage.close()

    reopened = await JsonStorage.open(tmp_path)
    try:
        assert await reopened.inbox.pending() == kept
        assert [u.update_id for u in kept] == [1, 3]
        assert await reopened.inbox.put(update(2)) is False  # done before the restart: still a duplicate
        assert await reopened.inbox.put(update(3)) is False
        assert await reopened.inbox.put(update(4)) is True
        assert await reopened.inbox.depth() == 3
    finally:
        await reopened.close()


async def test_inbox_writes_go_to_their_own_file_and_leave_the_state_alone(tmp_path: Path) -> None:
    storage = await JsonStorage.open(tmp_path)
    try:
        await cashier.ensure_user(storage, UserRef(USER), welcome_amount=100, now=NOW)
        state_before = (tmp_path / "state.journal").stat()

        await storage.inbox.put(update(1))
        await storage.inbox.done(1, at(1))
        await storage.inbox.put(update(2))

        state_after = (tmp_path / "state.journal").stat()
        assert (state_after.st_ino, state_after.st_mtime_ns) == (state_before.st_ino, state_before.st_mtime_ns)
        assert set(disk_inbox(tmp_path)["pending"]) == {"2"}
        assert disk_inbox(tmp_path)["done"] == {"1": int(at(1).timestamp())}
    finally:
        await storage.close()


async def test_processed_ids_older_than_24_hours_are_forgotten_on_the_next_write(tmp_path: Path) -> None:
    day = 24 * 3600
    storage = await JsonStorage.open(tmp_path)
    try:
        for update_id in (1, 2, 3, 4):
            await storage.inbox.put(update(update_id))
        await storage.inbox.done(1, at(0))
        await storage.inbox.done(2, at(3600))
        await storage.inbox.done(3, at(7200))

        await storage.inbox.done(4, at(3600 + day))  # 1 is older than 24 h; 2 exactly 24 h: kept

        assert set(disk_inbox(tmp_path)["done"]) == {"2", "3", "4"}
        assert await storage.inbox.put(update(2, received=3600 + day)) is False
        assert await storage.inbox.put(update(3, received=3600 + day)) is False
        assert await storage.inbox.put(update(1, received=3600 + day)) is True  # forgotten: taken in again

        await storage.inbox.put(update(5, received=7201 + day))  # a put prunes too: 2 and 3 now go
        assert set(disk_inbox(tmp_path)["done"]) == {"4"}
    finally:
        await storage.close()

    reopened = await JsonStorage.open(tmp_path)
    try:
        assert [u.update_id for u in await reopened.inbox.pending()] == [1, 5]
        assert await reopened.inbox.put(update(4)) is False
        assert await reopened.inbox.put(update(3)) is True
    finally:
        await reopened.close()


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b'{"format": "trt-bot-inbox", "version": 1, "pending": {"1": {"update_id": 1',  # cut short
        b'{"format": "trt-bot-state", "version": 1, "pending": {}, "done": {}}',
        b'{"format": "trt-bot-inbox", "version": 2, "pending": {}, "done": {}}',
        b'{"format": "trt-bot-inbox", "version": 1, "pending": {}}',
        b'{"format": "trt-bot-inbox", "version": 1, "pending": {"2": {"update_id": 1, "payload": {}, '
        b'"received_at": "2026-01-01T12:00:00.000000+00:00"}}, "done": {}}',
        b'{"format": "trt-bot-inbox", "version": 1, "pending": {}, "done": {"7": "2026-01-01T12:00:00+00:00"}}',
    ],
    ids=["empty", "truncated", "other-format", "unknown-version", "missing-section", "wrong-key", "bad-time"],
)
async def test_a_corrupt_inbox_file_raises_instead_of_starting_empty(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "inbox.json").write_bytes(content)

    with pytest.raises(StorageUnavailableError, match="inbox.json"):
        await JsonStorage.open(tmp_path)

    assert (tmp_path / "inbox.json").read_bytes() == content  # left as found, for a human to look at
    (tmp_path / "inbox.json").unlink()
    await (await JsonStorage.open(tmp_path)).close()  # the failed open released the directory lock


async def test_a_failed_inbox_write_raises_unavailable_and_leaves_memory_equal_to_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = await JsonStorage.open(tmp_path)
    try:
        await storage.inbox.put(update(1))
        real_append = json_journal.append
        fail_appends(monkeypatch)
        with pytest.raises(StorageUnavailableError, match="inbox.journal"):
            await storage.inbox.put(update(2))
        with pytest.raises(StorageUnavailableError, match="inbox.journal"):
            await storage.inbox.done(1, at(1))

        assert [u.update_id for u in await storage.inbox.pending()] == [1]
        assert set(disk_inbox(tmp_path)["pending"]) == {"1"} and disk_inbox(tmp_path)["done"] == {}
        assert list(tmp_path.glob("*.tmp")) == []

        monkeypatch.setattr(json_journal, "append", real_append)
        assert await storage.inbox.put(update(2)) is True  # the failed put stored nothing: not a duplicate
        await storage.inbox.done(1, at(2))
        assert set(disk_inbox(tmp_path)["pending"]) == {"2"} and set(disk_inbox(tmp_path)["done"]) == {"1"}
    finally:
        await storage.close()


async def test_inbox_and_user_repeats_do_not_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = await JsonStorage.open(tmp_path)
    try:
        await cashier.ensure_user(storage, UserRef(USER), welcome_amount=0, now=NOW)
        await storage.users.set_blocked(USER, True)
        await storage.inbox.put(update(1))
        await storage.inbox.put(update(2))
        await storage.inbox.done(2, at(1))

        forbid_appends(monkeypatch)
        await storage.users.set_blocked(USER, True)
        await storage.users.set_blocked(USER + 1, True)  # unknown user
        assert await storage.inbox.put(update(1)) is False
        assert await storage.inbox.put(update(2)) is False
        await storage.inbox.done(2, at(2))
    finally:
        await storage.close()


async def test_inbox_operations_after_close_raise_unavailable(tmp_path: Path) -> None:
    storage = await JsonStorage.open(tmp_path)
    await storage.close()

    with pytest.raises(StorageUnavailableError, match="closed"):
        await storage.inbox.put(update(1))


# --- kill -9 ------------------------------------------------------------------------------------

WRITER = """
import asyncio, sys
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, sys.argv[2])
from adapters.storage.json_storage import JsonStorage
from core import cashier
from ports.events import UserRef


async def main():
    storage = await JsonStorage.open(Path(sys.argv[1]))
    now = datetime.now(timezone.utc)
    await cashier.ensure_user(storage, UserRef(id=1), welcome_amount=10, now=now)
    i = 0
    while True:
        key = f"op:{i}"
        if i % 3 == 2:
            await cashier.debit(storage, 1, 1, key, "test", now)
        else:
            await cashier.credit(storage, 1, 2, key, "test", now)
        print(key, flush=True)
        i += 1


asyncio.run(main())
"""


def run_writer_until_killed(script: Path, data_dir: Path, wanted: int, timeout: float) -> tuple[list[str], str, int]:
    """Start the writer, SIGKILL it once ``wanted`` keys are acknowledged (or at ``timeout``)."""
    process = subprocess.Popen(
        [sys.executable, str(script), str(data_dir), str(ROOT)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None
    output = b""
    deadline = time.monotonic() + timeout
    try:
        while output.count(b"\n") < wanted and process.poll() is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            ready, _, _ = select.select([process.stdout], [], [], remaining)
            if ready:
                chunk = os.read(process.stdout.fileno(), 65536)
                if not chunk:
                    break
                output += chunk
    finally:
        process.kill()  # SIGKILL on POSIX
        rest, errors = process.communicate(timeout=30)
    output += rest
    complete = output[: output.rfind(b"\n") + 1].decode()
    return complete.split(), errors.decode(errors="replace"), process.returncode


async def test_every_acknowledged_operation_survives_kill_9(tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    data_dir = tmp_path / "data"

    acknowledged, errors, returncode = await asyncio.to_thread(run_writer_until_killed, script, data_dir, 50, 60)

    assert returncode == -signal.SIGKILL, errors
    assert len(acknowledged) >= 50, errors
    assert (data_dir / "state.journal").stat().st_size > 0  # the changes went to the journal
    storage = await JsonStorage.open(data_dir)
    try:
        entries = await storage.ledger.entries(1, limit=1_000_000)
        balance = await storage.ledger.balance(1)
    finally:
        await storage.close()
    keys = {entry.key for entry in entries}
    assert set(acknowledged) <= keys
    assert sum(entry.amount for entry in entries) == balance
    assert len(keys) - 1 - len(acknowledged) in (0, 1)  # at most the one in flight when killed


INBOX_WRITER = """
import asyncio, sys
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, sys.argv[2])
from adapters.storage.json_storage import JsonStorage
from ports.storage import InboxUpdate


async def main():
    storage = await JsonStorage.open(Path(sys.argv[1]))
    update_id = 1
    while True:
        now = datetime.now(timezone.utc)
        payload = {"update_id": update_id, "message": {"text": "x" * 200}}
        assert await storage.inbox.put(InboxUpdate(update_id, payload, now, chat_id=1))
        print(update_id, flush=True)  # acknowledged to Telegram
        if update_id % 2 == 0:
            await storage.inbox.done(update_id - 1, now)
        update_id += 1


asyncio.run(main())
"""


async def test_every_acknowledged_update_survives_kill_9(tmp_path: Path) -> None:
    script = tmp_path / "inbox_writer.py"
    script.write_text(INBOX_WRITER)
    data_dir = tmp_path / "data"

    lines, errors, returncode = await asyncio.to_thread(run_writer_until_killed, script, data_dir, 100, 60)

    assert returncode == -signal.SIGKILL, errors
    acknowledged = [int(line) for line in lines]
    assert len(acknowledged) >= 100, errors
    assert (data_dir / "inbox.journal").stat().st_size > 0  # the changes went to the journal
    storage = await JsonStorage.open(data_dir)
    try:
        pending = {u.update_id for u in await storage.inbox.pending(limit=1_000_000)}
        processed = [i for i in acknowledged if i not in pending]
        lost = [i for i in processed if await storage.inbox.put(update(i))]  # True: not known as done
    finally:
        await storage.close()
    assert lost == []
    assert len(processed) >= len(acknowledged) // 2 - 1  # the done path was exercised too
    assert len(pending - set(acknowledged)) <= 1  # at most the one in flight when killed
