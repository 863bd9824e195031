"""KIE's dedicated families over HTTP: the bodies KieHttpGateway sends, Suno's mandatory callBackUrl, the
family readers on KIE's documented examples, the submit limiter, and the whole bot against the fake KIE
server (staged, repeated or missing callbacks still deliver once)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from adapters.kie.families import suno, veo, gpt4o, UNREACHABLE_CALLBACK
from adapters.kie.fake_server import FakeKieServer
from adapters.kie.http_gateway import KieHttpGateway
from adapters.kie.submit_limiter import LocalSubmitBudget
from adapters.system.clock import VirtualClock
from core.job_runner import RunnerSettings
from ports.effects import ResultKind
from ports.generation import GenerationRequest, Stage, TaskState, UnknownTaskError
from ports.storage import JobState
from tests.test_kie_e2e import CALLBACK_TOKEN, free_port
from entrypoints.fake_stack import FAST_RUNNER, running_server

USER = 5151


async def gateway_on(kie: FakeKieServer, client: httpx.AsyncClient, clock: VirtualClock, **options) -> KieHttpGateway:
    return KieHttpGateway(kie.api_base_url, kie.upload_base_url, "test-kie-key", clock=clock, client=client,
                          sleep=clock.sleep, retries=0, **options)


async def test_the_gateway_sends_each_familys_top_level_camelcase_body(tmp_path):
    clock = VirtualClock()
    async with FakeKieServer(clock=clock, files_dir=tmp_path) as kie, httpx.AsyncClient() as client:
        gateway = await gateway_on(kie, client, clock)
        await gateway.submit(GenerationRequest("veo/veo3_fast", {"prompt": "p", "image_urls": ["a", "b"],
                                                                 "aspect_ratio": "9:16", "duration": "6"}, api="veo"))
        await gateway.submit(GenerationRequest("runway/gen4", {"prompt": "p", "duration": "10", "quality": "1080p",
                                                               "aspect_ratio": "16:9"}, api="runway"))
        await gateway.submit(GenerationRequest("suno/V5/lyrics", {"prompt": "Rain\nla", "custom_mode": True,
                                                                  "instrumental": False, "style": "pop"}, api="suno"))
        (veo_body,) = [r.body for r in kie.requests_to("veo/generate")]
        assert veo_body == {"prompt": "p", "imageUrls": ["a", "b"], "aspect_ratio": "9:16", "duration": 6,
                            "model": "veo3_fast", "generationType": "FIRST_AND_LAST_FRAMES_2_VIDEO"}
        (runway_body,) = [r.body for r in kie.requests_to("runway/generate")]
        assert runway_body["quality"] == "720p" and runway_body["duration"] == 10  # 1080p only at 5 s
        (suno_body,) = [r.body for r in kie.requests_to("suno/generate")]
        assert suno_body["model"] == "V5" and suno_body["customMode"] is True and suno_body["title"] == "Rain"
        assert suno_body["callBackUrl"] == UNREACHABLE_CALLBACK  # Suno refuses a request without one


async def test_suno_without_a_callback_url_is_refused_by_kie(tmp_path):
    async with FakeKieServer(files_dir=tmp_path) as kie, httpx.AsyncClient() as client:
        response = await client.post(
            f"{kie.api_base_url}/api/v1/generate", json={"prompt": "x", "customMode": False, "instrumental": False,
                                                        "model": "V5"},
            headers={"Authorization": "Bearer test-kie-key", "User-Agent": "trt-test/1"},
        )
        assert response.json()["code"] == 400 and response.json()["msg"] == "Please enter callBackUrl."


def test_the_readers_understand_kies_documented_examples():
    veo_example = {"taskId": "veo_task_abcdef123456", "response": {"resultUrls": ["http://example.com/video1.mp4"]},
                   "successFlag": 1, "errorCode": None, "errorMessage": ""}
    assert veo.read("veo_task_abcdef123456", veo_example).result_urls == ("http://example.com/video1.mp4",)
    suno_example = {"taskId": "5c79", "response": {"sunoData": [{"audioUrl": "https://example.cn/a.mp3",
                                                                   "title": "钢铁侠"}]}, "status": "SUCCESS"}
    done = suno.read("5c79", suno_example)
    assert done.state is TaskState.SUCCESS and done.result_titles == ("钢铁侠",)
    assert suno.read("5c79", {"status": "TEXT_SUCCESS"}).stage is Stage.LYRICS
    assert suno.read("5c79", {"status": "CALLBACK_EXCEPTION", **{k: v for k, v in suno_example.items() if k != "status"}}).state is TaskState.SUCCESS
    assert suno.read("5c79", {"status": "SENSITIVE_WORD_ERROR"}).state is TaskState.FAIL
    with pytest.raises(UnknownTaskError):
        suno.read("nope", None)  # Suno: code 200, data null
    running = gpt4o.read("t", {"status": "GENERATING", "progress": "0.42"})
    assert running.state is TaskState.GENERATING and running.progress == 42


async def test_the_budget_makes_the_21st_submit_in_10_seconds_wait_instead_of_failing(tmp_path):
    clock = VirtualClock()
    budget = LocalSubmitBudget(clock, limit=20, window=10.0)
    started = clock.now()
    waits = []
    for _ in range(45):
        waited = 0.0
        while (wait := await budget.take()) > 0:
            waited += wait
            await clock.sleep(wait)
        waits.append(waited)
    assert waits[:20] == [0.0] * 20 and waits[20] > 0
    assert (clock.now() - started).total_seconds() >= 20.0  # 45 submits need three windows


async def test_25_submits_in_a_row_are_all_accepted_by_a_kie_that_refuses_the_21st(tmp_path):
    clock = VirtualClock()
    async with FakeKieServer(clock=clock, files_dir=tmp_path) as kie, httpx.AsyncClient() as client:
        gateway = await gateway_on(kie, client, clock)  # retries=0: a 429 would fail the submit
        request = GenerationRequest("kontext/flux-kontext-pro", {"prompt": "p"}, api="kontext")
        ids = [await gateway.submit(request) for _ in range(25)]
        assert len(set(ids)) == 25
        assert all(r.body for r in kie.requests_to("kontext/generate"))


async def launch_suno(client) -> None:
    await client.say(USER, "/start")
    await client.press(USER, "Аудио")
    await client.press(USER, "Suno")  # the family's button
    await client.press(USER, "Suno V5.5")
    await client.say(USER, "песня про дождь")
    await client.press(USER, "Запустить")


# "never": polling alone; the others with polling too slow to matter (every 600 s): the callbacks drive it, and
# a callback wakes the job's poller (without that, "once" timed out: the poller slept its 600 s).
@pytest.mark.parametrize("mode", ["never", "once", "twice", "late"])
async def test_a_suno_song_over_http_is_delivered_once_however_callbacks_come(tmp_path, mode):
    runner = FAST_RUNNER if mode == "never" else RunnerSettings(poll_first=600, poll_max=600)
    async with FakeKieServer(speed=15) as kie:
        kie.set_callback_mode(mode, **({"delay": 0.5} if mode == "late" else {}))
        port = free_port()
        env = {"BOT_MODE": "polling", "PORT": str(port), "WEBHOOK_BASE_URL": f"http://127.0.0.1:{port}",
               "KIE_API_KEY": "test-kie-key", "KIE_API_BASE_URL": kie.api_base_url,
               "KIE_UPLOAD_BASE_URL": kie.upload_base_url, "KIE_CALLBACK_TOKEN": CALLBACK_TOKEN}
        async with running_server(tmp_path, runner, **env) as client:
            started = time.perf_counter()
            await launch_suno(client)
            async with asyncio.timeout(20):
                while (job := (await client.server.app.storage.jobs.for_user(USER))[0]).state is not JobState.DELIVERED:
                    await asyncio.sleep(0.05)
            await client.settle()
            if mode != "never":
                kinds = [attempt.body["data"]["callbackType"] for attempt in kie.callbacks]
                assert kinds[-1] == "complete"
                assert mode == "late" or ("text" in kinds and "first" in kinds)  # late: only the final one
            audio = [m for m in client.api.messages(USER) if m.kind == "audio"]
            assert len(audio) == 2 and all((m.text or "").startswith("🎵 ") for m in audio)
            entries = await client.server.app.storage.ledger.entries(USER)
            assert [e.reason for e in entries].count("launch") == 1
            assert time.perf_counter() - started < 20
