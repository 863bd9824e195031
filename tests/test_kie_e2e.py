"""The bot in KIE_MODE=real against the fake KIE HTTP server (and the fake Bot API): uploads reach the
model, callbacks and polling complete jobs exactly once, every failure path refunds."""

from __future__ import annotations

import asyncio
import socket
from contextlib import asynccontextmanager

import aiohttp
import pytest

from adapters.kie.fake_media import png_bytes
from adapters.kie.fake_server import FakeKieServer
from core.job_runner import RunnerSettings
from entrypoints.fake_stack import FAST_RUNNER, running_server
from entrypoints.smoke_checks import message_update
from ports.storage import JobState

pytestmark = pytest.mark.slow  # real processes, terminals or long journeys: not in the fast tier

USER = 5151
CALLBACK_TOKEN = "kie_callback_token_1"
ONLY_CALLBACKS = RunnerSettings(poll_first=600, poll_max=600)  # polling too slow to matter


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@asynccontextmanager
async def bot_on_kie(tmp_path, runner: RunnerSettings = FAST_RUNNER, **env: str):
    async with FakeKieServer(speed=40) as kie:
        port = free_port()
        settings = {
            "BOT_MODE": "polling", "PORT": str(port), "WEBHOOK_BASE_URL": f"http://127.0.0.1:{port}",
            "KIE_API_KEY": "test-kie-key", "KIE_API_BASE_URL": kie.api_base_url,
            "KIE_UPLOAD_BASE_URL": kie.upload_base_url, "KIE_CALLBACK_TOKEN": CALLBACK_TOKEN, **env,
        }
        async with running_server(tmp_path, runner, **settings) as client:
            yield client, kie


async def start_z_image(client, prompt: str = "test") -> None:
    await client.say(USER, "/start")
    await client.press(USER, "Картинки и дизайн")
    await client.press(USER, "Z-Image")
    await client.say(USER, prompt)
    await client.press(USER, "Запустить")


async def job_of(client):
    return (await client.server.app.storage.jobs.for_user(USER))[0]


async def test_an_edit_model_receives_the_photo_the_user_sent(tmp_path):
    async with bot_on_kie(tmp_path) as (client, kie):
        await client.say(USER, "/start")
        await client.press(USER, "Картинки и дизайн")
        await client.press(USER, "Nano Banana (")
        await client.press(USER, "Nano Banana: правка фото")
        client.api.add_file("user-photo", png_bytes("my cat"))
        update = message_update(USER, "")
        update["message"].pop("text")
        update["message"]["photo"] = [{"file_id": "user-photo", "file_unique_id": "u", "width": 256, "height": 256}]
        update["message"]["caption"] = "make it a watercolour"
        await client.post_update(update)
        await client.settle()
        await client.press(USER, "Запустить")
        (create,) = kie.requests_to("createTask")
        (photo_url,) = create.body["input"]["image_urls"]
        assert kie.uploaded_bytes(photo_url) == png_bytes("my cat")
        assert create.body["input"]["prompt"] == "make it a watercolour"
        assert create.body["callBackUrl"].endswith(f"/callbacks/kie?token={CALLBACK_TOKEN}")
        job = await job_of(client)
        assert job.state is JobState.DELIVERED
        (sent,) = [m for m in client.api.messages(USER) if m.kind == "photo"]
        assert sent.media == job.result_urls[0] and sent.media.startswith(kie.api_base_url)


async def test_a_callback_alone_completes_the_job(tmp_path):
    async with bot_on_kie(tmp_path, ONLY_CALLBACKS) as (client, kie):
        await start_z_image(client)
        await kie.wait_for_callbacks(1, timeout=10)
        await client.settle()
        assert (await job_of(client)).state is JobState.DELIVERED
        assert [c.status for c in kie.callbacks] == [200]
        assert len([m for m in client.api.messages(USER) if m.kind == "photo"]) == 1


async def test_duplicate_callbacks_racing_the_poller_deliver_once(tmp_path):
    async with bot_on_kie(tmp_path) as (client, kie):
        kie.set_callback_mode("twice")
        await start_z_image(client)
        await kie.wait_for_callbacks(2, timeout=10)
        await client.settle()
        assert (await job_of(client)).state is JobState.DELIVERED
        assert len([m for m in client.api.messages(USER) if m.kind == "photo"]) == 1
        assert await client.server.app.storage.ledger.balance(USER) == 10000 - 80


