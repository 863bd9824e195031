"""JsonStorage beyond the shared contract: persistence, corruption, failed writes, crashes."""

from __future__ import annotations

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

import pytest

from adapters.storage import json_storage
from adapters.storage.json_storage import JsonStorage
from ports.events import UserRef
from ports.storage import Draft, Job, JobState, StorageUnavailableError

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


def disk_balance(data_dir: Path, user_id: int = USER) -> int:
    doc = json.loads((data_dir / "state.json").read_bytes())
    return doc["accounts"][str(user_id)]["balance"]


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
    await storage.users.ensure(UserRef(USER, "ru", "alice", "Alice"), welcome_amount=100, now=NOW)
    await storage.users.set_language(USER, "en")
    await storage.ledger.credit(USER, 50, "pay:1", "payment", at(1))
    await storage.jobs.launch(full_job())
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
        assert (await reopened.ledger.debit(USER, 120, "spend:all", "launch", at(5))).balance_after == 0
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
    await storage.users.ensure(UserRef(USER), welcome_amount=100, now=NOW)
    await storage.close()
    doc = json.loads((tmp_path / "state.json").read_bytes())
    doc["accounts"][str(USER)]["balance"] = 1_000_000
    (tmp_path / "state.json").write_text(json.dumps(doc))

    with pytest.raises(StorageUnavailableError, match="balance"):
        await JsonStorage.open(tmp_path)


async def test_leftover_temp_files_from_a_crash_are_removed_on_open(tmp_path: Path) -> None:
    storage = await JsonStorage.open(tmp_path)
    await storage.users.ensure(UserRef(USER), welcome_amount=100, now=NOW)
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
        await storage.users.ensure(UserRef(USER), welcome_amount=100, now=NOW)
        real_replace = os.replace

        def failing_replace(src: str, dst: str) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "replace", failing_replace)
        with pytest.raises(StorageUnavailableError, match="state.json") as raised:
            await storage.ledger.debit(USER, 30, "spend:1", "launch", at(1))
        with pytest.raises(StorageUnavailableError):
            await storage.jobs.launch(full_job())

        assert isinstance(raised.value.__cause__, OSError)
        assert await storage.ledger.balance(USER) == 100 == disk_balance(tmp_path)
        assert len(await storage.ledger.entries(USER)) == 1
        assert await storage.jobs.get("j1") is None
        assert list(tmp_path.glob("*.tmp")) == []

        monkeypatch.setattr(os, "replace", real_replace)
        entry = await storage.ledger.debit(USER, 30, "spend:1", "launch", at(2))
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
        await storage.users.ensure(UserRef(USER, "ru", "alice"), welcome_amount=100, now=NOW)
        await storage.ledger.credit(USER, 5, "pay:1", "payment", at(1))
        await storage.jobs.launch(full_job())

        def no_write(src: str, dst: str) -> None:
            raise AssertionError("a no-op must not write")

        monkeypatch.setattr(os, "replace", no_write)
        await storage.users.ensure(UserRef(USER, "ru", "alice"), welcome_amount=100, now=at(9))
        await storage.ledger.credit(USER, 5, "pay:1", "payment", at(9))
        await storage.jobs.launch(full_job())
        assert await storage.jobs.refund("j1", at(9)) is None
    finally:
        await storage.close()


async def test_concurrent_writes_leave_the_file_equal_to_memory(tmp_path: Path) -> None:
    storage = await JsonStorage.open(tmp_path)
    try:
        await storage.users.ensure(UserRef(USER), welcome_amount=0, now=NOW)

        await asyncio.gather(*(storage.ledger.credit(USER, i, f"pay:{i}", "payment", at(i)) for i in range(1, 31)))

        assert await storage.ledger.balance(USER) == sum(range(1, 31)) == disk_balance(tmp_path)
    finally:
        await storage.close()


async def test_a_cancelled_caller_still_finishes_the_write_before_the_next_operation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = await JsonStorage.open(tmp_path)
    await storage.users.ensure(UserRef(USER), welcome_amount=100, now=NOW)
    entered, release = threading.Event(), threading.Event()
    real_write = json_storage._write_durably

    def slow_write(*args: object) -> object:
        entered.set()
        release.wait(timeout=10)
        return real_write(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(json_storage, "_write_durably", slow_write)
    try:
        credit = asyncio.create_task(storage.ledger.credit(USER, 5, "pay:1", "payment", at(1)))
        assert await asyncio.to_thread(entered.wait, 10)
        credit.cancel()
        balance_read = asyncio.create_task(storage.ledger.balance(USER))
        await asyncio.sleep(0.05)
        assert not balance_read.done()  # the lock is held until the write ends
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
        await storage.users.ensure(UserRef(USER), welcome_amount=10, now=NOW)

        with pytest.raises(ValueError, match="naive"):
            await storage.ledger.credit(USER, 5, "pay:1", "payment", datetime(2026, 1, 1))

        assert await storage.ledger.balance(USER) == 10 == disk_balance(tmp_path)
    finally:
        await storage.close()


# --- kill -9 ------------------------------------------------------------------------------------

WRITER = """
import asyncio, sys
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, sys.argv[2])
from adapters.storage.json_storage import JsonStorage
from ports.events import UserRef


async def main():
    storage = await JsonStorage.open(Path(sys.argv[1]))
    now = datetime.now(timezone.utc)
    await storage.users.ensure(UserRef(id=1), welcome_amount=10, now=now)
    i = 0
    while True:
        key = f"op:{i}"
        if i % 3 == 2:
            await storage.ledger.debit(1, 1, key, "test", now)
        else:
            await storage.ledger.credit(1, 2, key, "test", now)
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
    json.loads((data_dir / "state.json").read_bytes())  # parses
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
