"""Jobs driven by several instances on one PostgreSQL database (core/shared_job_runner.py): whichever runners
touch a job and however many times, it is submitted once and delivered once; a job whose driver died is taken
over when its lease expires; a KIE callback heard by another instance wakes the driver through NOTIFY."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from functools import partial
from pathlib import Path

import asyncpg

from adapters.kie.fake import FakeKieGateway
from adapters.storage.postgres import PostgresStorage
from adapters.storage.postgres.claims import JOBS_CHANNEL, PostgresJobLeases, PostgresWakeups
from adapters.storage.postgres.listener import PostgresListener
from adapters.system.clock import SystemClock
from adapters.system.files import LocalFileReader
from core import cashier
from core.job_leases import LeaseKeeper
from entrypoints.fake_stack import FAST_RUNNER
from entrypoints.settings import load_settings
from entrypoints.simulator_chat import SimulatedChat
from entrypoints.wiring import App, build_app
from ports.effects import SendMedia
from ports.events import UserRef
from ports.generation import TaskState
from ports.storage import Job, JobState
from tests.pg import scratch_database
from tests.waiting import eventually

USER = 4242


@asynccontextmanager
async def runners(tmp_path: Path, dsn: str, count: int, *, lease: float = 30.0, runner=FAST_RUNNER):
    """``count`` apps (each its own pool and job leases) sharing one fake generator and one chat."""
    settings = load_settings({}, DATA_DIR=tmp_path / "data", FREE_DAILY_LIMIT=0)
    clock, chat = SystemClock(), SimulatedChat(output=lambda line: None)
    gateway = FakeKieGateway(clock, tmp_path / "files", speed=40)
    async with AsyncExitStack() as stack:
        apps = []
        for n in range(count):
            storage = await PostgresStorage.open(dsn, migrate=False, max_size=4)
            stack.push_async_callback(storage.close)
            keeper = LeaseKeeper(PostgresJobLeases(storage.database, f"n{n}", lease), PostgresWakeups(storage.database),
                                 every=lease / 3)
            apps.append(await stack.enter_async_context(build_app(
                settings, messenger=chat, media=LocalFileReader(), clock=clock, gateway=gateway, storage=storage,
                runner_settings=runner, resume=False, job_leases=keeper,
            )))
        yield apps, gateway, chat


async def launch(app: App, job_id: str) -> Job:
    storage, now = app.storage, app.services.clock.now()
    await cashier.ensure_user(storage, UserRef(USER, first_name="T"), 100_000, now)
    job = Job(job_id, USER, USER, "z-image", {"prompt": "test", "aspect_ratio": "1:1"}, 80, JobState.CREATED, now, now,
              now + timedelta(minutes=5))
    stored, new = await cashier.launch(storage, job)
    assert new
    return stored


eventually = partial(eventually, timeout=20.0, step=0.02)


def pictures(chat: SimulatedChat) -> list[SendMedia]:
    return [effect for effect in chat.effects if isinstance(effect, SendMedia)]


async def states(app: App, ids: list[str]) -> set[JobState]:
    return {(await app.storage.jobs.get(job_id)).state for job_id in ids}


async def test_runners_racing_for_the_same_jobs_submit_and_deliver_each_once(tmp_path):
    async with scratch_database(migrated=True) as dsn, runners(tmp_path, dsn, 3) as (apps, gateway, chat):
        ids = [f"job{n}" for n in range(6)]
        for job_id in ids:
            await launch(apps[0], job_id)
        for _ in range(3):  # every runner tries every job, again and again, and sweeps as a leader would
            for app in apps:
                for job_id in ids:
                    app.runner.start(job_id)
                await app.runner.resume()
        await eventually(lambda: _all_delivered(apps[0], ids))
        for app in apps:
            await app.runner.wait_idle()
        assert sorted(request.job_id for request in gateway.submitted) == ids  # each submitted once
        assert len(pictures(chat)) == len(ids)
        balance = await apps[0].storage.ledger.balance(USER)
        assert balance == 100_000 - 80 * len(ids)


async def _all_delivered(app: App, ids: list[str]) -> bool:
    return await states(app, ids) == {JobState.DELIVERED}


async def test_a_job_held_by_a_dead_instance_is_taken_over_once_it_stops_renewing(tmp_path):
    async with scratch_database(migrated=True) as dsn, runners(tmp_path, dsn, 1) as ([app], gateway, chat):
        await launch(app, "orphan")
        dead = PostgresJobLeases(app.storage.database, "dead-one", lease_seconds=30)
        alive = await asyncpg.connect(dsn, server_settings={"application_name": "dead-one"})  # its LISTEN connection
        assert await dead.acquire("orphan")  # and then the process is killed: never renewed, never released
        app.runner.start("orphan")
        await app.runner.wait_idle()
        assert (await app.storage.jobs.get("orphan")).state is JobState.CREATED  # not ours to drive
        await unrenewed_for(app, "orphan", seconds=20)
        assert await app.runner.resume() == 0  # its session is still there: a slow instance, not a dead one
        await alive.close()  # the process is gone, its sessions with it
        assert await app.runner.resume() == 1  # the leader's sweep takes it over
        await eventually(lambda: _all_delivered(app, ["orphan"]))
        await app.runner.wait_idle()
        assert len(gateway.submitted) == 1 and len(pictures(chat)) == 1


async def unrenewed_for(app: App, job_id: str, seconds: float) -> None:
    """As if the lease had last been renewed ``seconds`` ago."""
    async with app.storage.pool.acquire() as conn:
        await conn.execute("UPDATE jobs SET lease_until = lease_until - make_interval(secs => $2) WHERE id = $1",
                           job_id, float(seconds))


async def test_a_callback_heard_by_another_instance_wakes_the_driver_through_notify(tmp_path):
    slow = replace(FAST_RUNNER, poll_first=3600.0, poll_max=3600.0)  # the driver would not look again for an hour
    async with scratch_database(migrated=True) as dsn, runners(tmp_path, dsn, 2, runner=slow) as (apps, gateway, chat):
        driver, other = apps
        listener = PostgresListener(dsn, {JOBS_CHANNEL: driver.runner.wake})
        listening = asyncio.create_task(listener.run())
        try:
            await listener.connected.wait()
            await launch(driver, "cb")
            driver.runner.start("cb")
            job = await eventually(lambda: _with_task(driver, "cb"))
            await eventually(lambda: _task_done(gateway, job.task_id))
            assert await other.runner.on_task_event(job.task_id)  # KIE's callback reached the other instance
            await eventually(lambda: _all_delivered(driver, ["cb"]))
            assert listener.heard >= 1 and len(pictures(chat)) == 1
            await other.runner.wait_idle()
            assert len(gateway.submitted) == 1
        finally:
            listening.cancel()
            await asyncio.gather(listening, return_exceptions=True)


async def _with_task(app: App, job_id: str) -> Job | None:
    job = await app.storage.jobs.get(job_id)
    return job if job.task_id and job.state in (JobState.SUBMITTED, JobState.RUNNING) else None


async def _task_done(gateway: FakeKieGateway, task_id: str) -> bool:
    return (await gateway.status(task_id)).state is TaskState.SUCCESS
