"""A data directory written by the release before the unit of work (c93a1ad, journaling its rules by name) opens
in this one with the same content (json_legacy_ops.py), and its next snapshot is in this release's form.

The fixture (tests/fixtures/json_c93a1ad, made by its generate.py running that release's code) holds the data
directory as that release left it, the same directory after that release folded it, and that release's answers.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.storage import json_journal
from adapters.storage.json_fold import fold_in_child
from adapters.storage.json_ops import decode_call
from adapters.storage.json_state import State
from adapters.storage.json_storage import JsonStorage
from core import cashier
from entrypoints import fold_json
from ports.storage import InsufficientBalanceError, Job, JobState, StorageUnavailableError

FIXTURE = Path(__file__).parent / "fixtures" / "json_c93a1ad"
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
# Operations that release journaled and this one no longer has: every one of them is in the fixture's journal.
OLD_OPS = {"ensure_user", "credit", "debit", "launch", "refund", "record_stars", "refund_stars", "create_topup",
           "decide_topup", "consume_free", "release_free", "link_referral", "reward_referral"}
NEW_SECTIONS = {"audit": [], "outbox": {"next_seq": 1, "messages": {}, "sent": {}}, "applied": {}}


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("json_c93a1ad_generate", FIXTURE / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def old_data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(FIXTURE / "data", data)
    return data


def journal_ops(path: Path) -> list[str]:
    return [decode_call(line)[0] for line in path.read_bytes().splitlines()]


def folded_by_old_release() -> dict[str, Any]:
    return json.loads((FIXTURE / "folded" / "state.json").read_bytes())


# Every operation that release journaled (its adapters' ``change("<op>", ...)`` calls), by file.
JOURNALED = {
    "state.journal": OLD_OPS | {"set_user_field", "set_blocked", "set_banned", "put_draft", "transition", "touch"},
    "admin.journal": {"record", "set_model_enabled", "set_markup", "set_price", "note_drift", "create_broadcast",
                      "start_broadcast", "advance_broadcast", "finish_broadcast"},
    "inbox.journal": {"put", "done"},
}


def test_the_fixture_journals_every_operation_kind_of_that_release() -> None:
    for name, ops in JOURNALED.items():
        assert set(journal_ops(FIXTURE / "data" / name)) == ops


async def test_an_old_data_directory_opens_with_what_the_old_release_answered(tmp_path: Path) -> None:
    data = old_data(tmp_path)
    storage = await JsonStorage.open(data)
    try:
        answers = await _generator().answers(storage)
    finally:
        await storage.close()

    expected = json.loads((FIXTURE / "answers.json").read_text())
    assert answers == expected
    assert expected["users"]["104"]["debt"] == 263  # the fixture covers debt left by a Stars refund
    assert [entry["key"] for entry in expected["users"]["103"]["entries"]][:4] == [
        "manual:tp3", "ref:103:invitee", "settle:refund:j1", "refund:j1"]  # and a credit settling it


async def test_the_recovered_document_is_the_one_the_old_release_folded(tmp_path: Path) -> None:
    data = old_data(tmp_path)
    storage = await JsonStorage.open(data)  # recovery replays the old journal and writes a new snapshot
    await storage.close()

    snapshot = json.loads((data / "state.json").read_bytes())
    assert snapshot == {**folded_by_old_release(), **NEW_SECTIONS}  # the same, plus this release's empty sections
    assert (data / "state.journal").read_bytes() == b""
    for name in ("inbox.json", "admin.json"):
        assert json.loads((data / name).read_bytes()) == json.loads((FIXTURE / "folded" / name).read_bytes())
    for account in snapshot["accounts"].values():
        assert account["balance"] == sum(entry["amount"] for entry in account["entries"]) >= 0


async def test_a_unit_of_work_on_top_of_an_old_directory_works_and_survives_a_restart(tmp_path: Path) -> None:
    data = old_data(tmp_path)
    storage = await JsonStorage.open(data)
    try:
        await cashier.credit(storage, 104, 500, "after:1", "admin", NOW)  # 263 of debt from the old release
        assert (await storage.ledger.balance(104), await storage.ledger.debt(104)) == (237, 0)
        job = Job(id="new1", user_id=101, chat_id=101, model_id="flux", input={"prompt": "x"}, price=95,
                  state=JobState.CREATED, created_at=NOW, updated_at=NOW, deadline_at=NOW)
        await cashier.launch(storage, job)
        with pytest.raises(InsufficientBalanceError):
            await cashier.debit(storage, 102, 181, "after:2", "admin", NOW)
    finally:
        await storage.close()
    assert set(journal_ops(data / "state.journal")) == {"apply"}

    reopened = await JsonStorage.open(data)
    try:
        assert await reopened.ledger.balance(101) == 1795 - 95
        assert await reopened.ledger.balance(104) == 237
        assert (await reopened.jobs.get("new1")) is not None
        entries = await reopened.ledger.entries(104, 100)
        assert [entry.key for entry in entries[:2]] == ["settle:after:1", "after:1"]
        for user_id in (101, 102, 103, 104):
            entries = await reopened.ledger.entries(user_id, 1000)
            assert await reopened.ledger.balance(user_id) == sum(entry.amount for entry in entries)
    finally:
        await reopened.close()


async def test_a_torn_last_line_of_an_old_journal_is_dropped(tmp_path: Path) -> None:
    data = old_data(tmp_path)
    with open(data / "state.journal", "ab") as journal:
        journal.write(b'{"op":"credit","a":[101,500,"torn","admin",{"$dt":"2026-')  # cut short by a crash
    storage = await JsonStorage.open(data)
    await storage.close()
    assert json.loads((data / "state.json").read_bytes()) == {**folded_by_old_release(), **NEW_SECTIONS}


BAD_LINES = [
    b"{not json\n",
    b'{"op":"no_such_op","a":[],"k":{}}\n',
    b'{"op":"debit","a":[102,100000,"over","admin",{"$dt":"2026-12-01T09:30:00+00:00"}],"k":{}}\n',  # overdraft
    b'{"op":"credit","a":[102,999,"admin:1","admin",{"$dt":"2026-12-01T09:30:00+00:00"}],"k":{}}\n',  # key reused
]


@pytest.mark.parametrize("bad", BAD_LINES)
async def test_a_corrupt_line_in_an_old_journal_refuses_to_start_naming_it(tmp_path: Path, bad: bytes) -> None:
    data = old_data(tmp_path)
    journal = data / "state.journal"
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(lines[:12]) + bad + b"".join(lines[12:]))
    before = {path.name: path.read_bytes() for path in data.iterdir()}

    with pytest.raises(StorageUnavailableError) as raised:
        await JsonStorage.open(data)

    message = str(raised.value)
    assert "\n" not in message and f"{journal} line 13 is corrupt" in message
    assert {path.name: path.read_bytes() for path in data.iterdir() if path.name in before} == before  # left as found


async def test_an_old_compaction_cut_short_is_finished(tmp_path: Path) -> None:
    data = old_data(tmp_path)
    (data / "state.journal").rename(data / "state.journal.compacting")  # the old release crashed mid-compaction
    storage = await JsonStorage.open(data)
    await storage.close()
    assert not (data / "state.journal.compacting").exists()
    assert json.loads((data / "state.json").read_bytes()) == {**folded_by_old_release(), **NEW_SECTIONS}


async def test_the_fold_child_process_replays_old_lines(tmp_path: Path) -> None:
    data = old_data(tmp_path)
    (data / "state.journal").rename(data / "state.journal.compacting")
    files = json_journal.Files(data / "state.json", "balances")
    await fold_in_child(files, State.parse, State.empty)
    await asyncio.to_thread(json_journal.install_next, files)
    assert json.loads((data / "state.json").read_bytes()) == {**folded_by_old_release(), **NEW_SECTIONS}


def test_fold_json_leaves_no_journal_so_an_older_release_can_read_the_directory(tmp_path: Path) -> None:
    data = old_data(tmp_path)

    async def write_with_this_release() -> None:
        storage = await JsonStorage.open(data)
        await storage.close()  # recovery folded the old journal; what follows is this release's
        storage = await JsonStorage.open(data)
        try:
            await cashier.credit(storage, 104, 500, "after:1", "admin", NOW)
        finally:
            await storage.close()

    asyncio.run(write_with_this_release())
    assert set(journal_ops(data / "state.journal")) == {"apply"}  # lines the old release cannot replay

    status, line = fold_json.run({"DATA_DIR": str(data)})

    assert status == 0, line
    assert all((data / name).read_bytes() == b"" for name in fold_json.JOURNALS)
    snapshot = json.loads((data / "state.json").read_bytes())
    assert snapshot["accounts"]["104"]["balance"] == 237 and snapshot["accounts"]["104"]["debt"] == 0


def test_fold_json_refuses_while_the_directory_is_in_use(tmp_path: Path) -> None:
    data = old_data(tmp_path)

    async def fold_while_open() -> tuple[int, str]:
        storage = await JsonStorage.open(data)
        try:
            return await asyncio.to_thread(fold_json.run, {"DATA_DIR": str(data)})
        finally:
            await storage.close()

    status, line = asyncio.run(fold_while_open())
    assert status == 1 and line.startswith("fold_json: ") and "\n" not in line
    assert fold_json.run({"DATA_DIR": str(tmp_path / "missing")})[0] == 1
