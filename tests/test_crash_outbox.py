"""Crash at any point of a money handler, restart on the same storage: exactly one money movement, the receipt or
notice delivered at least once, the audit entry present, every ledger equal to its balance. On JSON and PostgreSQL.

A crash is injected as an exception nothing catches (``Crash``, a BaseException), raised right after the n-th
storage call (a role method or a unit of work's commit) of the step under test, for n = 1, 2, ... until the step
completes without one: so after every step of the handler, after the commit that stores the replies and before
they are sent, and after each is marked sent. The "process" is then dropped (its tasks end, the JSON files are
closed as a killed process leaves them: every change was durable before it returned), a new one is built on the
same storage, and it finishes what was left: the inbox's pending updates, the outbox, the unfinished jobs.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import itertools
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Callable

import pytest

from adapters.storage.json_storage import JsonStorage
from adapters.system.clock import VirtualClock
from adapters.system.files import LocalFileReader
from adapters.telegram.updates import parse_update, update_chat_id
from core import cashier
from core.handlers.referral import code_for
from entrypoints.dispatcher import Dispatcher
from entrypoints.settings import load_settings
from entrypoints.smoke_checks import callback_update, message_update
from entrypoints import wiring
from entrypoints.wiring import build_app
from ports.billing import ManualTopup
from ports.effects import EditScreen, SendScreen
from ports.storage import Draft, JobState
from tests.pg import open_pg

USER, FRIEND, ADMIN = 8101, 8102, 9101
MAX_STEPS = 60
armed: contextvars.ContextVar[bool] = contextvars.ContextVar("armed", default=False)


class Crash(BaseException):
    """The process dies here (nothing in the bot catches a BaseException)."""


@dataclass
class Injector:
    """Counts the storage calls made while armed; raises Crash right after the ``crash_after``-th."""

    crash_after: int | None = None
    calls: list[str] = field(default_factory=list)
    jobs: bool = False  # count the job runner's calls (its tasks are named job-<id>), else all the others

    def step(self, name: str) -> None:
        task = asyncio.current_task()  # tasks started while armed inherit it (contextvars)
        if not armed.get() or task is None or task.get_name().startswith("job-") != self.jobs:
            return
        self.calls.append(name)
        if self.crash_after is not None and len(self.calls) == self.crash_after:
            raise Crash(name)


class _Counted:
    def __init__(self, target: Any, name: str, injector: Injector) -> None:
        self._target, self._name, self._injector = target, name, injector

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._target, attr)
        if not callable(value) or attr.startswith("_"):
            return value
        name = f"{self._name}.{attr}"
        injector = self._injector

        def call(*args: Any, **kwargs: Any) -> Any:
            result = value(*args, **kwargs)
            if asyncio.iscoroutine(result):
                async def counted() -> Any:
                    out = await result
                    injector.step(name)
                    return out
                return counted()
            if attr == "unit_of_work":
                return _CountedUnit(result, injector)
            return result

        return call


class _CountedUnit:
    def __init__(self, unit: Any, injector: Injector) -> None:
        self._unit, self._injector = unit, injector

    async def __aenter__(self) -> Any:
        inner = await self._unit.__aenter__()
        outer = self

        class Unit:
            def __getattr__(self, attr: str) -> Any:
                return getattr(inner, attr)

            async def commit(self) -> None:
                await inner.commit()
                outer._injector.step("uow.commit")

        return Unit()

    async def __aexit__(self, *exc_info: Any) -> Any:
        return await self._unit.__aexit__(*exc_info)


class CountedStorage:
    """The storage with every role's and unit's calls counted by ``injector``."""

    def __init__(self, storage: Any, injector: Injector) -> None:
        self._storage, self._injector = storage, injector

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._storage, attr)
        if attr == "unit_of_work":
            return _Counted(self._storage, "storage", self._injector).__getattr__(attr)
        if attr.startswith("_") or callable(value):
            return value
        return _Counted(value, attr, self._injector)


class Telegram:
    """What users received, across restarts (Telegram outlives the bot)."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    async def apply(self, effects: Any) -> None:
        self.sent.extend(effects)

    def texts(self, chat_id: int) -> list[str]:
        return [e.screen.text for e in self.sent if isinstance(e, (SendScreen, EditScreen)) and e.chat_id == chat_id]


# --- storages -------------------------------------------------------------------------------------


@dataclass
class Backend:
    open: Callable[[], Any]  # () -> async context manager of a storage living across restarts
    restart: Callable[[Any], Any]  # storage -> the storage a new process opens


@asynccontextmanager
async def json_backend(tmp_path) -> AsyncIterator[Any]:
    path = tmp_path / f"data-{next(_runs)}"
    holder = {"storage": await JsonStorage.open(path)}

    async def restart(storage: Any) -> Any:
        await storage.close()  # a killed process leaves its files as they are; its flock goes with it
        holder["storage"] = await JsonStorage.open(path)
        return holder["storage"]

    try:
        yield holder["storage"], restart
    finally:
        await holder["storage"].close()


