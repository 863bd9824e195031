"""The JSON storage's admin document beyond the contract suite: ``admin.json`` is a file of its own, the audit
log keeps the newest AUDIT_CAP entries, and an unreadable file is refused rather than started empty."""

from __future__ import annotations

from core import cashier
import asyncio
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.storage import json_journal
from adapters.storage.json_admin import AUDIT_CAP, AdminDocument
from adapters.storage.json_admin_roles import ADMIN_FILE
from adapters.storage.json_state import State
from adapters.storage.json_storage import INBOX_FILE, STATE_FILE, JsonStorage
from ports.admin import AuditEntry, Broadcast, BroadcastState, Overrides
from ports.events import UserRef
from ports.storage import StorageUnavailableError

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


def entry(number: int) -> AuditEntry:
    return AuditEntry(at=NOW + timedelta(seconds=number), actor=1, action="credit", details={"n": number})


@pytest.mark.slow
async def test_the_audit_log_keeps_the_newest_ten_thousand_entries() -> None:
    assert AUDIT_CAP == 10_000
    document = AdminDocument.empty()
    for number in range(AUDIT_CAP + 5):
        document.record(entry(number))

    kept = document.recent(AUDIT_CAP + 100)

    assert len(kept) == AUDIT_CAP
    assert kept[0].details == {"n": AUDIT_CAP + 4} and kept[-1].details == {"n": 5}
    again = AdminDocument.parse(document.dump())
    assert again.recent(AUDIT_CAP + 100) == kept


async def test_an_entry_older_than_the_whole_full_log_is_dropped_at_once() -> None:
    document = AdminDocument(audit_cap=3)
    for number in (10, 11, 12, 1):
        document.record(entry(number))

    assert [item.details["n"] for item in document.recent(10)] == [12, 11, 10]


async def test_admin_changes_write_admin_json_only(tmp_path: Path) -> None:
    """All but the audit log, which is in the state document: a unit of work commits an audit entry with the
    money movement it explains (json_rows.py)."""
    async with asyncio.timeout(20):
        storage = await JsonStorage.open(tmp_path)
        await cashier.ensure_user(storage, UserRef(id=5), welcome_amount=10, now=NOW)
        await storage.audit.record(entry(1))
        state = (tmp_path / "state.journal").read_bytes()
        await storage.runtime.set_markup(Decimal("2.35"))
        await storage.runtime.set_model_enabled("veo3", False)
        await storage.broadcasts.create(Broadcast(id="b1", admin_id=1, text="hi", created_at=NOW))
        await storage.broadcasts.start("b1", NOW)
        await storage.broadcasts.advance("b1", 5, 1, 0, 0, NOW)
        await storage.close()

    assert (tmp_path / "state.journal").read_bytes() == state and not (tmp_path / STATE_FILE).exists()
    assert not (tmp_path / INBOX_FILE).exists() and (tmp_path / "inbox.journal").read_bytes() == b""
    admin = json_journal.read_durable(tmp_path / ADMIN_FILE, AdminDocument.parse, AdminDocument.empty)
    doc = json.loads(admin.dump())
    assert doc["format"] == "trt-bot-admin" and doc["version"] == 1
    assert doc["runtime"] == {"disabled_models": ["veo3"], "markup": "2.35"}
    assert doc["broadcasts"]["b1"]["state"] == "sending" and doc["broadcasts"]["b1"]["cursor"] == 5
    assert doc["audit"] == []
    assert [item.details for item in recent_in_state(tmp_path)] == [{"n": 1}]


def recent_in_state(data_dir: Path) -> list[AuditEntry]:
    state = json_journal.read_durable(data_dir / STATE_FILE, State.parse, State.empty)
    return state.audit_recent(10)


async def test_recipients_read_users_of_documents_older_than_the_blocked_field(tmp_path: Path) -> None:
    async with asyncio.timeout(20):
        storage = await JsonStorage.open(tmp_path)
        for user_id in (3, 1, 2):
            await cashier.ensure_user(storage, UserRef(id=user_id), welcome_amount=0, now=NOW)
        await storage.users.set_blocked(2, True)
        await storage.close()
        await (await JsonStorage.open(tmp_path)).close()  # recovery folds the journal into state.json
        doc = json.loads((tmp_path / STATE_FILE).read_bytes())
        del doc["users"]["1"]["blocked"]  # written before User.blocked existed
        (tmp_path / STATE_FILE).write_text(json.dumps(doc), encoding="utf-8")

        storage = await JsonStorage.open(tmp_path)
        try:
            assert await storage.broadcasts.recipients(0, 10) == [1, 3]
        finally:
            await storage.close()


async def test_an_unreadable_admin_json_is_refused_not_started_empty(tmp_path: Path) -> None:
    async with asyncio.timeout(20):
        storage = await JsonStorage.open(tmp_path)
        await storage.runtime.set_markup(Decimal("3"))
        await storage.close()
        await (await JsonStorage.open(tmp_path)).close()  # recovery folds the journal into admin.json
        (tmp_path / ADMIN_FILE).write_bytes(b'{"format": "trt-bot-admin", "version": 1, "runtime": ')

        with pytest.raises(StorageUnavailableError, match="admin.json"):
            await JsonStorage.open(tmp_path)
        (tmp_path / ADMIN_FILE).unlink()  # moved away on purpose: starts empty, the directory lock was released
        storage = await JsonStorage.open(tmp_path)
        try:
            assert await storage.runtime.overrides() == Overrides()
        finally:
            await storage.close()


@pytest.mark.parametrize(
    "content",
    [
        {"runtime": {"disabled_models": [""], "markup": None}, "broadcasts": {}, "audit": []},
        {"runtime": {"disabled_models": [], "markup": "-1"}, "broadcasts": {}, "audit": []},
        {"runtime": {"disabled_models": [], "markup": 2.35}, "broadcasts": {}, "audit": []},
        {"runtime": {"disabled_models": [], "markup": None}, "broadcasts": {"x": {"id": "y"}}, "audit": []},
        {"runtime": {"disabled_models": [], "markup": None}, "broadcasts": {}, "audit": [{"at": "now"}]},
    ],
)
def test_parse_refuses_invalid_content(content: dict) -> None:
    raw = json.dumps({"format": "trt-bot-admin", "version": 1, **content}).encode()
    with pytest.raises(ValueError):
        AdminDocument.parse(raw)


def test_a_document_round_trips_through_its_bytes() -> None:
    document = AdminDocument.empty()
    document.record(entry(1))
    document.set_markup(Decimal("2.350"))
    document.set_model_enabled("veo3", False)
    document.create_broadcast(Broadcast(id="b1", admin_id=1, text="hi", created_at=NOW))
    document.finish_broadcast("b1", BroadcastState.CANCELLED, NOW)

    again = AdminDocument.parse(document.dump())

    assert again.dump() == document.dump()
    assert str(again.overrides().markup) == "2.350"
    assert again.broadcast("b1").state is BroadcastState.CANCELLED
