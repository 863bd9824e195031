"""What every storage's admin roles must do (ports.admin): ``audit``, ``runtime`` and ``broadcasts``.

Runs once per entry of conftest.STORAGE_IMPLEMENTATIONS. Every test is bounded in time by ``bounded``.
"""

from __future__ import annotations

from core import cashier
import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.fakes import bounded

from adapters.storage.json_storage import JsonStorage
from adapters.storage.postgres import PostgresStorage
from ports.admin import AuditEntry, Broadcast, BroadcastState, Overrides
from ports.events import UserRef
from ports.storage import Storage
from tests import pg

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
ADMIN = 777

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])




def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


@asynccontextmanager
async def reopened(storage: Storage, tmp_path: Path) -> AsyncIterator[Storage]:
    """The same data through a storage opened afresh (the JSON one is closed first: one owner per directory)."""
    if isinstance(storage, JsonStorage):
        await storage.close()
        again: Storage = await JsonStorage.open(tmp_path / "json-storage")  # conftest.open_json's directory
    elif isinstance(storage, PostgresStorage):
        again = await pg.open_storage()  # another pool on the same database, not emptied
    else:
        pytest.skip(f"no way to reopen a {type(storage).__name__}")
    try:
        yield again
    finally:
        await again.close()


def entry(seconds: float, action: str = "credit", actor: int = ADMIN, **details: Any) -> AuditEntry:
    return AuditEntry(at=at(seconds), actor=actor, action=action, details=details)


def draft(broadcast_id: str = "b1", created: float = 0, text: str = "Новая модель! 🎉", **fields: Any) -> Broadcast:
    return Broadcast(id=broadcast_id, admin_id=ADMIN, text=text, created_at=at(created), **fields)


async def users(storage: Storage, *ids: int, blocked: tuple[int, ...] = ()) -> None:
    for user_id in ids:
        await cashier.ensure_user(storage, UserRef(id=user_id), welcome_amount=0, now=NOW)
    for user_id in blocked:
        await storage.users.set_blocked(user_id, True)


# --- audit log ----------------------------------------------------------------------------------


@bounded()
async def test_audit_recent_is_newest_first_and_limited(storage: Storage) -> None:
    for second in range(5):
        await storage.audit.record(entry(second, details_n=second))

    recent = await storage.audit.recent(3)

    assert [item.at for item in recent] == [at(4), at(3), at(2)]
    assert [item.at for item in await storage.audit.recent()] == [at(s) for s in (4, 3, 2, 1, 0)]
    assert await storage.audit.recent(0) == []
    assert len(await storage.audit.recent(100)) == 5


@bounded()
async def test_audit_orders_by_time_then_by_recording_order(storage: Storage) -> None:
    await storage.audit.record(entry(10, "first"))
    await storage.audit.record(entry(10, "second"))  # same moment: recorded later, listed first
    await storage.audit.record(entry(5, "late"))  # recorded last, but happened earliest

    assert [item.action for item in await storage.audit.recent()] == ["second", "first", "late"]


@bounded()
async def test_audit_details_round_trip_as_json(storage: Storage) -> None:
    details = {
        "user_id": 1001,
        "amount": 15_000,
        "note": "возврат ⭐ «ручной»",
        "ok": True,
        "nothing": None,
        "rate": 2.35,
        "models": ["flux-kontext", "veo3"],
        "nested": {"before": {"markup": "2"}, "after": {"markup": "2.35"}, "empty": {}},
    }
    original = AuditEntry(at=NOW, actor=ADMIN, action="markup", details=details)

    await storage.audit.record(original)
    [stored] = await storage.audit.recent()

    assert stored == original
    assert stored.at.utcoffset() == timedelta(0) and type(stored.actor) is int
    stored.details["nested"]["after"]["markup"] = "changed"  # a fresh copy: the store is not touched
    [again] = await storage.audit.recent()
    assert again.details == details


@bounded()
async def test_audit_refuses_what_it_cannot_store_and_records_nothing(storage: Storage) -> None:
    with pytest.raises(ValueError):
        await storage.audit.record(AuditEntry(at=datetime(2026, 1, 1), actor=ADMIN, action="credit"))  # naive
    with pytest.raises(TypeError):
        await storage.audit.record(AuditEntry(at=NOW, actor=ADMIN, action="credit", details={"at": NOW}))
    with pytest.raises(TypeError):
        await storage.audit.record(AuditEntry(at=NOW, actor="system", action="credit"))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        await storage.audit.recent(-1)

    assert await storage.audit.recent() == []


@bounded()
async def test_audit_survives_reopening(storage: Storage, tmp_path: Path) -> None:
    await storage.audit.record(entry(1, "block", user_id=5))
    await storage.audit.record(entry(2, "unblock", user_id=5))

    async with reopened(storage, tmp_path) as again:
        assert [item.action for item in await again.audit.recent()] == ["unblock", "block"]
        assert (await again.audit.recent(1))[0].details == {"user_id": 5}