@asynccontextmanager
async def pg_backend(tmp_path) -> AsyncIterator[Any]:
    async with open_pg(tmp_path) as storage:
        async def restart(same: Any) -> Any:
            return same  # the database outlives the process; a dead process's transaction is rolled back

        yield storage, restart


_runs = itertools.count()
BACKENDS = {"json": json_backend, "postgres": pg_backend}


@pytest.fixture(params=["json", pytest.param("postgres", marks=pytest.mark.slow)])
def backend(request):
    return BACKENDS[request.param]


@pytest.fixture(autouse=True)
def catalog_read_once(monkeypatch):
    """Every run builds the app twice; the catalog files are the same each time (0.75 s to parse)."""
    monkeypatch.setattr(wiring, "load_catalog_files", functools.cache(wiring.load_catalog_files))


# --- one process ----------------------------------------------------------------------------------


SETTINGS = dict(ADMIN_ID=str(ADMIN), MANUAL_TOPUP_AMOUNTS="500", WELCOME_BALANCE="10", FREE_DAILY_LIMIT=0,
                REFERRAL_BONUS_INVITER="50", REFERRAL_BONUS_INVITEE="25")


@asynccontextmanager
async def process(tmp_path, storage: Any, telegram: Telegram, clock: VirtualClock, injector: Injector):
    config = load_settings({}, DATA_DIR=tmp_path / "files", **SETTINGS)
    counted = CountedStorage(storage, injector)
    async with build_app(config, messenger=telegram, media=LocalFileReader(), clock=clock, storage=counted) as app:
        dispatcher = Dispatcher(inbox=counted.inbox, users=counted.users, core=app.core, parse=parse_update,
                                chat_of=update_chat_id, clock=clock)
        await dispatcher.start()
        try:
            yield app, dispatcher
        finally:
            await dispatcher.stop(grace=5)


async def settle(app: Any, dispatcher: Dispatcher) -> None:
    for _ in range(3):
        await dispatcher.wait_idle()
        await app.runner.wait_idle()
        await app.sender.sweep()
    await app.sender.flush()


def payment_update(user_id: int, stars: int, charge: str) -> dict[str, Any]:
    update = message_update(user_id, "")
    message = update["message"]
    del message["text"]
    message["successful_payment"] = {"currency": "XTR", "total_amount": stars, "invoice_payload": f"stars:{stars}",
                                     "telegram_payment_charge_id": charge, "provider_payment_charge_id": ""}
    return update


async def crash_run(tmp_path, backend, prepare, step, *, jobs: bool = False) -> list[str]:
    """Run ``step`` crashing after its 1st, 2nd, ... storage call, each time on a fresh storage prepared by
    ``prepare``; after each crash restart and check. Returns the calls of the run that completed."""
    for crash_after in range(1, MAX_STEPS):
        telegram, clock = Telegram(), VirtualClock(datetime(2026, 5, 1, 12, tzinfo=timezone.utc))
        async with backend(tmp_path) as (storage, restart):
            injector = Injector(jobs=jobs)
            async with process(tmp_path, storage, telegram, clock, injector) as (app, dispatcher):
                context = await prepare(app, dispatcher)
                await settle(app, dispatcher)
                injector.crash_after = crash_after
                token = armed.set(True)
                try:
                    await step(app, dispatcher, context)
                    await settle(app, dispatcher)
                except Crash:
                    pass
                finally:
                    armed.reset(token)
                crashed = len(injector.calls) >= crash_after
                await asyncio.sleep(0)
            storage = await restart(storage)
            async with process(tmp_path, storage, telegram, clock, Injector()) as (app, dispatcher):
                await settle(app, dispatcher)
                await context["check"](app, telegram, crashed, injector.calls)
        if not crashed:
            assert crash_after > 2, f"the step made too few storage calls to test: {injector.calls}"
            return injector.calls
    raise AssertionError(f"the step did not finish within {MAX_STEPS} storage calls")


async def ledgers_equal_balances(app: Any, users: tuple[int, ...]) -> None:
    for user_id in users:
        entries = await app.storage.ledger.entries(user_id, 1000)
        assert sum(entry.amount for entry in entries) == await app.storage.ledger.balance(user_id)
        assert len({entry.key for entry in entries}) == len(entries)


def keys_with(entries: Any, prefix: str) -> list[str]:
    return [entry.key for entry in entries if entry.key.startswith(prefix)]


# --- the four handlers ----------------------------------------------------------------------------


