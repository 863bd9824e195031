"""/health's inbox_depth is what storage holds unprocessed, read periodically (entrypoints/inbox_gauge.py),
never a count kept in memory: on JSON files and on PostgreSQL, and on a passive instance whose updates the
active one processes."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from adapters.telegram.fake_bot_api import FakeBotApi
from entrypoints.inbox_gauge import InboxGauge
from entrypoints.smoke_checks import message_update
from ports.storage import InboxUpdate, StorageUnavailableError
from tests.contracts.conftest import STORAGE_IMPLEMENTATIONS
from tests.pg import scratch_database
from tests.test_instances import USER, eventually, health, instances, post, replies

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("open_storage", [f for _, f in STORAGE_IMPLEMENTATIONS], ids=[n for n, _ in STORAGE_IMPLEMENTATIONS])
async def test_the_gauge_reads_the_pending_count_from_storage(tmp_path, open_storage):
    async with open_storage(tmp_path) as storage:
        gauge = InboxGauge(storage.inbox)
        for update_id in (1, 2, 3):
            await storage.inbox.put(InboxUpdate(update_id, {"update_id": update_id}, NOW, USER))
        assert await gauge.refresh() == 3 and gauge.value == 3
        await storage.inbox.done(2, NOW)
        await storage.inbox.done(2, NOW)  # a repeat changes nothing
        assert await gauge.refresh() == 2


async def test_a_failed_read_keeps_the_last_value_and_the_gauge_goes_on(tmp_path):
    class FlakyInbox:
        def __init__(self) -> None:
            self.answers: list[int | Exception] = [4, StorageUnavailableError("down"), 1]

        async def depth(self) -> int:
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer

    seen: list[int] = []
    gauge: InboxGauge

    async def sleep(seconds: float) -> None:
        seen.append(gauge.value)
        if len(seen) == 3:
            raise _Stop

    class _Stop(Exception):
        pass

    gauge = InboxGauge(FlakyInbox(), every=5.0, sleep=sleep)
    with pytest.raises(_Stop):
        await gauge.run()
    assert seen == [4, 4, 1]


async def test_a_worker_instance_reports_the_shared_inbox_not_what_it_stored(tmp_path):
    async with scratch_database(migrated=True) as dsn, FakeBotApi() as api:
        async with instances(tmp_path, api, 2, DATABASE_URL=dsn, INBOX_DEPTH_EVERY_S="0.05") as (first, second):
            assert (await health(second))["role"] == "worker"
            assert await post(second, message_update(USER, "/start")) == 200  # stored by the worker
            await eventually(lambda: replies(api))  # processed by whichever instance claimed it
            # The reply goes out before the row is marked done: wait for storage, not for the reply.
            await eventually(lambda: _stored_depth_is(second, 0))
            # Both read the depth from storage, not from what each took in.
            await eventually(lambda: _depth_is(second, 0))
            await eventually(lambda: _depth_is(first, 0))


async def _stored_depth_is(instance, expected: int) -> bool:
    return await instance.app.storage.inbox.depth() == expected


async def _depth_is(instance, expected: int) -> bool:
    return (await health(instance))["inbox_depth"] == expected
