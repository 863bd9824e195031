"""Several instances on one PostgreSQL database, all processing (issue #17): dispatchers and job runners of
three "instances" in one test process, each with its own pool, claiming from one inbox and one jobs table.

The dispatchers here are the real ones (claims, NOTIFY, leases, the claimer) with a recording core behind
them: it notes which instance handled which update and can hold a chat's handling until the test lets go.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from functools import partial

from adapters.storage.postgres import PostgresStorage
from adapters.system.clock import SystemClock
from adapters.telegram.updates import parse_update, update_chat_id
from core.bot import Outcome
from core.rate_limit import RateLimiter
from entrypoints.cluster import Cluster, ClusterSettings
from entrypoints.dispatcher import Dispatcher
from entrypoints.smoke_checks import user_json
from tests.pg import scratch_database
from tests.waiting import eventually

_ids = itertools.count(1)


def text_update(chat: int, text: str) -> dict:
    message = {"message_id": next(_ids), "date": 0, "text": text, "chat": {"id": chat, "type": "private"},
               "from": user_json(chat)}
    return {"update_id": next(_ids), "message": message}


class NoMessenger:
    async def apply(self, effects) -> None:
        pass


@dataclass
class RecordingCore:
    """The dispatcher's view of BotCore: ``journal`` gets ("start"|"end", instance, text) per update handled;
    a chat in ``held`` waits until its event is set."""

    name: str
    journal: list[tuple[str, str, str]]
    held: dict[int, asyncio.Event] = field(default_factory=dict)
    messenger: NoMessenger = field(default_factory=NoMessenger)

    async def decide(self, event, answer_within=None) -> Outcome:
        self.journal.append(("start", self.name, event.text))
        gate = self.held.get(event.chat_id)
        if gate is not None:
            await gate.wait()
        await asyncio.sleep(0.002)  # other chats' updates interleave meanwhile
        self.journal.append(("end", self.name, event.text))
        return Outcome([], "test")

    async def carry_out(self, event, outcome, apply=None) -> None:
        pass

    def too_fast(self, event, tell=True) -> list:
        return []

    def apology(self, event) -> list:
        return []


@dataclass
class Node:
    name: str
    storage: PostgresStorage
    cluster: Cluster
    dispatcher: Dispatcher
    core: RecordingCore

    async def post(self, update: dict) -> None:
        assert await self.dispatcher.accept(update)


@asynccontextmanager
async def nodes(dsn: str, count: int, journal: list, *, first: int = 0, workers: int = 8, **cluster: float):
    settings = ClusterSettings(**{"poll_seconds": 3600.0, **cluster})  # no poll unless a test asks for one
    async with AsyncExitStack() as stack:
        started = []
        for n in range(first, first + count):
            storage = await PostgresStorage.open(dsn, migrate=False, max_size=4)
            stack.push_async_callback(storage.close)
            cluster_ = Cluster(storage, dsn, f"n{n}", settings)
            core = RecordingCore(f"n{n}", journal)
            dispatcher = Dispatcher(
                inbox=storage.inbox, users=storage.users, core=core, parse=parse_update, chat_of=update_chat_id,
                clock=SystemClock(), workers=workers, limiter=RateLimiter(burst=1000, per_second=1000.0),
                wake=cluster_.wake,
            )
            cluster_.start(dispatcher, workers, wake_job=lambda job_id: None)
            stack.push_async_callback(_stop, cluster_, dispatcher)
            await cluster_.listener.connected.wait()
            started.append(Node(f"n{n}", storage, cluster_, dispatcher, core))
        yield started


async def _stop(cluster: Cluster, dispatcher: Dispatcher) -> None:
    await cluster.stop_claiming()
    await dispatcher.stop(0)
    await cluster.release()


eventually = partial(eventually, step=0.01)


async def test_one_chats_updates_are_handled_once_each_in_order_and_one_at_a_time_across_instances():
    journal: list[tuple[str, str, str]] = []
    async with scratch_database(migrated=True) as dsn, nodes(dsn, 3, journal) as cluster:
        chats, per_chat = range(1, 7), 6
        gate = asyncio.Event()  # the first updates are held until all are stored: the rest pile up meanwhile
        for node in cluster:
            node.core.held.update({chat: gate for chat in chats})
        for step in range(per_chat):  # each chat's updates arrive at every instance in turn, as a balancer spreads them
            for chat in chats:
                await cluster[(chat + step) % 3].post(text_update(chat, f"{chat}:{step}"))
        gate.set()
        await eventually(lambda: sum(kind == "end" for kind, _, _ in journal) == len(chats) * per_chat)
        starts = Counter(text for kind, _, text in journal if kind == "start")
        assert set(starts.values()) == {1} and len(starts) == len(chats) * per_chat  # each exactly once
        for chat in chats:
            mine = [(kind, text) for kind, _, text in journal if text.startswith(f"{chat}:")]
            expected = [(kind, f"{chat}:{step}") for step in range(per_chat) for kind in ("start", "end")]
            assert mine == expected  # in order, and each one ended before the next one started
        await eventually(lambda: _inbox_empty(cluster[0]))  # every one marked done (just after its "end")


async def _inbox_empty(node: Node) -> bool:
    return await node.storage.inbox.depth() == 0


async def test_different_chats_are_handled_at_once_on_different_instances():
    journal: list[tuple[str, str, str]] = []
    async with scratch_database(migrated=True) as dsn, nodes(dsn, 3, journal, workers=1, room_per_worker=1) as cluster:
        gate = asyncio.Event()
        for node in cluster:  # every chat is held wherever it lands: each instance can take one at a time
            node.core.held.update({1: gate, 2: gate, 3: gate})
        for chat in (1, 2, 3):
            await cluster[0].post(text_update(chat, f"{chat}:0"))  # all three reach the same instance
        await eventually(lambda: sum(kind == "start" for kind, _, _ in journal) == 3)
        assert {name for kind, name, _ in journal if kind == "start"} == {"n0", "n1", "n2"}
        gate.set()
        await eventually(lambda: sum(kind == "end" for kind, _, _ in journal) == 3)


async def test_the_updates_of_an_instance_that_died_are_taken_over_in_order_once_its_sessions_are_gone():
    journal: list[tuple[str, str, str]] = []
    timing = {"inbox_lease": 30.0, "inbox_renew": 0.1, "inbox_stale": 0.3, "poll_seconds": 0.1}
    async with scratch_database(migrated=True) as dsn, nodes(dsn, 1, journal, **timing) as (a,):
        a.core.held[1] = asyncio.Event()  # never set: instance a hangs on chat 1 and then dies
        await a.post(text_update(1, "1:0"))
        await eventually(lambda: ("start", "n0", "1:0") in journal)
        await a.cluster.abandon()  # kill -9: its claim is neither renewed nor given back
        async with nodes(dsn, 1, journal, first=1, **timing) as (b,):
            await take_over_in_order(b, journal)


async def take_over_in_order(b: Node, journal: list) -> None:
    await b.post(text_update(1, "1:1"))  # the chat's next update must still wait for the first
    await eventually(lambda: ("end", "n1", "1:1") in journal)
    assert [(kind, name, text) for kind, name, text in journal if name == "n1"] == [
        ("start", "n1", "1:0"), ("end", "n1", "1:0"), ("start", "n1", "1:1"), ("end", "n1", "1:1")]
    assert b.cluster.claimer.wakes["poll"] > 0  # found by the fallback poll: a dead instance notifies nobody


async def test_an_update_stored_by_one_instance_wakes_another_through_notify_not_the_poll():
    journal: list[tuple[str, str, str]] = []
    async with scratch_database(migrated=True) as dsn, nodes(dsn, 2, journal) as (a, b):
        await a.cluster.stop_claiming()  # a only stores (as if busy): only b can process
        await a.post(text_update(5, "5:0"))
        await eventually(lambda: ("end", "n1", "5:0") in journal)
        assert b.cluster.claimer.wakes["notify"] >= 1
        assert b.cluster.claimer.wakes["poll"] == 0  # poll_seconds is an hour: NOTIFY woke it
        assert b.cluster.listener.heard >= 1
