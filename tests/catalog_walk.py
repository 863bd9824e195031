"""One model's whole journey through the simulator's driver, as a user would take it: the category, the family
(and its pages), the model card, every input it asks for, the confirmation with its price, launch, delivery.
Shared by the walk over every enabled model (fake generator) and the HTTP walk (fake KIE server)."""

from __future__ import annotations

from core.i18n import Fmt
from ports.catalog import ModelSpec
from ports.effects import SendAlbum, SendFile, SendMedia
from ports.storage import JobState
from tests.harness import Bot

PROMPT = "a red fox in the snow"
DIALOGUE = "Hello, who is there?\nJust the wind, go back to sleep."


async def press_data(bot: Bot, data: str) -> None:
    """Press, through the driver (a typed button number), the focused message's button carrying ``data``."""
    message = bot.chat.focused()
    assert message is not None, "no message with buttons"
    datas = [button.data for button in message.buttons()]
    assert data in datas, f"no button {data!r} among {datas}"
    await bot.send(str(datas.index(data) + 1))


def focused_data(bot: Bot) -> list[str | None]:
    message = bot.chat.focused()
    return [button.data for button in message.buttons()] if message else []


async def open_model(bot: Bot, model: ModelSpec) -> None:
    """Menu → category → (family →) pages until the model's button shows → its card."""
    await bot.send("/start")
    await press_data(bot, f"cat:{model.category}")
    target = f"model:{model.id}"
    family = f"fam:{model.category}:{model.family}"
    if target not in focused_data(bot) and family in focused_data(bot):
        await press_data(bot, family)
    for _ in range(20):
        if target in focused_data(bot):
            break
        await bot.press("▶️")
    await press_data(bot, target)


async def fill_inputs(bot: Bot, model: ModelSpec) -> str | None:
    """Answer what the card asks for until the confirmation shows; returns the text typed (if any)."""
    typed = None
    for _ in range(8):
        last_line = bot.last().text.splitlines()[-1]
        if "📎" in last_line and ("фото" in last_line or "photo" in last_line):
            await bot.send(f"/photo {bot.write_photo()}")
        elif "📎" in last_line and ("видео" in last_line or "video" in last_line):
            await bot.send(f"/video {bot.write_video()}")
        elif "📎" in last_line and ("аудио" in last_line or "audio" in last_line):
            await bot.send(f"/audio {bot.write_audio()}")
        elif "✍️" in last_line:
            prompt = model.prompt
            typed = DIALOGUE if prompt is not None and prompt.dialogue is not None else PROMPT
            await bot.send(typed)
        else:
            return typed
    raise AssertionError(f"{model.id}: still asking after 8 inputs: {bot.last().text!r}")


async def walk(bot: Bot, model: ModelSpec, fmt: Fmt) -> None:
    """The whole journey; asserts the confirmation's price, the charge and the delivery."""
    await open_model(bot, model)
    card = bot.screen_text()
    assert card.startswith(model.names[fmt.language]), card
    typed = await fill_inputs(bot, model)
    confirmation = bot.chat.focused()
    assert confirmation is not None
    launch = next((d for d in focused_data(bot) if d and d.startswith("launch:")), None)
    assert launch is not None, f"{model.id}: no confirmation: {confirmation.text!r}"
    draft = await bot.app.storage.drafts.get(launch.split(":", 1)[1])
    assert draft is not None
    options = {spec.name: spec.default for spec in model.inputs if spec.default is not None}
    length = len(draft.prompt) if draft.prompt is not None else None
    price = bot.app.services.price(model, options, length)
    assert fmt.money(price) in confirmation.text, (model.id, fmt.money(price), confirmation.text)
    if typed is not None and model.billing_unit == "characters":
        assert str(len(typed)) in confirmation.text
    before = await bot.balance()
    effects = len(bot.chat.effects)
    await press_data(bot, launch)
    await bot.settle()
    job = await bot.app.storage.jobs.get(draft.id)
    assert job is not None and job.state is JobState.DELIVERED, (model.id, job)
    assert job.price == price and await bot.balance() == before - price
    media = [e for e in bot.chat.effects[effects:] if isinstance(e, (SendMedia, SendFile, SendAlbum))]
    assert media or model.output.value == "text", (model.id, bot.chat.effects[effects:])
    files = sum(len(e.urls) if isinstance(e, SendAlbum) else 1 for e in media)
    assert files == expected_files(model, job.input), (model.id, files)
    if model.output.value in ("audio", "video"):  # playable in the chat: an audio message, a video
        kinds = {e.kind.value for e in media if isinstance(e, (SendMedia, SendAlbum))}
        assert model.output.value in kinds, (model.id, media)


def expected_files(model: ModelSpec, job_input: dict) -> int:
    """What the fakes return: the count option's value (num_images, n, …) or the catalog's ``results``."""
    if model.output.value == "text":
        return 0
    counted = model.quantity_field if model.billing_unit != "output_second" else None
    return int(job_input[counted]) if counted and counted in job_input else model.results
