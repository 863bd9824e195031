"""Follow-ups over HTTP: KieHttpGateway against the fake KIE server's get-1080p-video (a "still processing"
answer is polled, not failed; an unfinished source is refused), and the whole bot: a Veo 3.1 video from text,
then its 1080p follow-up, each delivered once with one charge; a failed 1080p refunded once."""

from __future__ import annotations

import httpx

from adapters.kie.families import veo_hd
from adapters.kie.fake_server import FakeKieServer
from adapters.system.clock import VirtualClock
from ports.generation import GatewayRejectedError, GenerationRequest, TaskState
from ports.storage import JobState
from tests.test_kie_e2e import bot_on_kie
from entrypoints.smoke_checks import callback_update
from tests.test_kie_families_http import USER, gateway_on

import pytest


async def test_1080p_is_polled_while_kie_says_processing_then_delivers_the_url(tmp_path):
    clock = VirtualClock()
    async with FakeKieServer(clock=clock, files_dir=tmp_path) as kie, httpx.AsyncClient() as client:
        gateway = await gateway_on(kie, client, clock)
        source = await gateway.submit(GenerationRequest("veo/veo3_fast", {"prompt": "p"}, api="veo"))
        hd = GenerationRequest("veo/1080p", {"task_id": source, "index": 0}, job_id="job1", api=veo_hd.API)
        with pytest.raises(GatewayRejectedError, match="not success"):
            await gateway.submit(hd)  # the source video is not finished yet
        clock.advance(60)
        assert (await gateway.status(source, "veo")).state is TaskState.SUCCESS

        task_id = await gateway.submit(hd)

        assert task_id == f"{source}|1080p|0|job1"
        (first, *_) = kie.requests_to("veo/get-1080p-video")
        assert first.method == "GET"
        running = await gateway.status(task_id, veo_hd.API)
        assert running.state is TaskState.GENERATING  # KIE's 422 "1080P is processing…"
        clock.advance(60)
        done = await gateway.status(task_id, veo_hd.API)
        assert done.state is TaskState.SUCCESS and len(done.result_urls) == 1
        assert done.result_urls[0].startswith(kie.api_base_url)


MODEL_IDS = {"Veo 3.1 Fast": "veo/veo3_fast", "Suno V5.5": "suno/V5_5", "Midjourney": "mj/mj_txt2img"}


async def open_model(client, category: str, name: str) -> None:
    """The model's card straight from the menu message (menus are walked in-process: tests/test_follow_ups.py)."""
    await client.say(USER, "/start")
    menu = client.last_with_buttons(USER)
    assert await client.post_update(callback_update(USER, f"model:{MODEL_IDS[name]}", menu.message_id)) == 200
    await client.settle()


async def launch(client, category: str, name: str, prompt: str) -> None:
    await open_model(client, category, name)
    await client.say(USER, prompt)
    await client.press(USER, "Запустить")
    await client.settle()


async def launch_veo_then_hd(client) -> None:
    await launch(client, "Видео", "Veo 3.1 Fast", "a fox in the snow")
    await client.press(USER, "1080p")
    await client.press(USER, "Запустить")
    await client.settle()


async def jobs_of(client) -> list:
    return sorted(await client.server.app.storage.jobs.for_user(USER), key=lambda job: job.created_at)


async def test_a_veo_video_then_its_1080p_over_http_each_delivered_once_with_one_charge(tmp_path):
    async with bot_on_kie(tmp_path) as (client, kie):
        await launch_veo_then_hd(client)

        source, hd = await jobs_of(client)
        assert source.state is JobState.DELIVERED and hd.state is JobState.DELIVERED, (source, hd)
        assert hd.source_job_id == source.id and hd.task_id.startswith(f"{source.task_id}|1080p|")
        videos = [m for m in client.api.messages(USER) if m.kind == "video"]
        assert len(videos) == 2 and videos[1].media == hd.result_urls[0]
        entries = await client.server.app.storage.ledger.entries(USER)
        assert [e.reason for e in entries].count("launch") == 2
        assert await client.server.app.storage.ledger.balance(USER) == 10000 - source.price - hd.price


async def test_a_failed_1080p_over_http_is_refunded_once(tmp_path):
    async with bot_on_kie(tmp_path) as (client, kie):
        await launch(client, "Видео", "Veo 3.1 Fast", "a fox in the snow")
        kie.fail_next_tasks(1, "1080P upscale failed")
        await client.press(USER, "1080p")
        await client.press(USER, "Запустить")
        await client.settle()

        source, hd = await jobs_of(client)
        assert source.state is JobState.DELIVERED and hd.state is JobState.REFUNDED
        entries = await client.server.app.storage.ledger.entries(USER)
        assert [e.reason for e in entries].count("refund") == 1
        assert await client.server.app.storage.ledger.balance(USER) == 10000 - source.price


