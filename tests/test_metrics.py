"""/metrics over real HTTP from the running app: scraped, parsed with prometheus-client's own parser, and
moved by what the bot does (an update, a job, a KIE error, a Telegram 429)."""

from __future__ import annotations

import asyncio
import os
import signal
from core import cashier
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.catalog.catalog_files import load_catalog_files
from adapters.kie.fake_server import FakeKieServer
from adapters.storage.json_storage import JsonStorage
from adapters.telegram.fake_bot_api import FakeBotApi
from entrypoints.fake_stack import running_server
from entrypoints.job_gauge import JobGauge
from entrypoints.metrics import PrometheusMetrics
from entrypoints.settings import Settings, SettingsError, load_settings
from entrypoints.smoke_checks import message_update, probe_update
from tests import pg
from tests.test_instances import eventually, instances, post, replies
from tests.test_main_render import free_port, start_bot, wait_healthy
from ports.events import UserRef
from ports.storage import Job, JobState

USER = 7171
TOKEN = "metrics_token_0123456789"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text) for sample in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    """One series' value, whatever its instance_id; 0 when the series is absent."""
    matching = [v for (n, ls), v in found.items() if n == name and set(labels.items()) <= ls]
    assert len(matching) <= 1, f"{name}{labels} matches {len(matching)} series"
    return matching[0] if matching else 0.0


async def scrape(client, token: str | None = None) -> Samples:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with client.http.get(f"{client.base}/metrics", headers=headers) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return samples(await response.text())


async def test_an_update_moves_received_processed_and_the_latency_histograms(tmp_path):
    async with running_server(tmp_path) as client:
        before = await scrape(client)
        await client.say(USER, "/start")
        after = await scrape(client)
        for name, labels in [("trt_updates_received_total", {"result": "accepted"}),
                             ("trt_updates_processed_total", {"outcome": "ok"}),
                             ("trt_update_processing_seconds_count", {}),
                             ("trt_update_latency_seconds_count", {})]:
            assert value(after, name, **labels) - value(before, name, **labels) == 1, name
        assert value(after, "trt_updates_processed_total", outcome="error") == 0
        assert value(after, "trt_telegram_requests_total", method="sendMessage", code="200") >= 1


async def test_a_repeated_update_counts_as_a_duplicate_and_is_processed_once(tmp_path):
    async with running_server(tmp_path) as client:
        update = message_update(USER, "/start")
        for _ in range(2):
            assert await client.post_update(update) == 200
        await client.settle()
        found = await scrape(client)
        assert value(found, "trt_updates_received_total", result="duplicate") == 1
        assert value(found, "trt_updates_processed_total", outcome="ok") == 1


async def test_a_crashed_a_shed_an_ignored_and_a_malformed_update_each_count_under_their_outcome(tmp_path):
    async with running_server(tmp_path, RATE_LIMIT_BURST="1", RATE_LIMIT_PER_SECOND="0.01") as client:
        core, decide = client.server.app.core, client.server.app.core.decide

        async def crash(event, **kwargs):
            core.decide = decide
            raise RuntimeError("a bug in a handler")

        core.decide = crash
        await client.say(USER, "/start")  # crashes: the user gets the apology
        assert await client.post_update(message_update(USER, "/help")) == 200  # over the limit: shed
        assert await client.post_update(probe_update()) == 200  # an edit of an old message: stored, ignored
        no_chat = {"update_id": 990001, "message": {"message_id": 1, "date": 0, "text": "/start"}}  # the runbook's curl
        assert await client.post_update(no_chat) == 200
        await client.settle()
        found = await scrape(client)
        assert value(found, "trt_updates_processed_total", outcome="error") == 1
        assert value(found, "trt_updates_processed_total", outcome="shed") == 1
        assert value(found, "trt_updates_processed_total", outcome="malformed") == 1
        assert value(found, "trt_updates_processed_total", outcome="ignored") == 1
        assert value(found, "trt_updates_processed_total", outcome="ok") == 0
        assert value(found, "trt_update_latency_seconds_count") == 3  # shed updates have none


