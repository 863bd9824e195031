"""KIE's dedicated families through the whole bot on the in-process fake (the simulator's stack): each goes
launch → delivered exactly once with one charge, a failure is refunded once, Suno shows its stages and sends
both tracks with their titles."""

from __future__ import annotations

import pytest

from ports.effects import EditScreen, ResultKind, SendAlbum, SendMedia
from ports.storage import JobState
from tests.harness import running_bot

BALANCE = "5000"


async def open_model(bot, category: str, name: str) -> None:
    await bot.open_model(category, name)  # the model may sit on a later page of its category


async def launch(bot, category: str, name: str, prompt: str, *files: str) -> str:
    await open_model(bot, category, name)
    for line in files:
        await bot.send(line)
    await bot.send(prompt)
    outcome = await bot.press("Запустить")
    assert outcome.started_job is not None, bot.screen_text()
    await bot.settle()
    return outcome.started_job


def media(bot) -> list[SendMedia]:
    """Every result file sent, single or in an album."""
    found: list[SendMedia] = []
    for effect in bot.chat.effects:
        if isinstance(effect, SendMedia):
            found.append(effect)
        elif isinstance(effect, SendAlbum):
            found.extend(effect.items())
    return found


async def charges(bot) -> list[str]:
    return [entry.reason for entry in await bot.app.storage.ledger.entries(bot.user_id)]


async def test_a_suno_song_shows_its_stages_and_delivers_both_titled_tracks_once(tmp_path):
    async with running_bot(tmp_path, balance=BALANCE) as bot:
        job_id = await launch(bot, "Аудио", "Suno V5.5", "песня про дождь")

        job = await bot.app.storage.jobs.get(job_id)
        assert job.state is JobState.DELIVERED
        tracks = media(bot)
        assert [track.kind for track in tracks] == [ResultKind.AUDIO, ResultKind.AUDIO]
        assert all(track.caption.startswith("🎵 ") for track in tracks)
        edits = [effect.screen.text for effect in bot.chat.effects if isinstance(effect, EditScreen)]
        lyrics = next(i for i, text in enumerate(edits) if "Текст песни готов" in text)
        first = next(i for i, text in enumerate(edits) if "Первый трек готов" in text)
        assert lyrics < first
        for _ in range(3):  # repeated and late callbacks
            await bot.app.runner.on_task_event(job.task_id)
        assert len(media(bot)) == 2
        assert (await charges(bot)).count("launch") == 1


async def test_suno_with_your_lyrics_sends_custom_mode_with_the_style(tmp_path):
    async with running_bot(tmp_path, balance=BALANCE) as bot:
        job_id = await launch(bot, "Аудио", "Suno V5: свой текст песни", "Дождь стучит\nпо крыше")
        job = await bot.app.storage.jobs.get(job_id)
        assert job.state is JobState.DELIVERED
        (request,) = bot.app.gateway.submitted
        assert request.api == "suno" and request.model == "suno/V5/lyrics"
        assert request.input["custom_mode"] is True and request.input["style"] == "pop"


@pytest.mark.parametrize(
    ("category", "name", "files", "kind"),
    [
        ("Видео", "Veo 3.1 Fast", (), ResultKind.VIDEO),
        ("Видео", "Veo 3.1 Quality", ("/photo {photo}", "/photo {photo}"), ResultKind.VIDEO),
        ("Видео", "Runway", (), ResultKind.VIDEO),
        ("Видео", "Runway Aleph: правка видео", ("/video {video}",), ResultKind.VIDEO),
        ("Картинки", "Flux Kontext Pro", ("/photo {photo}",), ResultKind.PHOTO),
        ("Картинки", "4o Image (GPT-4o)", (), ResultKind.PHOTO),
    ],
)
async def test_each_family_is_delivered_once_with_one_charge(tmp_path, category, name, files, kind):
    async with running_bot(tmp_path, balance=BALANCE) as bot:
        lines = [line.format(photo=bot.write_photo(), video=bot.write_video()) for line in files]
        job_id = await launch(bot, category, name, "a fox in the snow", *lines)

        job = await bot.app.storage.jobs.get(job_id)
        assert job.state is JobState.DELIVERED, job
        assert [effect.kind for effect in media(bot)] == [kind]
        assert (await charges(bot)).count("launch") == 1
        (request,) = bot.app.gateway.submitted
        assert request.api != "market"
        if name == "Veo 3.1 Quality":
            assert len(request.input["image_urls"]) == 2


@pytest.mark.parametrize(
    ("category", "name"),
    [("Аудио", "Suno V5"), ("Видео", "Veo 3.1 Lite"), ("Видео", "Runway"), ("Картинки", "Flux Kontext Max"),
     ("Картинки", "4o Image (GPT-4o)")],
)
async def test_each_familys_failure_is_refunded_once(tmp_path, category, name):
    async with running_bot(tmp_path, balance=BALANCE) as bot:
        job_id = await launch(bot, category, name, "please FAIL now")

        job = await bot.app.storage.jobs.get(job_id)
        assert job.state is JobState.REFUNDED
        for _ in range(2):
            await bot.app.runner.on_task_event(job.task_id)
        assert (await charges(bot)).count("refund") == 1
        assert await bot.balance() == int(BALANCE) * 100
        assert media(bot) == []


async def test_midjourney_is_not_offered_unless_enabled(tmp_path):
    async with running_bot(tmp_path, balance=BALANCE) as bot:
        assert bot.app.services.catalog.model("mj/mj_txt2img") is None
    async with running_bot(tmp_path / "on", balance=BALANCE, MJ_ENABLED=True) as bot:
        job_id = await launch(bot, "Картинки", "Midjourney", "a castle")
        assert (await bot.app.storage.jobs.get(job_id)).state is JobState.DELIVERED
        assert len(media(bot)) == 4