# --- runtime settings ---------------------------------------------------------------------------


@bounded()
async def test_runtime_overrides_are_empty_by_default(storage: Storage) -> None:
    overrides = await storage.runtime.overrides()

    assert overrides == Overrides()
    assert overrides.disabled_models == frozenset() and overrides.markup is None


@bounded()
async def test_models_are_disabled_and_enabled_again(storage: Storage) -> None:
    await storage.runtime.set_model_enabled("veo3", False)
    await storage.runtime.set_model_enabled("flux-kontext", False)
    await storage.runtime.set_model_enabled("veo3", False)  # again: still one entry, no error
    assert (await storage.runtime.overrides()).disabled_models == {"veo3", "flux-kontext"}

    await storage.runtime.set_model_enabled("flux-kontext", True)
    await storage.runtime.set_model_enabled("never-disabled", True)  # enabling an enabled model: no-op

    overrides = await storage.runtime.overrides()
    assert overrides.disabled_models == frozenset({"veo3"})
    assert isinstance(overrides.disabled_models, frozenset)


@bounded()
async def test_markup_is_set_exactly_and_cleared(storage: Storage) -> None:
    await storage.runtime.set_markup(Decimal("2.35"))
    markup = (await storage.runtime.overrides()).markup
    assert markup == Decimal("2.35") and str(markup) == "2.35" and isinstance(markup, Decimal)

    await storage.runtime.set_markup(Decimal("2.350"))  # the digits given are the digits kept
    assert str((await storage.runtime.overrides()).markup) == "2.350"
    await storage.runtime.set_markup(Decimal("0.1"))
    assert (await storage.runtime.overrides()).markup == Decimal("0.1")

    await storage.runtime.set_markup(None)
    assert await storage.runtime.overrides() == Overrides()


@bounded()
async def test_markup_and_model_refuse_bad_values_and_change_nothing(storage: Storage) -> None:
    await storage.runtime.set_markup(Decimal("3"))

    with pytest.raises(TypeError):
        await storage.runtime.set_markup(2.35)  # type: ignore[arg-type]  # a float is not exact
    for bad in (Decimal("0"), Decimal("-1"), Decimal("NaN"), Decimal("Infinity")):
        with pytest.raises(ValueError):
            await storage.runtime.set_markup(bad)
    with pytest.raises(ValueError):
        await storage.runtime.set_model_enabled("", False)
    with pytest.raises(TypeError):
        await storage.runtime.set_model_enabled("veo3", 0)  # type: ignore[arg-type]

    assert await storage.runtime.overrides() == Overrides(markup=Decimal("3"))


@bounded()
async def test_runtime_overrides_survive_reopening(storage: Storage, tmp_path: Path) -> None:
    await storage.runtime.set_markup(Decimal("2.35"))
    await storage.runtime.set_model_enabled("veo3", False)

    async with reopened(storage, tmp_path) as again:
        overrides = await again.runtime.overrides()

    assert overrides == Overrides(disabled_models=frozenset({"veo3"}), markup=Decimal("2.35"))
    assert str(overrides.markup) == "2.35"


# --- broadcasts ---------------------------------------------------------------------------------


@bounded()
async def test_a_broadcast_is_created_as_a_draft(storage: Storage) -> None:
    created = draft(photo_file_id="AgACAgIAAxkBAAIB")

    await storage.broadcasts.create(created)

    stored = await storage.broadcasts.get("b1")
    assert stored == created
    assert stored.state is BroadcastState.DRAFT and (stored.cursor, stored.delivered) == (0, 0)
    assert stored.updated_at is None and stored.created_at == NOW
    assert await storage.broadcasts.get("unknown") is None
    assert await storage.broadcasts.sending() == []


@bounded()
async def test_creating_an_existing_broadcast_again_changes_nothing(storage: Storage) -> None:
    await storage.broadcasts.create(draft(text="first"))
    await storage.broadcasts.create(draft(text="second"))

    assert (await storage.broadcasts.get("b1")).text == "first"


@bounded()
async def test_start_moves_a_draft_to_sending_once(storage: Storage) -> None:
    await storage.broadcasts.create(draft())

    started = await storage.broadcasts.start("b1", at(30))
    again = await storage.broadcasts.start("b1", at(31))

    assert started == replace(draft(), state=BroadcastState.SENDING, updated_at=at(30))
    assert again is None
    assert await storage.broadcasts.get("b1") == started
    assert await storage.broadcasts.start("unknown", at(32)) is None


