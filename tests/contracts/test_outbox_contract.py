"""ports.outbox.Outbox, and the inbox's done-with-messages, on every storage: the same answers from JSON and
PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ports.effects import AnswerPreCheckout, EditScreen, SendScreen
from ports.outbox import RETENTION, OutboxMessage
from ports.screens import Button, Screen
from ports.storage import InboxUpdate

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)


def message(key: str, chat_id: int = 10, text: str = "hi") -> OutboxMessage:
    return OutboxMessage(key, chat_id, SendScreen(chat_id, Screen(text, ((Button("ok", "menu"),),), "s")), NOW, "cid1")


async def test_added_messages_come_back_in_order_per_chat_and_overall(storage):
    await storage.outbox.add([message("a", 10, "1"), message("b", 20, "2")])
    await storage.outbox.add([message("c", 10, "3")])
    pending = await storage.outbox.pending()
    assert [m.key for m in pending] == ["a", "b", "c"]
    assert [m.seq for m in pending] == sorted(m.seq for m in pending) and pending[0].seq > 0
    assert [m.effect.screen.text for m in await storage.outbox.pending(chat_id=10)] == ["1", "3"]
    first = pending[0]
    assert (first.chat_id, first.cid, first.created_at, first.attempts, first.next_attempt_at) == (10, "cid1", NOW, 0, None)
    assert first.effect == message("a", 10, "1").effect
    assert await storage.outbox.depth() == 3
    assert [m.key for m in await storage.outbox.pending(limit=1)] == ["a"]


async def test_a_key_is_stored_once_pending_or_sent_within_a_day(storage):
    await storage.outbox.add([message("receipt:1", text="first")])
    await storage.outbox.add([message("receipt:1", text="again")])
    assert [m.effect.screen.text for m in await storage.outbox.pending()] == ["first"]
    await storage.outbox.sent(["receipt:1"], NOW)
    await storage.outbox.add([message("receipt:1", text="after sending")])
    assert await storage.outbox.pending() == [] and await storage.outbox.depth() == 0


async def test_sent_is_idempotent_and_leaves_the_others(storage):
    await storage.outbox.add([message("a"), message("b"), message("c")])
    await storage.outbox.sent(["a", "c"], NOW)
    await storage.outbox.sent(["a", "unknown"], NOW)
    assert [m.key for m in await storage.outbox.pending()] == ["b"]


async def test_a_retry_is_counted_and_scheduled(storage):
    await storage.outbox.add([message("a")])
    later = NOW + timedelta(seconds=4)
    await storage.outbox.retry_later("a", 1, later)
    [pending] = await storage.outbox.pending()
    assert (pending.attempts, pending.next_attempt_at) == (1, later)


async def test_dropping_a_chat_gives_up_its_messages_only(storage):
    await storage.outbox.add([message("a", 10), message("b", 20), message("c", 10)])
    assert await storage.outbox.drop_chat(10, NOW) == 2
    assert [m.key for m in await storage.outbox.pending()] == ["b"]
    await storage.outbox.add([message("a", 10)])  # given up is remembered like sent
    assert await storage.outbox.depth() == 1


async def test_done_with_messages_marks_the_update_and_stores_them_together(storage):
    update = InboxUpdate(501, {"update_id": 501}, NOW, 10, "c")
    assert await storage.inbox.put(update)
    edit = EditScreen(10, 5, Screen("edited"))
    await storage.inbox.done(501, NOW, [message("u501:0"), OutboxMessage("u501:1", 10, edit, NOW)])
    assert await storage.inbox.pending() == [] and await storage.inbox.depth() == 0
    assert [m.effect for m in await storage.outbox.pending()] == [message("u501:0").effect, edit]
    await storage.inbox.done(501, NOW, [message("u501:0")])  # a repeat changes nothing
    assert await storage.outbox.depth() == 2
    assert not await storage.inbox.put(update)  # still remembered for deduplication


async def test_a_message_that_cannot_be_stored_is_refused_and_nothing_changes(storage):
    update = InboxUpdate(502, {"update_id": 502}, NOW, 10, "c")
    await storage.inbox.put(update)
    naive = OutboxMessage("x", 10, SendScreen(10, Screen("x")), NOW.replace(tzinfo=None))
    with pytest.raises((TypeError, ValueError)):
        await storage.inbox.done(502, NOW, [message("ok"), naive])
    assert [u.update_id for u in await storage.inbox.pending()] == [502]
    assert await storage.outbox.depth() == 0


async def test_every_effect_type_survives_storage(storage):
    from tests.test_effect_codec import EVERY_EFFECT

    stored = [e for e in EVERY_EFFECT if not isinstance(e, AnswerPreCheckout) and hasattr(e, "chat_id")]
    await storage.outbox.add([OutboxMessage(f"k{i}", e.chat_id, e, NOW) for i, e in enumerate(stored)])
    assert [m.effect for m in await storage.outbox.pending()] == stored


def test_retention_is_a_day():
    assert RETENTION == timedelta(hours=24)


async def test_done_marks_earlier_messages_sent_in_the_same_change(storage):
    await storage.outbox.add([message("u1:0"), message("u1:1")])
    await storage.inbox.put(InboxUpdate(503, {"update_id": 503}, NOW, 10, "c"))
    await storage.inbox.done(503, NOW, [message("u503:0")], sent=["u1:0", "u1:1"])
    assert [m.key for m in await storage.outbox.pending()] == ["u503:0"] and await storage.inbox.depth() == 0
    await storage.inbox.done(504, NOW, (), sent=["u503:0"])  # marks alone (an update never stored: no-op for it)
    assert await storage.outbox.depth() == 0
