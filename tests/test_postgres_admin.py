"""The PostgreSQL admin roles beyond the contract suite: races between processes (two pools on one database),
the schema of migration 0003, and the per-test emptying of its tables. Every test is bounded in time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import asyncpg
import pytest

from adapters.storage.postgres import PostgresStorage
from ports.admin import AuditEntry, Broadcast, BroadcastState, Overrides
from tests import pg

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
ADMIN_TABLES = {"runtime_settings", "disabled_models", "broadcasts", "audit_log"}


@pytest.fixture
async def storage() -> AsyncIterator[PostgresStorage]:
    async with pg.open_pg() as opened:
        yield opened


async def test_two_processes_confirming_at_once_start_the_broadcast_once(storage: PostgresStorage) -> None:
    async with asyncio.timeout(30):
        await storage.broadcasts.create(Broadcast(id="b1", admin_id=1, text="hi", created_at=NOW))
        other = await pg.open_storage()
        try:
            results = await asyncio.gather(
                *(
                    process.broadcasts.start("b1", NOW + timedelta(seconds=n))
                    for n in range(6)
                    for process in (storage, other)
                )
            )
        finally:
            await other.close()

    assert len([result for result in results if result is not None]) == 1


async def test_a_batch_counted_by_two_processes_is_counted_once(storage: PostgresStorage) -> None:
    async with asyncio.timeout(30):
        await storage.broadcasts.create(Broadcast(id="b1", admin_id=1, text="hi", created_at=NOW))
        await storage.broadcasts.start("b1", NOW)
        other = await pg.open_storage()
        try:
            await asyncio.gather(
                *(process.broadcasts.advance("b1", 100, 30, 1, 2, NOW) for process in (storage, other, storage))
            )
        finally:
            await other.close()
        stored = await storage.broadcasts.get("b1")

    assert (stored.cursor, stored.delivered, stored.failed, stored.blocked) == (100, 30, 1, 2)


async def test_the_schema_refuses_what_the_roles_never_write(storage: PostgresStorage) -> None:
    async with asyncio.timeout(30), storage.pool.acquire() as conn:
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute("INSERT INTO runtime_settings (id, markup) VALUES (TRUE, 0)")
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute("INSERT INTO runtime_settings (id, markup) VALUES (FALSE, 2)")  # a second row
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                "INSERT INTO broadcasts (id, admin_id, text, state, created_at) VALUES ('x', 1, 't', 'sent', now())"
            )
        markup = await conn.fetchval("SELECT '2.350'::numeric")
    assert str(markup) == "2.350"  # what the unconstrained NUMERIC column gives back: the digits kept


async def test_the_admin_tables_are_emptied_before_each_test(storage: PostgresStorage) -> None:
    async with asyncio.timeout(30):
        await storage.runtime.set_markup(Decimal("2"))
        await storage.runtime.set_model_enabled("veo3", False)
        await storage.audit.record(AuditEntry(at=NOW, actor=1, action="markup"))
        await storage.broadcasts.create(Broadcast(id="b1", admin_id=1, text="hi", created_at=NOW))

        async with pg.open_pg() as emptied:
            assert await emptied.runtime.overrides() == Overrides()
            assert await emptied.audit.recent() == []
            assert await emptied.broadcasts.get("b1") is None
            async with emptied.pool.acquire() as conn:
                tables = {row["tablename"] for row in await conn.fetch("SELECT tablename FROM pg_tables")}
    assert tables >= ADMIN_TABLES


async def test_an_audit_actor_written_as_text_reads_back_as_the_admin_id(storage: PostgresStorage) -> None:
    async with asyncio.timeout(30):
        await storage.audit.record(AuditEntry(at=NOW, actor=-100123, action="broadcast", details={"id": "b1"}))
        async with storage.pool.acquire() as conn:
            actor = await conn.fetchval("SELECT actor FROM audit_log")
        [entry] = await storage.audit.recent()

    assert actor == "-100123" and entry.actor == -100123
    assert entry.details == {"id": "b1"} and entry.at == NOW


async def test_finish_keeps_the_first_of_two_racing_ends(storage: PostgresStorage) -> None:
    async with asyncio.timeout(30):
        await storage.broadcasts.create(Broadcast(id="b1", admin_id=1, text="hi", created_at=NOW))
        await storage.broadcasts.start("b1", NOW)
        done_at, cancelled_at, late_at = NOW, NOW + timedelta(seconds=1), NOW + timedelta(seconds=2)
        await asyncio.gather(
            storage.broadcasts.finish("b1", BroadcastState.DONE, done_at),
            storage.broadcasts.finish("b1", BroadcastState.CANCELLED, cancelled_at),
        )
        first = await storage.broadcasts.get("b1")
        await storage.broadcasts.finish("b1", BroadcastState.CANCELLED if first.state is BroadcastState.DONE
                                        else BroadcastState.DONE, late_at)  # a third end, after the race
        stored = await storage.broadcasts.get("b1")

    # One end won, whole (state and time from the same call), and no later end changes it: without the
    # "only from draft/sending" guard the second racer, and surely the third end, would overwrite it.
    assert (first.state, first.updated_at) in {(BroadcastState.DONE, done_at), (BroadcastState.CANCELLED, cancelled_at)}
    assert (stored.state, stored.updated_at) == (first.state, first.updated_at)
    assert await storage.broadcasts.sending() == []