async def test_every_series_names_its_instance_and_the_gauges_read_the_instance(tmp_path):
    async with running_server(tmp_path, INSTANCE_ID="web-a") as client:
        found = await scrape(client)
        assert {dict(labels).get("instance_id") for _, labels in found} == {"web-a"}
        assert value(found, "trt_leader") == 1 and value(found, "trt_processing") == 1
        assert value(found, "trt_instance_info", bot_mode="webhook", storage="json") == 1
        assert ("trt_inbox_depth", frozenset({("instance_id", "web-a")})) in found
        assert ("trt_outbox_depth", frozenset({("instance_id", "web-a")})) in found
        # The in-process fake generator has no KIE budget, so no submission queue: absent, not a made-up zero.
        assert not any(name == "trt_submission_queue_length" for name, _ in found)


async def test_a_telegram_429_is_counted_by_method(tmp_path):
    async with running_server(tmp_path) as client:
        client.api.fail_next("sendMessage", 429, retry_after=0)
        await client.say(USER, "/start")
        found = await scrape(client)
        assert value(found, "trt_telegram_requests_total", method="sendMessage", code="429") == 1
        assert client.api.messages(USER)[-1].text.startswith("👋 Привет")  # sent after the wait


async def test_with_a_token_metrics_answers_only_its_bearer(tmp_path):
    async with running_server(tmp_path, METRICS_TOKEN=TOKEN) as client:
        for headers in ({}, {"Authorization": "Bearer wrong_token_0123456789"}, {"Authorization": TOKEN}):
            async with client.http.get(f"{client.base}/metrics", headers=headers) as response:
                assert response.status == 401 and response.headers["WWW-Authenticate"] == "Bearer"
                assert "trt_" not in await response.text()
        assert value(await scrape(client, TOKEN), "trt_leader") == 1
        async with client.http.get(f"{client.base}/health") as response:
            assert response.status == 200  # the health check stays open for Render