async def test_a_stars_payment_survives_a_crash_at_any_step(tmp_path, backend):
    async def prepare(app, dispatcher):
        await dispatcher.accept(message_update(FRIEND, "/start"))
        await dispatcher.wait_idle()
        await dispatcher.accept(message_update(USER, f"/start ref_{code_for(FRIEND)}"))

        async def check(app, telegram, crashed, calls):
            entries = await app.storage.ledger.entries(USER, 1000)
            assert keys_with(entries, "stars:") == ["stars:ch-1"], calls
            assert len([t for t in telegram.texts(USER) if t.startswith("✅ Оплата получена: 100 ⭐")]) >= 1, calls
            assert len([t for t in telegram.texts(USER) if t.startswith("🎉 Бонус за приглашение")]) >= 1, calls
            assert len([t for t in telegram.texts(FRIEND) if t.startswith("🎉 Ваш друг пополнил")]) >= 1, calls
            assert len(keys_with(await app.storage.ledger.entries(FRIEND, 1000), "ref:")) == 1
            assert await app.storage.ledger.balance(USER) == 1000 + 15000 + 2500
            await ledgers_equal_balances(app, (USER, FRIEND))
            assert await app.storage.outbox.depth() == 0 and await app.storage.inbox.depth() == 0

        return {"check": check}

    async def step(app, dispatcher, context):
        await dispatcher.accept(payment_update(USER, 100, "ch-1"))

    calls = await crash_run(tmp_path, backend, prepare, step)
    assert "inbox.done" in calls and "outbox.sent" in calls  # the commit and the mark were both crashed after


async def test_a_manual_top_up_approval_survives_a_crash_at_any_step(tmp_path, backend):
    async def prepare(app, dispatcher):
        await dispatcher.accept(message_update(USER, "/start"))
        await dispatcher.accept(message_update(ADMIN, "/start"))
        await dispatcher.wait_idle()
        await cashier.create_topup(app.storage, ManualTopup("tp1", USER, 50000, "file-1", "photo", app.services.clock.now()))

        async def check(app, telegram, crashed, calls):
            assert keys_with(await app.storage.ledger.entries(USER, 1000), "manual:") == ["manual:tp1"], calls
            assert len([t for t in telegram.texts(USER) if t.startswith("✅ Пополнение на 500")]) >= 1, telegram.texts(USER)
            assert any("tp1" in text for text in telegram.texts(ADMIN)), calls
            audit = [e for e in await app.storage.audit.recent(50) if e.action == "topup_approve"]
            assert len(audit) == 1 and audit[0].details["topup"] == "tp1", calls
            await ledgers_equal_balances(app, (USER, ADMIN))
            assert await app.storage.outbox.depth() == 0 and await app.storage.inbox.depth() == 0

        return {"check": check}

    async def step(app, dispatcher, context):
        await dispatcher.accept(callback_update(ADMIN, "mok:tp1", 77))

    await crash_run(tmp_path, backend, prepare, step)


def z_image_draft(app, draft_id: str, prompt: str) -> Draft:
    return Draft(draft_id, USER, USER, "z-image", app.services.clock.now(), prompt=prompt,
                 options={"aspect_ratio": "1:1"})


async def test_a_launch_survives_a_crash_at_any_step(tmp_path, backend):
    async def prepare(app, dispatcher):
        await dispatcher.accept(message_update(USER, "/start"))
        await dispatcher.wait_idle()
        await app.storage.drafts.put(z_image_draft(app, "drlaunch1", "a cat"))

        async def check(app, telegram, crashed, calls):
            entries = await app.storage.ledger.entries(USER, 1000)
            assert keys_with(entries, "launch:") == ["launch:drlaunch1"], calls
            job = await app.storage.jobs.get("drlaunch1")
            assert job is not None and job.state is JobState.DELIVERED, (calls, job)
            assert await app.storage.ledger.balance(USER) == 1000 - job.price
            await ledgers_equal_balances(app, (USER,))
            assert await app.storage.outbox.depth() == 0 and await app.storage.inbox.depth() == 0

        return {"check": check}

    async def step(app, dispatcher, context):
        await dispatcher.accept(callback_update(USER, "launch:drlaunch1", 55))

    await crash_run(tmp_path, backend, prepare, step)


async def test_a_refund_survives_a_crash_at_any_step(tmp_path, backend):
    """The job fails at the generator; the runner refunds it. Crashes are counted in the job's own task."""

    async def prepare(app, dispatcher):
        await dispatcher.accept(message_update(USER, "/start"))
        await dispatcher.wait_idle()
        await app.storage.drafts.put(z_image_draft(app, "drfail1", "please FAIL now"))

        async def check(app, telegram, crashed, calls):
            entries = await app.storage.ledger.entries(USER, 1000)
            assert keys_with(entries, "launch:") == ["launch:drfail1"], calls
            assert keys_with(entries, "refund:") == ["refund:drfail1"], calls
            job = await app.storage.jobs.get("drfail1")
            assert job.state is JobState.REFUNDED, (calls, job)
            assert any(text.startswith("❌ Не получилось") for text in telegram.texts(USER)), calls
            assert await app.storage.ledger.balance(USER) == 1000
            await ledgers_equal_balances(app, (USER,))
            assert await app.storage.outbox.depth() == 0

        return {"check": check}

    async def step(app, dispatcher, context):
        await dispatcher.accept(callback_update(USER, "launch:drfail1", 56))

    calls = await crash_run(tmp_path, backend, prepare, step, jobs=True)
    assert "jobs.refund" in calls or "uow.commit" in calls
