"""Several instances of the bot: one active, the others passive, through a deploy overlap, a graceful
stop and a kill -9. PostgreSQL tests use a throwaway database of their own."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
import time
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from adapters.kie.fake_server import FakeKieServer
from adapters.storage.postgres import PostgresStorage
from adapters.telegram.fake_bot_api import FakeBotApi
from entrypoints.fake_stack import FAST_RUNNER, SECRET_PATH, SECRET_TOKEN, server_settings
from entrypoints.server import make_bot, make_instance
from entrypoints.smoke_checks import callback_update, message_update, post_update
from ports.storage import InboxUpdate, JobState
from tests.pg import scratch_database
from tests.waiting import eventually

pytestmark = pytest.mark.slow  # real processes, terminals or long journeys: not in the fast tier

ROOT = Path(__file__).resolve().parents[1]
USER = 31337




def screens_shown(api: FakeBotApi) -> int:
    return len(api.calls("sendMessage")) + len(api.calls("editMessageText"))


def replies(api: FakeBotApi, user: int = USER) -> list:
    return [m for m in api.messages(user) if m.from_bot]


@asynccontextmanager
async def instances(tmp_path: Path, api: FakeBotApi, count: int, **env: str):
    """``count`` instances of one bot on one Bot API; each with its own port, started in order."""
    async with AsyncExitStack() as stack:
        started = []
        for n in range(count):
            settings = server_settings(tmp_path / f"i{n}", api, INSTANCE_ID=f"i{n}", LOCK_RETRY_SECONDS="0.2", **env)
            bot = await stack.enter_async_context(make_bot(settings))
            instance = make_instance(settings, bot, runner_settings=FAST_RUNNER)
            await instance.start(host="127.0.0.1")
            stack.push_async_callback(instance.stop, 5)
            started.append(instance)
        yield started


async def post(instance, update) -> int:
    async with aiohttp.ClientSession() as http:
        return await post_update(http, f"http://127.0.0.1:{instance.port}", SECRET_PATH, SECRET_TOKEN, update)


async def press(api: FakeBotApi, instance, label: str) -> int:
    message = [m for m in replies(api) if m.buttons][-1]
    data = next(d for row in message.buttons for text, d in row if label in text)
    update = callback_update(USER, data, message.message_id)
    api.register_update(update)
    return await post(instance, update)


async def health(instance) -> dict:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{instance.port}/health") as response:
            return await response.json()


async def test_with_postgres_both_instances_process_and_the_worker_leads_when_the_leader_stops(tmp_path):
    async with scratch_database(migrated=True) as dsn, FakeBotApi() as api:
        async with instances(tmp_path, api, 2, DATABASE_URL=dsn) as (first, second):
            leader = await health(first)
            assert (leader["mode"], leader["lock_acquired"], leader["role"], leader["leader"]) == ("active", True, "leader", "i0")
            assert leader["storage"] == "postgres"
            worker = await health(second)
            assert (worker["mode"], worker["lock_acquired"], worker["role"], worker["leader"]) == ("active", False, "worker", "i0")
            # A deploy overlap: Telegram now sends everything to the new instance, which processes it itself.
            assert await post(second, message_update(USER, "/start")) == 200
            await eventually(lambda: replies(api))
            assert await press(api, second, "Картинки и дизайн") == 200
            await eventually(lambda: len(api.calls("answerCallbackQuery")) == 1)
            # The answer goes out at once, the category screen after its commit (the outbox): wait for the screen.
            await eventually(lambda: any("Z-Image" in text for m in replies(api) for row in m.buttons for text, _ in row))
            assert second.dispatcher.accepted >= 1
            # The old instance stops (SIGTERM): the new one takes the leader lock within a lock retry.
            stopped_at = time.perf_counter()
            await first.stop(5)
            await eventually(lambda: second.health.lock_acquired, timeout=10)
            takeover = time.perf_counter() - stopped_at
            logging.getLogger(__name__).warning("TAKEOVER_MEASURED graceful %.3f s", takeover)
            assert takeover < 10
            assert await press(api, second, "Z-Image") == 200
            await eventually(lambda: "✍️" in (replies(api)[-1].text or ""))
            assert await post(second, message_update(USER, "test")) == 200
            await eventually(lambda: any("Проверьте заказ" in (m.text or "") for m in replies(api)))
            assert await press(api, second, "Запустить") == 200
            await eventually(lambda: any(m.kind == "photo" for m in replies(api)))
            assert (await health(second))["mode"] == "active"
            assert await second.app.storage.ledger.balance(USER) == 10000 - 80


async def test_with_postgres_a_crashed_leader_is_replaced_within_seconds(tmp_path):
    async with scratch_database(migrated=True) as dsn, FakeBotApi() as api:
        async with instances(tmp_path, api, 2, DATABASE_URL=dsn) as (first, second):
            # A crash: the leader's lock connection dies with its process.
            conn = first.lock._conn  # noqa: SLF001 - the test kills exactly the lock's backend
            crashed_at = time.perf_counter()
            async with admin_connection(dsn) as admin:
                await admin.execute("SELECT pg_terminate_backend($1)", conn.get_server_pid())
            await eventually(lambda: second.health.lock_acquired, timeout=10)
            takeover = time.perf_counter() - crashed_at
            logging.getLogger(__name__).warning("TAKEOVER_MEASURED crash %.3f s", takeover)
            assert takeover < 10
            await eventually(lambda: not first.health.lock_acquired, timeout=10)  # the old leader demoted itself
            assert first.health.active  # and goes on processing as a worker
            assert await post(second, message_update(USER, "/start")) == 200
            await eventually(lambda: replies(api))


@asynccontextmanager
async def admin_connection(dsn: str):
    conn = await asyncpg.connect(dsn)
    try:
        yield conn
    finally:
        await conn.close()


async def test_with_json_files_a_passive_instance_says_the_bot_is_updating_and_loses_nothing(tmp_path, caplog):
    caplog.set_level("WARNING")
    async with FakeBotApi() as api:
        shared = str(tmp_path / "shared-data")
        async with instances(tmp_path, api, 2, DATA_DIR=shared) as (first, second):
            assert first.health.active and not second.health.active
            update = message_update(USER, "/start")
            assert await post(second, update) == 503  # not acknowledged: Telegram delivers it again later
            assert replies(api)[-1].text == "🔄 Бот обновляется, попробуйте через минуту."
            assert "PASSIVE_REJECT" in caplog.text
            await first.stop(5)
            await eventually(lambda: second.health.active, timeout=10)
            assert await post(second, update) == 200  # Telegram's redelivery
            await eventually(lambda: replies(api)[-1].text.startswith("👋 Привет"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def start_process(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "main_render.py", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )


async def test_a_kill_9_mid_generation_is_recovered_by_the_next_process_without_double_charge(tmp_path):
    async with scratch_database(migrated=True) as dsn, FakeBotApi() as api, FakeKieServer(speed=0.5) as kie:
        env = {
            "PATH": os.environ["PATH"], "HOME": str(tmp_path), "TELEGRAM_BOT_TOKEN": api.token,
            "TELEGRAM_API_BASE_URL": api.base_url, "BOT_MODE": "webhook", "WEBHOOK_BASE_URL": "https://bot.example",
            "WEBHOOK_SECRET_PATH": SECRET_PATH, "WEBHOOK_SECRET_TOKEN": SECRET_TOKEN, "DATABASE_URL": dsn,
            "KIE_API_KEY": "test-kie-key", "KIE_API_BASE_URL": kie.api_base_url,
            "KIE_UPLOAD_BASE_URL": kie.upload_base_url, "WELCOME_BALANCE": "100", "LOCK_RETRY_SECONDS": "0.5",
            "FREE_DAILY_LIMIT": "0",
        }
        port = free_port()
        first = await start_process({**env, "PORT": str(port), "INSTANCE_ID": "first"})
        target = type("Target", (), {"port": port})()
        storage = await PostgresStorage.open(dsn, migrate=False)
        try:
            await eventually(lambda: _healthy(port), timeout=20)
            for step in ("/start", "Картинки и дизайн", "Z-Image", "test", "Запустить"):
                before = screens_shown(api)
                if step.startswith("/") or step == "test":
                    assert await post(target, message_update(USER, step)) == 200
                else:
                    assert await press(api, target, step) == 200
                await eventually(lambda: screens_shown(api) > before, timeout=10)
            job = await eventually(lambda: _submitted_job(storage), timeout=10)
            first.send_signal(signal.SIGKILL)  # mid-generation: KIE is still working on the task
            await first.wait()
            # An update acknowledged but never processed before the crash:
            pending = message_update(USER, "/balance")
            await storage.inbox.put(InboxUpdate(pending["update_id"], pending, job.created_at, USER, "cid-kill9"))
            second = await start_process({**env, "PORT": str(free_port()), "INSTANCE_ID": "second"})
            try:
                done = await eventually(lambda: _job_in(storage, job.id, JobState.DELIVERED), timeout=40)
                await eventually(lambda: any((m.text or "").startswith("💰 Баланс") for m in replies(api)), timeout=10)
            finally:
                second.send_signal(signal.SIGTERM)
                _, stderr = await asyncio.wait_for(second.communicate(), 30)
            assert second.returncode == 0, stderr.decode()[-2000:]
        finally:
            await storage.close()
            if first.returncode is None:  # the test failed before the planned kill: never leave it running
                first.kill()
                await first.wait()
        assert len([m for m in replies(api) if m.kind == "photo"]) == 1
        assert len(kie.requests_to("createTask")) == 1  # resumed by polling, not submitted again
        entries = await _entries(dsn)
        assert [e.reason for e in entries].count("launch") == 1 and done.price == 80


async def _healthy(port: int) -> bool:
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/health") as response:
                return response.status == 200 and (await response.json())["mode"] == "active"
    except aiohttp.ClientError:
        return False


async def _submitted_job(storage: PostgresStorage):
    jobs = await storage.jobs.for_user(USER)
    return jobs[0] if jobs and jobs[0].state in (JobState.SUBMITTED, JobState.RUNNING) else None


async def _job_in(storage: PostgresStorage, job_id: str, state: JobState):
    job = await storage.jobs.get(job_id)
    return job if job and job.state is state else None


async def _entries(dsn: str):
    storage = await PostgresStorage.open(dsn, migrate=False)
    try:
        return await storage.ledger.entries(USER)
    finally:
        await storage.close()