@pytest.mark.parametrize("request_head, status", [
    (b"GET /metrics HTTP/1.1\r\nAuthorization: Bearer \xff\xfe", b"401"),
    (b"GET /metrics HTTP/1.1\r\nAuthorization: Bearer m\xc3\xa9trique", b"401"),
    # The same constant-time compare guards the webhook's secret header.
    (b"POST /webhook/test-secret-path HTTP/1.1\r\nX-Telegram-Bot-Api-Secret-Token: \xff", b"403"),
])
async def test_a_secret_header_of_bytes_that_are_not_utf8_is_refused_not_a_server_error(tmp_path, request_head, status):
    async with running_server(tmp_path, METRICS_TOKEN=TOKEN) as client:
        reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
        writer.write(request_head + b"\r\nHost: bot\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        answer = await reader.read()
        writer.close()
        assert answer.split(b" ", 2)[1] == status, answer[:200]


@pytest.mark.parametrize("token", ["short", "has spaces in it 0123", "x" * 257])
def test_a_bad_metrics_token_is_one_line_naming_the_variable_without_its_value(token):
    with pytest.raises(SettingsError) as caught:
        load_settings({"METRICS_TOKEN": token})
    message = str(caught.value)
    assert message.startswith("invalid setting METRICS_TOKEN: ") and token not in message and "\n" not in message


def test_on_render_each_instance_is_named_by_render():
    assert load_settings({"RENDER_INSTANCE_ID": "srv-abc-5d8f7"}).INSTANCE_ID == "srv-abc-5d8f7"
    assert load_settings({"RENDER_INSTANCE_ID": "srv-abc-5d8f7", "INSTANCE_ID": "mine"}).INSTANCE_ID == "mine"


def test_the_metrics_token_is_masked_in_logs():
    assert TOKEN in load_settings({"METRICS_TOKEN": TOKEN}).secrets()


# --- jobs and KIE, against the fake KIE HTTP server -----------------------------------------------------------


@asynccontextmanager
async def bot_on_kie(tmp_path):
    async with FakeKieServer(speed=40) as kie:
        port = free_port()
        async with running_server(
            tmp_path, BOT_MODE="polling", PORT=str(port), WEBHOOK_BASE_URL=f"http://127.0.0.1:{port}",
            KIE_API_KEY="test-kie-key", KIE_API_BASE_URL=kie.api_base_url, KIE_UPLOAD_BASE_URL=kie.upload_base_url,
            KIE_CALLBACK_TOKEN="kie_callback_token_1", KIE_SUBMIT_WINDOW_S="1",  # a 429 holds submits one window
        ) as client:
            yield client, kie


async def launch_z_image(client) -> None:
    await client.say(USER, "/start")
    await client.press(USER, "Картинки и дизайн")
    await client.press(USER, "Z-Image")
    await client.say(USER, "test")
    await client.press(USER, "Запустить")


@pytest.mark.slow  # a generation over the fake KIE HTTP server, as tests/test_kie_e2e.py
async def test_a_delivered_job_moves_the_job_and_kie_call_counters(tmp_path):
    async with bot_on_kie(tmp_path) as (client, kie):
        await launch_z_image(client)
        found = await scrape(client)
        assert value(found, "trt_job_transitions_total", family="market", state="submitted") == 1
        assert value(found, "trt_job_transitions_total", family="market", state="delivered") == 1
        assert value(found, "trt_job_transitions_total", family="market", state="refunded") == 0
        assert value(found, "trt_kie_calls_total", endpoint="createTask", code="200") == 1
        assert value(found, "trt_kie_calls_total", endpoint="recordInfo", code="200") >= 1
        assert value(found, "trt_submission_wait_seconds_count", family="market") == 1


@pytest.mark.slow
async def test_kie_errors_are_counted_by_code_and_the_refund_by_family(tmp_path):
    async with bot_on_kie(tmp_path) as (client, kie):
        kie.fail_next("createTask", code=429, msg="Rate limited")  # KIE did not take it: sent again
        await launch_z_image(client)
        kie.set_credits(0)
        await client.say(USER, "/start")
        await client.press(USER, "Картинки и дизайн")
        await client.press(USER, "Z-Image")
        await client.say(USER, "again")
        await client.press(USER, "Запустить")
        found = await scrape(client)
        assert value(found, "trt_kie_calls_total", endpoint="createTask", code="429") == 1
        assert value(found, "trt_kie_calls_total", endpoint="createTask", code="200") == 1
        assert value(found, "trt_kie_calls_total", endpoint="createTask", code="402") == 1
        assert value(found, "trt_job_transitions_total", family="market", state="delivered") == 1
        assert value(found, "trt_job_transitions_total", family="market", state="refunded") == 1


# --- the pieces, without a server ------------------------------------------------------------------------------


def test_two_instances_in_one_process_keep_their_own_counts():
    first, second = PrometheusMetrics("a", process=False), PrometheusMetrics("b", process=False)
    first.update_processed("ok", 0.01, 0.02)
    first.kie_call("createTask", "500")
    found_a, found_b = samples(first.exposition().decode()), samples(second.exposition().decode())
    assert value(found_a, "trt_updates_processed_total", instance_id="a", outcome="ok") == 1
    assert value(found_b, "trt_updates_processed_total", instance_id="b", outcome="ok") == 0
    assert value(found_a, "trt_kie_calls_total", code="500") == 1 and value(found_b, "trt_kie_calls_total") == 0


def test_a_shed_update_is_counted_without_a_latency():
    metrics = PrometheusMetrics("a", process=False)
    metrics.update_processed("shed", 0.0, 0.0)
    found = samples(metrics.exposition().decode())
    assert value(found, "trt_updates_processed_total", outcome="shed") == 1
    assert value(found, "trt_update_latency_seconds_count") == 0


def test_a_gauge_appears_once_its_reading_is_wired():
    metrics = PrometheusMetrics("a", process=False)
    assert value(samples(metrics.exposition().decode()), "trt_outbox_depth") == 0
    metrics.readings.outbox_depth = lambda: 7
    metrics.readings.queue_length = lambda: 3
    found = samples(metrics.exposition().decode())
    assert value(found, "trt_outbox_depth") == 7 and value(found, "trt_submission_queue_length") == 3


@asynccontextmanager
async def json_storage(tmp_path):
    storage = await JsonStorage.open(tmp_path)
    try:
        yield storage
    finally:
        await storage.close()


@pytest.mark.parametrize("opened", [json_storage, pg.open_pg], ids=["json", "postgres"])
async def test_unfinished_jobs_are_counted_by_state_and_family(tmp_path, opened):
    catalog = load_catalog_files(Settings().CATALOG_PATH)
    async with opened(tmp_path) as storage:
        now = datetime(2026, 1, 1, tzinfo=timezone.utc)
        await cashier.ensure_user(storage, UserRef(1), 0, now)
        for index, (model, state) in enumerate([("z-image", JobState.RUNNING), ("z-image", JobState.RUNNING),
                                                ("veo/veo3_fast", JobState.CREATED), ("z-image", JobState.DELIVERED),
                                                ("gone-model", JobState.FAILED)]):
            job = Job(id=f"j{index}", user_id=1, chat_id=1, model_id=model, input={}, price=0, state=JobState.CREATED,
                      created_at=now, updated_at=now, deadline_at=now + timedelta(hours=1))
            await cashier.launch(storage, job)
            if state is not JobState.CREATED:
                await storage.jobs.transition(job.id, {JobState.CREATED}, state, updated_at=now)
        gauge = JobGauge(storage.jobs, lambda: catalog)
        assert await gauge.refresh() == {("running", "market"): 2, ("created", "veo"): 1, ("failed", "market"): 1}
        metrics = PrometheusMetrics("a", process=False)
        metrics.readings.jobs = lambda: gauge.value
        found = samples(metrics.exposition().decode())
        assert value(found, "trt_jobs", state="running", family="market") == 2
        assert value(found, "trt_jobs", state="created", family="veo") == 1


# --- two instances on one PostgreSQL ---------------------------------------------------------------------------


@pytest.mark.slow  # two servers on a scratch database, as tests/test_instances.py
async def test_two_instances_on_one_database_each_report_their_own_work(tmp_path):
    async with pg.scratch_database(migrated=True) as dsn, FakeBotApi() as api:
        async with instances(tmp_path, api, 2, DATABASE_URL=dsn) as (leader, worker):
            assert await post(worker, message_update(USER, "/start")) == 200  # stored by the worker
            await eventually(lambda: replies(api, USER))

            async def scraped(instance) -> Samples:
                async with aiohttp.ClientSession() as http:
                    async with http.get(f"http://127.0.0.1:{instance.port}/metrics") as response:
                        return samples(await response.text())

            await eventually(lambda: leader.dispatcher.pending == worker.dispatcher.pending == 0)
            on_leader, on_worker = await scraped(leader), await scraped(worker)
            assert {dict(labels)["instance_id"] for _, labels in on_leader} == {"i0"}
            assert {dict(labels)["instance_id"] for _, labels in on_worker} == {"i1"}
            assert (value(on_leader, "trt_leader"), value(on_worker, "trt_leader")) == (1, 0)
            assert (value(on_leader, "trt_processing"), value(on_worker, "trt_processing")) == (1, 1)  # both work
            assert value(on_worker, "trt_updates_received_total", result="accepted") == 1
            assert value(on_leader, "trt_updates_received_total", result="accepted") == 0
            # Processed once, by whichever instance claimed it (the one that stored it, mostly).
            processed = [value(on, "trt_updates_processed_total", outcome="ok") for on in (on_leader, on_worker)]
            assert sorted(processed) == [0, 1]
            assert value(on_leader, "trt_instance_info", storage="postgres") == 1


# --- the real process ------------------------------------------------------------------------------------------


@pytest.mark.slow  # a real `python main_render.py`, as tests/test_main_render.py
async def test_main_render_serves_metrics_behind_its_token(tmp_path):
    async with FakeBotApi() as api:
        port = free_port()
        env = {
            "PATH": os.environ["PATH"], "HOME": str(tmp_path), "TELEGRAM_BOT_TOKEN": api.token,
            "TELEGRAM_API_BASE_URL": api.base_url, "BOT_MODE": "polling", "PORT": str(port),
            "DATA_DIR": str(tmp_path / "data"), "KIE_MODE": "fake", "METRICS_TOKEN": TOKEN, "INSTANCE_ID": "proc-1",
        }
        process = await start_bot(env)
        base = f"http://127.0.0.1:{port}"
        try:
            await wait_healthy(base, process)
            api.push_update(message_update(USER, "/start"))
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{base}/metrics") as response:
                    assert response.status == 401
                found: Samples = {}
                async with asyncio.timeout(10):
                    while value(found, "trt_updates_processed_total", outcome="ok") < 1:
                        await asyncio.sleep(0.05)
                        async with http.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}) as response:
                            found = samples(await response.text())
            assert value(found, "trt_updates_received_total", instance_id="proc-1", result="accepted") == 1
            assert value(found, "trt_telegram_requests_total", method="getUpdates", code="200") >= 1
            assert value(found, "process_cpu_seconds_total") > 0
        finally:
            process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                _, stderr = await process.communicate()
        assert process.returncode == 0, stderr.decode()[-2000:]
        assert TOKEN not in stderr.decode()
