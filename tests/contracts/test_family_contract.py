"""The GenerationGateway contract for KIE's dedicated API families (Veo, Suno, Runway, Aleph, Flux Kontext,
4o Image, Midjourney): every family on both implementations (the in-process fake, and KieHttpGateway over
HTTP to the fake KIE server), with the harnesses of test_generation_contract."""

from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator

import pytest

from adapters.system.clock import VirtualClock
from ports.generation import GatewayRejectedError, Stage, TaskState, TaskStatus, UnknownTaskError
from ports.generation import GenerationRequest
from tests.contracts.test_generation_contract import IMPLEMENTATIONS, POLL_SECONDS, Harness, HttpHarness

MP4, PNG, WAV = (b"ftyp", 4), (b"\x89PNG\r\n\x1a\n", 0), (b"RIFF", 0)
PHOTO = "https://example.com/photo.png"
CASES: dict[str, tuple[str, str, dict[str, Any], int, tuple[bytes, int]]] = {
    "veo-text": ("veo", "veo/veo3_fast", {"prompt": "a fox", "aspect_ratio": "16:9", "duration": "8"}, 1, MP4),
    "veo-frames": ("veo", "veo/veo3", {"prompt": "a fox runs", "image_urls": [PHOTO, PHOTO]}, 1, MP4),
    "veo-lite-reference": ("veo", "veo/veo3_lite", {"prompt": "a fox", "image_urls": [PHOTO] * 3}, 1, MP4),
    "suno-simple": ("suno", "suno/V5", {"prompt": "a song about rain", "custom_mode": False, "instrumental": False},
                    2, WAV),
    "suno-custom": ("suno", "suno/V5_5", {"prompt": "Rain on the roof\nla la", "custom_mode": True,
                                          "instrumental": False, "style": "pop", "vocal_gender": "f"}, 2, WAV),
    "runway": ("runway", "runway/gen4", {"prompt": "waves", "duration": "5", "quality": "1080p",
                                         "aspect_ratio": "16:9"}, 1, MP4),
    "aleph": ("aleph", "aleph/aleph", {"prompt": "make it snow", "video_url": "https://example.com/in.mp4"}, 1, MP4),
    "kontext-edit": ("kontext", "kontext/flux-kontext-max", {"prompt": "add a hat", "input_image": PHOTO,
                                                             "aspect_ratio": "1:1"}, 1, PNG),
    "gpt4o": ("gpt4o", "gpt4o/4o-image", {"prompt": "a robot", "size": "3:2", "n_variants": "2"}, 2, PNG),
    "mj": ("mj", "mj/mj_txt2img", {"prompt": "a castle", "speed": "fast"}, 4, PNG),
}
# What each family's status endpoint can say before the end.
RUNNING_STATES = {
    "veo": {TaskState.GENERATING}, "aleph": {TaskState.GENERATING}, "kontext": {TaskState.GENERATING},
    "mj": {TaskState.GENERATING}, "gpt4o": {TaskState.GENERATING},
    "suno": {TaskState.WAITING, TaskState.GENERATING},
    "runway": {TaskState.WAITING, TaskState.QUEUING, TaskState.GENERATING},
}
RANK = {TaskState.WAITING: 0, TaskState.QUEUING: 1, TaskState.GENERATING: 2, TaskState.SUCCESS: 3, TaskState.FAIL: 3}


@pytest.fixture(params=IMPLEMENTATIONS, ids=lambda factory: factory.__name__.removesuffix("_harness"))
async def harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    async with request.param(VirtualClock(), tmp_path) as built:
        yield built


def request_of(case: str, **changes: Any) -> GenerationRequest:
    api, model, inputs, _, _ = CASES[case]
    return GenerationRequest(model, {**inputs, **changes}, job_id="job-1", api=api)


async def run(harness: Harness, task_id: str, api: str, limit: float = 600.0) -> list[TaskStatus]:
    seen = [await harness.gateway.status(task_id, api)]
    waited = 0.0
    while not seen[-1].state.terminal and waited < limit:
        await harness.clock.sleep(POLL_SECONDS)
        waited += POLL_SECONDS
        seen.append(await harness.gateway.status(task_id, api))
    return seen


