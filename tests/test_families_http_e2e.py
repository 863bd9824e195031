"""Issue 16's done-when checks over HTTP, through the whole bot (fake Bot API, real aiohttp routes, KieHttpGateway)
against the fake KIE server: a Veo 3.1 video from text and from two frames, a Runway video, an Aleph edit, a Kontext
edit and a 4o image each go launch → delivered exactly once with one charge, whether callbacks never come (polling
alone), come twice or come late (polling too slow to matter); each family's failure is refunded once."""

from __future__ import annotations

import pytest

from adapters.kie.fake_media import png_bytes, sample_video_bytes
from core.job_runner import RunnerSettings
from entrypoints.fake_stack import FAST_RUNNER
from entrypoints.smoke_checks import callback_update, message_update
from ports.storage import JobState
from tests.test_follow_ups_http import jobs_of
from tests.test_kie_e2e import bot_on_kie
from tests.test_kie_families_http import USER

BALANCE = "1000"  # major units: every family's price fits
START = 100000
SLOW_POLLING = RunnerSettings(poll_first=600, poll_max=600)  # callbacks drive the job
FAMILIES = [
    # (catalog id, files sent first, Telegram message kind of the result, KIE endpoint)
    ("veo/veo3_fast", (), "video", "veo/generate"),
    ("veo/veo3", ("photo", "photo"), "video", "veo/generate"),
    ("runway/gen4", (), "video", "runway/generate"),
    ("aleph/aleph", ("video",), "video", "aleph/generate"),
    ("kontext/flux-kontext-pro", ("photo",), "photo", "kontext/generate"),
    ("gpt4o/4o-image", (), "photo", "gpt4o/generate"),
]


async def send_file(client, kind: str, index: int) -> None:
    file_id = f"user-{kind}-{index}"
    update = message_update(USER, "")
    update["message"].pop("text")
    if kind == "photo":
        client.api.add_file(file_id, png_bytes(f"frame {index}"))
        update["message"]["photo"] = [{"file_id": file_id, "file_unique_id": file_id, "width": 256, "height": 256}]
    else:
        client.api.add_file(file_id, sample_video_bytes())
        update["message"]["video"] = {"file_id": file_id, "file_unique_id": file_id, "width": 320, "height": 240,
                                      "duration": 2, "mime_type": "video/mp4"}
    await client.post_update(update)
    await client.settle()


async def launch(client, model_id: str, files: tuple[str, ...], prompt: str) -> None:
    """The model's card straight from the menu message (the screen walk through the categories is the
    in-process tests' business: tests/test_family_jobs.py), then its files, prompt and launch."""
    await client.say(USER, "/start")
    menu = client.last_with_buttons(USER)
    assert await client.post_update(callback_update(USER, f"model:{model_id}", menu.message_id)) == 200
    await client.settle()
    for index, kind in enumerate(files):
        await send_file(client, kind, index)
    await client.say(USER, prompt)
    await client.press(USER, "Запустить")
    await client.settle()


def sent(client, kind: str) -> list:
    return [m for m in client.api.messages(USER) if m.kind == kind and m.from_bot]


CASES = [(*family, "once") for family in FAMILIES] + [
    (*FAMILIES[0], mode) for mode in ("never", "twice", "late")] + [(*FAMILIES[4], "late")]


@pytest.mark.parametrize(("model_id", "files", "kind", "endpoint", "mode"), CASES)
async def test_each_family_over_http_is_delivered_once_with_one_charge(tmp_path, model_id, files, kind, endpoint,
                                                                       mode):
    runner = {"never": FAST_RUNNER, "once": FAST_RUNNER}.get(mode, SLOW_POLLING)  # once: callback races polling
    async with bot_on_kie(tmp_path, runner, WELCOME_BALANCE=BALANCE) as (client, kie):
        kie.set_callback_mode(mode, **({"delay": 0.3} if mode == "late" else {}))
        await launch(client, model_id, files, "a fox in the snow")
        if mode != "never":
            await kie.wait_for_callbacks({"twice": 2}.get(mode, 1), timeout=10)
            await client.settle()

        (job,) = await jobs_of(client)
        assert job.state is JobState.DELIVERED, job
        (create,) = kie.requests_to(endpoint)
        if model_id == "veo/veo3":
            assert len(create.body["imageUrls"]) == 2
            assert create.body["generationType"] == "FIRST_AND_LAST_FRAMES_2_VIDEO"
        assert len(sent(client, kind)) == 1
        entries = await client.server.app.storage.ledger.entries(USER)
        assert [e.reason for e in entries].count("launch") == 1
        assert await client.server.app.storage.ledger.balance(USER) == START - job.price


@pytest.mark.parametrize(("model_id", "files", "kind", "endpoint"), FAMILIES)
async def test_each_familys_failure_over_http_is_refunded_once(tmp_path, model_id, files, kind, endpoint):
    async with bot_on_kie(tmp_path, WELCOME_BALANCE=BALANCE) as (client, kie):
        kie.set_callback_mode("twice")
        await launch(client, model_id, files, "please FAIL now")
        await kie.wait_for_callbacks(2, timeout=10)
        await client.settle()

        (job,) = await jobs_of(client)
        assert job.state is JobState.REFUNDED, job
        entries = await client.server.app.storage.ledger.entries(USER)
        assert [e.reason for e in entries].count("refund") == 1
        assert await client.server.app.storage.ledger.balance(USER) == START
        assert sent(client, kind) == []
