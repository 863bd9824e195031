"""Follow-ups on a delivered result (issue 16 item 5) through the whole bot on the in-process fake: Veo 3.1's
1080p is offered on a Veo result (not on one already made in 1080p), is its own job — priced, confirmed,
charged once, linked to its source, shown in history — delivered once, and refunded once when it fails."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from adapters.catalog.catalog_files import load_catalog_files
from core.follow_ups import follow_up_rows
from core.i18n import Fmt
from ports.effects import SendMedia, SendScreen
from ports.storage import Job, JobState
from tests.harness import running_bot
from tests.test_family_jobs import BALANCE, charges, launch, media

HD = "1080p"


def buttons(effect: SendMedia) -> list[str]:
    return [button.label for row in (effect.keyboard or ()) for button in row]


async def order_hd(bot) -> str:
    """Press 1080p on the latest result, confirm, and let it run; the follow-up job's id."""
    await bot.press(HD)
    assert "Veo 3.1 → 1080p" in bot.screen_text()
    outcome = await bot.press("Запустить")
    assert outcome.started_job is not None, bot.screen_text()
    await bot.settle()
    return outcome.started_job


async def test_veo_1080p_is_its_own_job_charged_and_delivered_once_and_linked_to_its_source(tmp_path):
    async with running_bot(tmp_path, balance=BALANCE) as bot:
        source_id = await launch(bot, "Видео", "Veo 3.1 Fast", "a fox in the snow")
        source = await bot.app.storage.jobs.get(source_id)
        (result,) = media(bot)
        assert any(HD in label for label in buttons(result))
        before = await bot.balance()

        job_id = await order_hd(bot)

        job = await bot.app.storage.jobs.get(job_id)
        assert job.state is JobState.DELIVERED
        assert job.source_job_id == source_id and job.model_id == "veo/1080p"
        assert job.input == {"task_id": source.task_id, "index": 0}
        assert job.price > 0 and await bot.balance() == before - job.price
        request = bot.app.gateway.submitted[-1]
        assert request.api == "veo_1080p" and request.input["task_id"] == source.task_id
        hd_result = media(bot)[-1]
        assert len(media(bot)) == 2 and not any(HD in label for label in buttons(hd_result))
        for _ in range(3):  # repeated and late callbacks
            await bot.app.runner.on_task_event(job.task_id)
        assert len(media(bot)) == 2
        assert (await charges(bot)).count("launch") == 2
        await bot.send("/start")
        await bot.press("История")
        assert "Veo 3.1 → 1080p" in bot.screen_text() and "Veo 3.1 Fast" in bot.screen_text()


async def test_a_failed_1080p_is_refunded_once_and_the_source_stays_delivered(tmp_path):
    async with running_bot(tmp_path, balance=BALANCE) as bot:
        source_id = await launch(bot, "Видео", "Veo 3.1 Quality", "a fox in the snow")
        before = await bot.balance()
        bot.app.gateway.fail_next_tasks(1, "1080P generation failed")

        job_id = await order_hd(bot)

        job = await bot.app.storage.jobs.get(job_id)
        assert job.state is JobState.REFUNDED
        for _ in range(2):
            await bot.app.runner.on_task_event(job.task_id)
        assert (await charges(bot)).count("refund") == 1
        assert await bot.balance() == before
        assert (await bot.app.storage.jobs.get(source_id)).state is JobState.DELIVERED
        assert len(media(bot)) == 1