async def test_a_late_callback_after_polling_finished_changes_nothing(tmp_path):
    async with bot_on_kie(tmp_path) as (client, kie):
        kie.set_callback_mode("late", delay=0.5)
        await start_z_image(client)
        await kie.wait_for_callbacks(1, timeout=10)
        await client.settle()
        assert len([m for m in client.api.messages(USER) if m.kind == "photo"]) == 1


async def test_a_callback_with_a_wrong_token_is_refused(tmp_path):
    async with bot_on_kie(tmp_path) as (client, kie):
        async with aiohttp.ClientSession() as http:
            for token in ("", "?token=wrong"):
                async with http.post(f"{client.base}/callbacks/kie{token}", json={"data": {"taskId": "x"}}) as response:
                    assert response.status == 403


async def test_a_failed_generation_is_refunded_with_kies_reason(tmp_path):
    async with bot_on_kie(tmp_path) as (client, kie):
        await start_z_image(client, "FAIL please")
        job = await job_of(client)
        assert job.state is JobState.REFUNDED
        text = client.api.messages(USER)[-1].text
        assert "Причина: сбой на стороне сервиса генерации." in text and "Scripted failure" not in text
        assert await client.server.app.storage.ledger.balance(USER) == 10000


async def test_out_of_kie_credits_refunds_and_tells_the_admin(tmp_path):
    async with bot_on_kie(tmp_path, ADMIN_ID="9001") as (client, kie):
        kie.set_credits(0)
        await start_z_image(client)
        assert (await job_of(client)).state is JobState.REFUNDED
        assert "временно недоступен" in client.api.messages(USER)[-1].text
        assert client.api.messages(9001)[0].text.startswith("🚨 На счёте KIE закончились кредиты")
        assert await client.server.app.storage.ledger.balance(USER) == 10000


async def test_a_bad_api_key_refunds_and_tells_the_admin(tmp_path):
    async with bot_on_kie(tmp_path, ADMIN_ID="9001", KIE_API_KEY="wrong-key") as (client, kie):
        await start_z_image(client)
        assert (await job_of(client)).state is JobState.REFUNDED
        assert client.api.messages(9001)[0].text.startswith("🚨 KIE не принимает API-ключ (401)")


async def test_kie_down_for_good_fails_the_job_with_a_refund(tmp_path):
    async with bot_on_kie(tmp_path) as (client, kie):
        kie.fail_next("createTask", http_status=502, msg="Bad Gateway", count=50)
        await start_z_image(client)
        job = await job_of(client)
        assert job.state is JobState.REFUNDED and job.error == "unavailable"
        assert await client.server.app.storage.ledger.balance(USER) == 10000


async def test_a_task_that_never_ends_times_out_and_is_refunded(tmp_path):
    async with bot_on_kie(tmp_path, JOB_TIMEOUT_IMAGE_S="1") as (client, kie):
        await start_z_image(client, "HANG here")
        async with asyncio.timeout(10):
            while (await job_of(client)).state is not JobState.REFUNDED:
                await asyncio.sleep(0.05)
        assert (await job_of(client)).error == "timeout"
        assert client.api.messages(USER)[-1].text.startswith("⌛ Z-Image")


async def test_health_shows_kies_state_from_the_latest_call(tmp_path):
    async with bot_on_kie(tmp_path) as (client, kie):
        await start_z_image(client)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{client.base}/health") as response:
                body = await response.json()
        assert body["kie"]["state"] == "ok" and body["kie"]["last_call_at"].endswith("Z")


async def test_after_kie_refused_the_key_new_orders_are_refused_before_any_charge(tmp_path):
    async with bot_on_kie(tmp_path, KIE_API_KEY="wrong-key") as (client, kie):
        await start_z_image(client)
        await client.press(USER, "Ещё раз")
        await client.press(USER, "Запустить")
        assert client.api.messages(USER)[-1].text.startswith("⏸ Сервис генерации сейчас недоступен. Ничего не списано")
        assert len(kie.requests_to("createTask")) == 1
        assert await client.server.app.storage.ledger.balance(USER) == 10000