@bounded()
async def test_racing_confirms_start_a_broadcast_exactly_once(storage: Storage) -> None:
    await storage.broadcasts.create(draft())

    results = await asyncio.gather(*(storage.broadcasts.start("b1", at(second)) for second in range(8)))

    [winner] = [result for result in results if result is not None]
    assert winner.state is BroadcastState.SENDING
    assert await storage.broadcasts.get("b1") == winner


@bounded()
async def test_recipients_skip_blocked_users_and_respect_after_and_limit(storage: Storage) -> None:
    await users(storage, 50, 10, 40, 30, 20, 10**12, blocked=(30, 40))

    assert await storage.broadcasts.recipients(0, 100) == [10, 20, 50, 10**12]
    assert await storage.broadcasts.recipients(0, 2) == [10, 20]
    assert await storage.broadcasts.recipients(20, 100) == [50, 10**12]
    assert await storage.broadcasts.recipients(10, 1) == [20]
    assert await storage.broadcasts.recipients(10**12, 100) == []
    assert await storage.broadcasts.recipients(0, 0) == []

    await storage.users.set_blocked(40, False)  # came back
    assert await storage.broadcasts.recipients(20, 100) == [40, 50, 10**12]
    with pytest.raises(ValueError):
        await storage.broadcasts.recipients(0, -1)


@bounded()
async def test_recipients_of_a_store_without_users_are_none(storage: Storage) -> None:
    assert await storage.broadcasts.recipients(0, 100) == []


@bounded()
async def test_advance_moves_the_cursor_and_accumulates_the_counts(storage: Storage) -> None:
    await storage.broadcasts.create(draft())
    await storage.broadcasts.start("b1", at(1))

    await storage.broadcasts.advance("b1", cursor=20, delivered=2, failed=0, blocked=0, now=at(2))
    await storage.broadcasts.advance("b1", cursor=50, delivered=1, failed=1, blocked=1, now=at(3))

    stored = await storage.broadcasts.get("b1")
    assert (stored.cursor, stored.delivered, stored.failed, stored.blocked) == (50, 3, 1, 1)
    assert stored.updated_at == at(3) and stored.state is BroadcastState.SENDING

    await storage.broadcasts.advance("b1", cursor=50, delivered=1, failed=1, blocked=1, now=at(4))  # a repeat
    assert await storage.broadcasts.get("b1") == stored
    with pytest.raises(ValueError):
        await storage.broadcasts.advance("b1", cursor=60, delivered=-1, failed=0, blocked=0, now=at(5))
    assert await storage.broadcasts.get("b1") == stored
    await storage.broadcasts.advance("unknown", cursor=60, delivered=1, failed=0, blocked=0, now=at(5))  # no-op


@bounded()
async def test_finish_ends_a_broadcast_once(storage: Storage) -> None:
    await storage.broadcasts.create(draft("b1"))
    await storage.broadcasts.create(draft("b2"))
    await storage.broadcasts.start("b1", at(1))

    await storage.broadcasts.finish("b1", BroadcastState.DONE, at(10))
    await storage.broadcasts.finish("b2", BroadcastState.CANCELLED, at(11))  # a draft the admin dropped
    await storage.broadcasts.finish("b1", BroadcastState.CANCELLED, at(12))  # too late: it stays done

    done, cancelled = await storage.broadcasts.get("b1"), await storage.broadcasts.get("b2")
    assert (done.state, done.updated_at) == (BroadcastState.DONE, at(10))
    assert (cancelled.state, cancelled.updated_at) == (BroadcastState.CANCELLED, at(11))
    assert await storage.broadcasts.start("b2", at(13)) is None  # a cancelled draft never starts
    with pytest.raises(ValueError):
        await storage.broadcasts.finish("b1", BroadcastState.SENDING, at(14))


@bounded()
async def test_sending_lists_only_the_broadcasts_being_sent(storage: Storage) -> None:
    for number in (1, 2, 3, 4):
        await storage.broadcasts.create(draft(f"b{number}", created=-number))  # b4 is the oldest
    for broadcast_id in ("b1", "b3", "b4"):
        await storage.broadcasts.start(broadcast_id, at(1))
    await storage.broadcasts.finish("b4", BroadcastState.DONE, at(2))

    assert [item.id for item in await storage.broadcasts.sending()] == ["b3", "b1"]  # oldest first
    assert all(item.state is BroadcastState.SENDING for item in await storage.broadcasts.sending())


@bounded()
async def test_a_broadcast_in_progress_survives_reopening(storage: Storage, tmp_path: Path) -> None:
    await storage.broadcasts.create(draft())
    await storage.broadcasts.start("b1", at(1))
    await storage.broadcasts.advance("b1", cursor=42, delivered=5, failed=1, blocked=2, now=at(2))
    before = await storage.broadcasts.get("b1")

    async with reopened(storage, tmp_path) as again:
        assert await again.broadcasts.sending() == [before]
        assert before.cursor == 42 and before.delivered == 5