def test_1080p_is_offered_only_on_a_delivered_veo_video_not_already_in_1080p():
    catalog = load_catalog_files(Path("catalog/models.yaml"))
    fmt = Fmt("en", "RUB")
    now = datetime(2026, 8, 1, tzinfo=timezone.utc)
    job = Job("j1", 1, 1, "veo/veo3_fast", {"prompt": "x"}, 100, JobState.DELIVERED, now, now,
              now + timedelta(hours=1), options={"resolution": "720p"}, task_id="t1")

    def labels(**changes) -> list[str]:
        from dataclasses import replace
        return [button.label for row in follow_up_rows(fmt, catalog, replace(job, **changes)) for button in row]

    assert labels() == ["Veo 3.1 → 1080p", "Veo 3.1 → extend"]
    assert labels(options={"resolution": "1080p"}) == ["Veo 3.1 → extend"]
    assert labels(state=JobState.REFUNDED) == []
    assert labels(model_id="veo/1080p") == []
    assert labels(model_id="runway/gen") == []


async def test_veo_extend_asks_for_a_prompt_then_runs_a_new_veo_task_on_the_source(tmp_path):
    async with running_bot(tmp_path, balance=BALANCE) as bot:
        source_id = await launch(bot, "Видео", "Veo 3.1 Fast", "a fox in the snow")
        source = await bot.app.storage.jobs.get(source_id)
        await bot.press("продолжить")
        await bot.send("the fox jumps into a river")
        assert "Veo 3.1 → продолжить" in bot.screen_text()
        outcome = await bot.press("Запустить")
        await bot.settle()

        job = await bot.app.storage.jobs.get(outcome.started_job)
        assert job.state is JobState.DELIVERED and job.source_job_id == source_id
        assert job.input == {"task_id": source.task_id, "prompt": "the fox jumps into a river"}
        assert bot.app.gateway.submitted[-1].api == "veo_extend"
        assert len(media(bot)) == 2 and (await charges(bot)).count("launch") == 2


async def test_a_follow_up_model_cannot_be_opened_without_its_source(tmp_path):
    async with running_bot(tmp_path, balance=BALANCE) as bot:
        await bot.send("/start")
        outcome = await bot.press_data("model:veo/1080p")
        assert outcome.rejected == "MODEL_UNAVAILABLE"


async def test_grok_imagine_upscale_and_extend_are_market_follow_ups_taking_the_source_task_id(tmp_path):
    async with running_bot(tmp_path, balance=BALANCE) as bot:
        source_id = await launch(bot, "Видео", "Grok Imagine: видео", "a fox in the snow")
        source = await bot.app.storage.jobs.get(source_id)
        await bot.press("улучшить")
        upscale = await bot.press("Запустить")
        await bot.settle()
        await bot.press_data(f"fu:{source_id}:1")  # the source's second follow-up: extend (needs a prompt)
        await bot.send("the fox runs")
        extend = await bot.press("Запустить")
        await bot.settle()

        jobs = [await bot.app.storage.jobs.get(outcome.started_job) for outcome in (upscale, extend)]
        assert [job.state for job in jobs] == [JobState.DELIVERED, JobState.DELIVERED]
        assert [job.source_job_id for job in jobs] == [source_id, source_id]
        upscaled, extended = bot.app.gateway.submitted[-2:]
        assert (upscaled.api, upscaled.model) == ("market", "grok-imagine/upscale")
        assert upscaled.input == {"task_id": source.task_id, "resolution": "720p"}  # KIE's documented default
        assert extended.input == {"task_id": source.task_id, "prompt": "the fox runs", "extend_times": "6",
                                  "extend_at": 2}
        assert (await charges(bot)).count("launch") == 3