async def test_veo_extend_over_http_posts_the_source_task_and_is_read_at_veo_record_info(tmp_path):
    async with bot_on_kie(tmp_path, WELCOME_BALANCE="1000") as (client, kie):
        await launch(client, "Видео", "Veo 3.1 Fast", "a fox in the snow")
        await client.press(USER, "продолжить")
        await client.say(USER, "the fox jumps into a river")
        await client.press(USER, "Запустить")
        await client.settle()

        source, extended = await jobs_of(client)
        assert extended.state is JobState.DELIVERED and extended.source_job_id == source.id
        (body,) = [r.body for r in kie.requests_to("veo_extend/generate")]
        assert body["taskId"] == source.task_id and body["prompt"] == "the fox jumps into a river"
        assert body["model"] == "fast" and body["callBackUrl"]
        assert len([m for m in client.api.messages(USER) if m.kind == "video"]) == 2
        entries = await client.server.app.storage.ledger.entries(USER)
        assert [e.reason for e in entries].count("launch") == 2


async def test_suno_wav_and_extend_over_http_find_the_tracks_audio_id_in_the_source_song(tmp_path):
    async with bot_on_kie(tmp_path, WELCOME_BALANCE="1000") as (client, kie):
        await launch(client, "Аудио", "Suno V5.5", "песня про дождь")
        await client.press(USER, "WAV · трек 2")
        await client.press(USER, "Запустить")
        await client.settle()
        source = (await jobs_of(client))[0]
        message_id = [m for m in client.api.messages(USER) if m.kind == "audio"][1].message_id
        await client.post_update(callback_update(USER, f"fu:{source.id}:2", message_id))  # extend track 1
        await client.settle()
        await client.press(USER, "Запустить")
        await client.settle()

        _, wav, extended = await jobs_of(client)
        assert wav.state is JobState.DELIVERED and extended.state is JobState.DELIVERED
        assert wav.source_job_id == extended.source_job_id == source.id
        (wav_body,) = [r.body for r in kie.requests_to("suno_wav/generate")]
        assert wav_body["taskId"] == source.task_id and wav_body["audioId"] == f"{source.task_id}-1"
        (extend_body,) = [r.body for r in kie.requests_to("suno_extend/generate")]
        assert extend_body["audioId"] == f"{source.task_id}-0" and extend_body["defaultParamFlag"] is False
        assert extend_body["model"] == "V5_5" and extend_body["callBackUrl"]
        assert len([m for m in client.api.messages(USER) if m.kind == "audio"]) == 2 + 1 + 2
        entries = await client.server.app.storage.ledger.entries(USER)
        assert [e.reason for e in entries].count("launch") == 3


def test_the_wav_reader_understands_kies_documented_example_and_the_track_lookup_needs_the_track():
    from adapters.kie.families import suno_follow_ups

    example = {"taskId": "988e****c8d3", "musicId": "e231", "musicIndex": 0,
               "response": {"audioWavUrl": "https://example.com/s/04e6****e727.wav"}, "successFlag": "SUCCESS",
               "errorCode": None, "errorMessage": None}
    done = suno_follow_ups.read_wav("988e****c8d3", example)
    assert done.state is TaskState.SUCCESS and done.result_urls == ("https://example.com/s/04e6****e727.wav",)
    assert suno_follow_ups.read_wav("t", {"successFlag": "PENDING"}).state is TaskState.GENERATING
    assert suno_follow_ups.read_wav("t", {"successFlag": "GENERATE_WAV_FAILED"}).state is TaskState.FAIL
    song = {"taskId": "s1", "param": '{"model": "V4_5PLUS"}', "status": "SUCCESS",
            "response": {"sunoData": [{"id": "a0", "audioUrl": "u0"}, {"id": "a1", "audioUrl": "u1"}]}}
    request = GenerationRequest("suno_extend/track2", {"task_id": "s1", "index": 1}, api="suno_extend")
    found = suno_follow_ups.with_audio_id(request, song)
    assert found.input["audio_id"] == "a1" and found.input["model"] == "V4_5PLUS"
    assert suno_follow_ups.build_extend(found) == {"audioId": "a1", "model": "V4_5PLUS", "defaultParamFlag": False}
    with pytest.raises(GatewayRejectedError):
        suno_follow_ups.with_audio_id(GenerationRequest("x", {"task_id": "s1", "index": 5}, api="suno_wav"), song)


async def test_midjourney_upscale_over_http_posts_the_grid_task_and_the_image_index(tmp_path):
    async with bot_on_kie(tmp_path, MJ_ENABLED="true") as (client, kie):
        await launch(client, "Картинки", "Midjourney", "a castle")
        await client.press(USER, "U3")
        await client.press(USER, "Запустить")
        await client.settle()

        source, upscaled = await jobs_of(client)
        assert upscaled.state is JobState.DELIVERED and upscaled.source_job_id == source.id
        (body,) = [r.body for r in kie.requests_to("mj_upscale/generate")]
        assert body["taskId"] == source.task_id and body["imageIndex"] == 2
        assert len([m for m in client.api.messages(USER) if m.kind == "photo"]) == 4 + 1