@pytest.mark.parametrize("case", list(CASES))
async def test_each_family_goes_from_submit_to_success_with_its_result_files(harness: Harness, case: str) -> None:
    api, _, _, count, (magic, offset) = CASES[case]
    task_id = await harness.gateway.submit(request_of(case))

    seen = await run(harness, task_id, api)

    final = seen[-1]
    assert final.state is TaskState.SUCCESS, final
    assert {status.state for status in seen[:-1]} <= RUNNING_STATES[api]
    ranks = [RANK[status.state] for status in seen]
    assert ranks == sorted(ranks), "a task never goes backwards"
    assert len(final.result_urls) == count
    for url in final.result_urls:
        assert harness.stored_path(url).read_bytes()[offset:offset + len(magic)] == magic
    if api == "suno":
        assert len(final.result_titles) == count and all(final.result_titles)
    assert await harness.gateway.status(task_id, api) == final, "a finished task reads the same again"


@pytest.mark.parametrize("case", ["veo-text", "suno-simple", "runway", "aleph", "kontext-edit", "gpt4o", "mj"])
async def test_each_family_reports_a_failed_generation_as_fail_with_a_reason(harness: Harness, case: str) -> None:
    api = CASES[case][0]
    task_id = await harness.gateway.submit(request_of(case, prompt="please FAIL here"))

    final = (await run(harness, task_id, api))[-1]

    assert final.state is TaskState.FAIL
    assert final.fail_code and final.fail_message
    assert final.result_urls == ()


@pytest.mark.parametrize("case", ["veo-text", "suno-simple", "runway", "kontext-edit", "gpt4o"])
async def test_each_family_refuses_a_flagged_prompt_at_submit(harness: Harness, case: str) -> None:
    with pytest.raises(GatewayRejectedError):
        await harness.gateway.submit(request_of(case, prompt="REJECT this"))


@pytest.mark.parametrize("api", ["veo", "suno", "runway", "aleph", "kontext", "gpt4o", "mj"])
async def test_an_unknown_task_is_unknown_to_every_family(harness: Harness, api: str) -> None:
    with pytest.raises(UnknownTaskError):
        await harness.gateway.status("no_such_task", api)


async def test_a_task_is_only_known_to_its_own_familys_status_endpoint(harness: Harness) -> None:
    task_id = await harness.gateway.submit(request_of("veo-text"))
    with pytest.raises(UnknownTaskError):
        await harness.gateway.status(task_id, "suno")
    with pytest.raises(UnknownTaskError):
        await harness.gateway.status(task_id)  # the market's recordInfo


async def test_suno_reports_lyrics_then_the_first_track_before_both_tracks(harness: Harness) -> None:
    task_id = await harness.gateway.submit(request_of("suno-simple"))

    seen = await run(harness, task_id, "suno")

    stages = [status.stage for status in seen if status.stage is not None]
    assert list(dict.fromkeys(stages)) == [Stage.LYRICS, Stage.FIRST_TRACK]
    assert seen[-1].state is TaskState.SUCCESS and seen[-1].stage is None


async def test_an_instrumental_has_no_lyrics_stage(harness: Harness) -> None:
    task_id = await harness.gateway.submit(request_of("suno-simple", instrumental=True))
    stages = {status.stage for status in await run(harness, task_id, "suno")}
    assert Stage.LYRICS not in stages and Stage.FIRST_TRACK in stages


async def test_suno_may_skip_its_stages_and_still_succeed(harness: Harness) -> None:
    fake = harness.server.gateway if isinstance(harness, HttpHarness) else harness.gateway
    fake.skip_stages_next_tasks(1)
    task_id = await harness.gateway.submit(request_of("suno-simple"))

    seen = await run(harness, task_id, "suno")

    assert all(status.stage is None for status in seen)
    assert seen[-1].state is TaskState.SUCCESS and len(seen[-1].result_urls) == 2
