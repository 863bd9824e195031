"""The outbox's drainer: one chat's messages in order, retries with backoff, a blocked recipient's messages
dropped, and what a crash left behind sent after restart."""

from __future__ import annotations

from datetime import timedelta

from adapters.storage.json_storage import JsonStorage
from core import cashier
from adapters.system.clock import VirtualClock
from entrypoints.outbox_sender import OutboxSender
from ports.effects import MessengerUnavailableError, RecipientBlockedError, SendScreen
from ports.events import UserRef
from ports.outbox import OutboxMessage
from ports.screens import Screen
from ports.storage import InboxUpdate


class ScriptedMessenger:
    """Records what it sends; ``fail[text]`` is raised (once per listed error) when that text is sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []
        self.fail: dict[str, list[Exception]] = {}

    async def apply(self, effects):
        for effect in effects:
            errors = self.fail.get(effect.screen.text)
            if errors:
                raise errors.pop(0)
            self.sent.append((effect.chat_id, effect.screen.text))


def note(key: str, chat_id: int, text: str, clock: VirtualClock) -> OutboxMessage:
    return OutboxMessage(key, chat_id, SendScreen(chat_id, Screen(text)), clock.now())


async def open_sender(tmp_path, clock, messenger, **options):
    storage = await JsonStorage.open(tmp_path / "data")
    return storage, OutboxSender(storage.outbox, messenger, storage.users, clock, **options)


async def test_each_chats_messages_go_out_in_the_order_stored(tmp_path):
    clock, messenger = VirtualClock(), ScriptedMessenger()
    storage, sender = await open_sender(tmp_path, clock, messenger)
    try:
        messages = [note(f"k{i}", 10 + i % 2, f"m{i}", clock) for i in range(6)]
        await storage.outbox.add(messages)
        await sender.send_now(messages)
        assert [text for chat, text in messenger.sent if chat == 10] == ["m0", "m2", "m4"]
        assert [text for chat, text in messenger.sent if chat == 11] == ["m1", "m3", "m5"]
        assert await storage.outbox.depth() == 6  # sent, marked with the next commit or sweep
        assert sorted(sender.take_marks()) == sorted(m.key for m in messages)
        await sender.send_now(messages)  # handed again (a sweep raced it): this process sends a key once
        await sender.sweep()  # the marks were taken by a commit that failed: nothing is sent again either
        assert len(messenger.sent) == 6
    finally:
        await storage.close()


async def test_an_unavailable_messenger_puts_the_chat_off_with_backoff_and_keeps_its_order(tmp_path):
    clock, messenger = VirtualClock(), ScriptedMessenger()
    storage, sender = await open_sender(tmp_path, clock, messenger, backoff_first=2.0)
    try:
        await sender.sweep()
        messenger.fail["a1"] = [MessengerUnavailableError("502"), MessengerUnavailableError("502")]
        messages = [note("a1", 10, "a1", clock), note("b1", 20, "b1", clock), note("a2", 10, "a2", clock)]
        await storage.outbox.add(messages)
        await sender.send_now(messages)
        assert messenger.sent == [(20, "b1")]  # the other chat is not held up
        await sender.flush()
        [first, second] = await storage.outbox.pending()
        assert (first.key, first.attempts, first.next_attempt_at) == ("a1", 1, clock.now() + timedelta(seconds=2))
        assert second.key == "a2"
        await sender.sweep()  # not due yet: nothing is tried
        assert messenger.sent == [(20, "b1")]
        clock.advance(2)
        await sender.sweep()  # fails again: the wait doubles
        [first, _] = await storage.outbox.pending()
        assert (first.attempts, first.next_attempt_at) == (2, clock.now() + timedelta(seconds=4))
        later = [note("a3", 10, "a3", clock)]
        await storage.outbox.add(later)
        await sender.send_now(later)  # a new message waits behind the chat's older ones
        assert messenger.sent == [(20, "b1")]
        clock.advance(4)
        await sender.sweep()
        assert messenger.sent == [(20, "b1"), (10, "a1"), (10, "a2"), (10, "a3")]
        await sender.flush()
        assert await storage.outbox.depth() == 0 and sender.retried == 2
    finally:
        await storage.close()


async def test_a_blocked_recipient_is_marked_and_its_waiting_messages_dropped(tmp_path):
    clock, messenger = VirtualClock(), ScriptedMessenger()
    storage, sender = await open_sender(tmp_path, clock, messenger)
    try:
        await cashier.ensure_user(storage, UserRef(10), 0, clock.now())
        messenger.fail["a1"] = [RecipientBlockedError("blocked", chat_id=10)]
        messages = [note("a1", 10, "a1", clock), note("a2", 10, "a2", clock), note("b1", 20, "b1", clock)]
        await storage.outbox.add(messages)
        await sender.send_now(messages)
        assert messenger.sent == [(20, "b1")]
        assert (await storage.users.get(10)).blocked
        await sender.flush()
        assert await storage.outbox.depth() == 0
    finally:
        await storage.close()


async def test_a_message_that_keeps_failing_for_a_bug_is_given_up_so_the_chat_goes_on(tmp_path):
    clock, messenger = VirtualClock(), ScriptedMessenger()
    storage, sender = await open_sender(tmp_path, clock, messenger, max_attempts=2, backoff_first=1.0)
    try:
        messenger.fail["bad"] = [RuntimeError("bug"), RuntimeError("bug")]
        await storage.outbox.add([note("bad", 10, "bad", clock), note("good", 10, "good", clock)])
        await sender.sweep()
        clock.advance(1)
        await sender.sweep()
        await sender.flush()
        assert messenger.sent == [(10, "good")] and await storage.outbox.depth() == 0
    finally:
        await storage.close()


async def test_what_a_crash_left_committed_but_unsent_goes_out_after_restart_once(tmp_path):
    clock, messenger = VirtualClock(), ScriptedMessenger()
    storage = await JsonStorage.open(tmp_path / "data")
    await storage.inbox.put(InboxUpdate(1, {"update_id": 1}, clock.now(), 10))
    await storage.inbox.done(1, clock.now(), [note("u1:0", 10, "receipt", clock)])
    await storage.close()  # the process stops before sending
    storage, sender = await open_sender(tmp_path, clock, messenger)
    try:
        await sender.sweep()
        await sender.sweep()
        assert messenger.sent == [(10, "receipt")]
    finally:
        await storage.close()


async def test_messages_handed_over_after_a_sweep_are_sent_without_reading_the_outbox(tmp_path):
    clock, messenger = VirtualClock(), ScriptedMessenger()
    storage, sender = await open_sender(tmp_path, clock, messenger)
    reads = []
    pending = storage.outbox.pending

    async def counted(*args, **kwargs):
        reads.append(args)
        return await pending(*args, **kwargs)

    storage.outbox.pending = counted
    try:
        await sender.sweep()
        messages = [note("x", 10, "x", clock)]
        await storage.outbox.add(messages)
        await sender.send_now(messages)
        await sender.send_now(messages)  # handed twice (a sweep raced it): sent once
        assert messenger.sent == [(10, "x")] and len(reads) == 1  # the sweep's read only
        await sender.flush()
        assert await storage.outbox.depth() == 0
    finally:
        await storage.close()


async def test_an_update_committed_to_the_state_before_a_crash_is_not_pending_after_restart(tmp_path):
    """JSON: the state file records the update as applied in the same journal line as its messages; the inbox
    file learns it later. A crash in between must not process the update again."""
    clock = VirtualClock()
    storage = await JsonStorage.open(tmp_path / "data")
    await storage.inbox.put(InboxUpdate(7, {"update_id": 7}, clock.now(), 10))
    from adapters.storage.json_outbox import message_record

    await storage._state.change("outbox_add", [message_record(note("u7:0", 10, "hi", clock))], 7, clock.now())
    await storage.close()  # before the inbox file's own done mark
    storage = await JsonStorage.open(tmp_path / "data")
    try:
        assert await storage.inbox.pending() == [] and await storage.inbox.depth() == 0
        assert [m.key for m in await storage.outbox.pending()] == ["u7:0"]
    finally:
        await storage.close()


async def test_instances_sharing_a_database_never_send_each_others_messages_twice(tmp_path):
    """Two instances on one PostgreSQL outbox: a chat's updates move between them. Each sends what it committed and
    marks it at once, the other never sends it again, and the leader's sweep takes only a retry or an orphan (a
    message older than ``orphan_after`` whose instance died after the commit)."""
    from tests import pg

    clock = VirtualClock()
    async with pg.open_pg(tmp_path) as storage:
        first_messenger, second_messenger = ScriptedMessenger(), ScriptedMessenger()
        first = OutboxSender(storage.outbox, first_messenger, storage.users, clock, shared=True, orphan_after=10)
        second = OutboxSender(storage.outbox, second_messenger, storage.users, clock, shared=True, orphan_after=10)
        one, two = note("u1:0", 10, "screen 1", clock), note("u2:0", 10, "screen 2", clock)
        await storage.outbox.add([one])
        await first.send_now([one])
        await storage.outbox.add([two])
        await second.sweep()  # the leader sweeps while "screen 2" is being handed to the second: not an orphan yet
        await second.send_now([two])
        await first.sweep()
        assert first_messenger.sent == [(10, "screen 1")] and second_messenger.sent == [(10, "screen 2")]
        assert await storage.outbox.depth() == 0  # both marked at once, nothing left for a sweep
        orphan = note("u3:0", 10, "screen 3", clock)
        await storage.outbox.add([orphan])  # committed by an instance that died before sending it
        await first.sweep()
        assert first_messenger.sent == [(10, "screen 1")]  # too fresh: its instance may still be sending it
        clock.advance(11)
        await first.sweep()
        assert first_messenger.sent == [(10, "screen 1"), (10, "screen 3")]
        assert second_messenger.sent == [(10, "screen 2")]