async def test_suno_offers_wav_and_extend_per_track_each_its_own_job(tmp_path):
    async with running_bot(tmp_path, balance=BALANCE) as bot:
        source_id = await launch(bot, "Аудио", "Suno V5.5", "песня про дождь")
        source = await bot.app.storage.jobs.get(source_id)
        labels = buttons(media(bot)[-1])
        assert [label for label in labels if "трек" in label] == [
            "🎧 WAV · трек 1", "🎧 WAV · трек 2", "➕ Продлить трек 1", "➕ Продлить трек 2"]
        await bot.press("WAV · трек 2")
        wav = await bot.press("Запустить")
        await bot.settle()
        await bot.press_data(f"fu:{source_id}:2")  # extend track 1
        extend = await bot.press("Запустить")
        await bot.settle()

        jobs = [await bot.app.storage.jobs.get(outcome.started_job) for outcome in (wav, extend)]
        assert [job.state for job in jobs] == [JobState.DELIVERED, JobState.DELIVERED]
        assert [job.source_job_id for job in jobs] == [source_id, source_id]
        assert jobs[0].input == {"task_id": source.task_id, "index": 1}
        assert [request.api for request in bot.app.gateway.submitted[-2:]] == ["suno_wav", "suno_extend"]
        assert len(media(bot)) == 2 + 1 + 2  # the song, the WAV, the extension's two tracks
        assert (await charges(bot)).count("launch") == 3


async def test_a_midjourney_grid_offers_u1_to_u4_and_v1_to_v4_in_two_rows(tmp_path):
    async with running_bot(tmp_path, balance=BALANCE, MJ_ENABLED=True) as bot:
        source_id = await launch(bot, "Картинки", "Midjourney", "a castle")
        source = await bot.app.storage.jobs.get(source_id)
        # A grid comes as an album, its buttons in a message of their own after it.
        (buttons_message,) = [effect for effect in bot.chat.effects
                              if isinstance(effect, SendScreen) and effect.screen.screen_id == "job_result_buttons"]
        rows = [[button.label for button in row] for row in buttons_message.screen.keyboard]
        assert rows[:2] == [["U1", "U2", "U3", "U4"], ["V1", "V2", "V3", "V4"]]
        await bot.press("U2")
        upscale = await bot.press("Запустить")
        await bot.settle()
        await bot.press_data(f"fu:{source_id}:6")  # V3
        vary = await bot.press("Запустить")
        await bot.settle()

        jobs = [await bot.app.storage.jobs.get(outcome.started_job) for outcome in (upscale, vary)]
        assert [job.state for job in jobs] == [JobState.DELIVERED, JobState.DELIVERED]
        assert jobs[0].input == {"task_id": source.task_id, "image_index": 1}
        assert jobs[1].input == {"task_id": source.task_id, "image_index": 3}
        assert len(media(bot)) == 4 + 1 + 4
        assert (await charges(bot)).count("launch") == 3


async def test_midjourneys_follow_ups_are_off_with_midjourney(tmp_path):
    async with running_bot(tmp_path, balance=BALANCE) as bot:
        assert bot.app.services.catalog.model("mj_upscale/u1") is None


async def test_again_on_a_follow_up_runs_it_again_on_the_same_source(tmp_path):
    async with running_bot(tmp_path, balance=BALANCE) as bot:
        source_id = await launch(bot, "Видео", "Veo 3.1 Fast", "a fox in the snow")
        first = await bot.app.storage.jobs.get(await order_hd(bot))
        await bot.press("Ещё раз")
        outcome = await bot.press("Запустить")
        await bot.settle()

        again = await bot.app.storage.jobs.get(outcome.started_job)
        assert again.id != first.id and again.state is JobState.DELIVERED
        assert again.input == first.input and again.source_job_id == source_id


async def test_again_on_a_follow_up_whose_job_lost_its_source_task_answers_menu_updated(tmp_path):
    async with running_bot(tmp_path, balance=BALANCE) as bot:
        await bot.send("/start")
        now = bot.clock.now()
        orphan = Job("fu-orphan", bot.user_id, bot.user_id, "veo/1080p", {"index": 0}, 0, JobState.DELIVERED, now, now,
                     now + timedelta(hours=1), task_id="t-orphan")
        await bot.app.storage.jobs.launch(orphan)

        outcome = await bot.press_data("again:fu-orphan")

        assert outcome.rejected == "UNKNOWN_CALLBACK" and outcome.started_job is None
        assert (await bot.app.storage.users.get(bot.user_id)).active_draft_id is None
