"""What a user sees while a job runs and when it ends."""

from __future__ import annotations

from core.callback_data import Again, Original
from core.failures import failure_reason, raw_reason
from core.i18n import Fmt, truncate
from core.views.common import button, lines, menu_button
from ports.catalog import ModelSpec, OutputKind
from ports.effects import ALBUM_MAX, DeliveryNote, EditScreen, Effect, ResultKind, SendAlbum, SendMedia, SendScreen
from ports.model import Job, JobState
from ports.screens import Keyboard, Screen

CAPTION_LIMIT = 1024
TEXT_LIMIT = 4096

RESULT_KINDS = {OutputKind.IMAGE: ResultKind.PHOTO, OutputKind.VIDEO: ResultKind.VIDEO, OutputKind.AUDIO: ResultKind.AUDIO}


def render_progress(
    fmt: Fmt, name: str, price: int, stage: str, progress: int | None = None, place: int | None = None
) -> Screen:
    """``stage``: created | waiting (in our submission queue, at ``place``) | queued | running. No buttons: this
    message is edited until the job ends."""
    if stage == "running" and progress is not None:
        status = fmt.t("job.state.running_progress", progress=progress)
    elif stage == "waiting" and place is not None:
        status = fmt.t("job.state.waiting", place=fmt.ordinal(place))
    else:
        status = fmt.t(f"job.state.{stage}")
    text = lines(
        fmt.t("job.title", name=name),
        status,
        fmt.t("job.charged", price=fmt.money(price)) if price else None,
        "",
        fmt.t("job.waiting_hint") if stage == "waiting" else fmt.t("job.wait_hint"),
    )
    return Screen(text, (), "job_progress")


def render_done(fmt: Fmt, name: str) -> Screen:
    return Screen(fmt.t("job.done", name=name), (), "job_done")


def result_keyboard(fmt: Fmt, job_id: str, original: bool = False) -> Keyboard:
    """"🔁 again" and "🏠 menu"; with ``original``, "📄 Original" too (the image files as documents)."""
    rows = ((button(fmt.t("btn.again"), Again(job_id)), menu_button(fmt, new_message=True)),)
    return rows + ((button(fmt.t("btn.original"), Original(job_id)),),) if original else rows


def keeps_transparency(model: ModelSpec | None) -> bool:
    """Image results with a transparent background (background removal): a photo would flatten them, so they
    are sent as files."""
    return model is not None and model.output is OutputKind.IMAGE and (
        "remove-background" in model.id or "background-remov" in model.id or model.billing_unit == "removal")


def delivery_notes(fmt: Fmt) -> dict[str, str]:
    return {note.value: fmt.t(f"result.note.{note.value}") for note in DeliveryNote}


def albums(urls: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Files split into albums of at most ALBUM_MAX, as even as possible (never an album of one: 11 → 6 + 5)."""
    count = -(-len(urls) // ALBUM_MAX)
    size, extra = divmod(len(urls), count)
    found, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        found.append(urls[start:end])
        start = end
    return found


def render_failed(
    fmt: Fmt, name: str, job_id: str, *, reason: str, refunded: int, timed_out: bool = False, detail: str | None = None
) -> Screen:
    """``reason``: in the user's language; ``detail``: the generator's raw reason, shown to admins only."""
    text = lines(
        fmt.t("job.timed_out", name=name) if timed_out else fmt.t("job.failed", name=name, reason=reason),
        fmt.t("job.refunded", amount=fmt.money(refunded)) if refunded else None,
        fmt.t("failure.admin_detail", detail=detail) if detail else None,
    )
    return Screen(text, result_keyboard(fmt, job_id), "job_failed")


def failed_notice(fmt: Fmt, name: str, job: Job, admin: bool) -> Effect:
    """What a failed or timed-out job tells its user: the progress message turned into the failure (a new
    message when there is none); admins also see the generator's raw reason."""
    screen = render_failed(
        fmt, name, job.id, reason=fmt.t(f"failure.{failure_reason(job.error, job.error_message)}"),
        refunded=job.price, timed_out=job.state is JobState.TIMED_OUT,
        detail=raw_reason(job.error, job.error_message) if admin else None,
    )
    if job.progress_message_id is not None:
        return EditScreen(job.chat_id, job.progress_message_id, screen)
    return SendScreen(job.chat_id, screen)

def result_effects(
    fmt: Fmt,
    *,
    chat_id: int,
    job_id: str,
    name: str,
    output: OutputKind,
    prompt: str | None,
    urls: tuple[str, ...],
    text: str | None,
    transparent: bool = False,
    extra: Keyboard = (),
) -> list[Effect]:
    """The result: one file with its caption and buttons; several files as albums (one caption, on the first)
    followed by one message with the buttons (an album carries none). Images offer "📄 Original"; transparent
    images go as files with a word on why. ``extra`` rows (the follow-ups that apply: core/follow_ups.py) go
    above the result's own buttons."""
    if output is OutputKind.TEXT or not urls:
        body = fmt.t("job.result_text", name=name, text=text or "")
        keyboard = (*extra, *result_keyboard(fmt, job_id))
        return [SendScreen(chat_id, Screen(truncate(body, TEXT_LIMIT), keyboard, "job_result"))]
    keyboard = (*extra, *result_keyboard(fmt, job_id, original=output is OutputKind.IMAGE and not transparent))
    if prompt:
        caption = fmt.t("job.result_caption", name=name, prompt=truncate(prompt, 200))
    else:
        caption = fmt.t("job.result_caption_no_prompt", name=name)
    if transparent:
        caption = f"{caption}\n{fmt.t('result.note.transparent')}"
    caption = truncate(caption, CAPTION_LIMIT)
    kind = ResultKind.DOCUMENT if transparent else RESULT_KINDS[output]
    notes = delivery_notes(fmt)
    # Audio results with titles (Suno's tracks: ``text`` holds one title per URL): one message per track, each
    # captioned with its title, the buttons under the last.
    titles = (text or "").splitlines() if output is OutputKind.AUDIO else []
    if titles:
        captions = [fmt.t("job.track_caption", title=title) if title.strip() else "" for title in titles]
        captions += [""] * (len(urls) - len(captions))
        last = "\n".join(part for part in (captions[len(urls) - 1], caption) if part)
        effects: list[Effect] = [
            SendMedia(chat_id, kind, url, captions[index], (), notes) for index, url in enumerate(urls[:-1])]
        effects.append(SendMedia(chat_id, kind, urls[-1], truncate(last, CAPTION_LIMIT), keyboard, notes))
        return effects
    if len(urls) == 1:
        return [SendMedia(chat_id, kind, urls[0], caption, keyboard, notes)]
    effects = [
        SendAlbum(chat_id, kind, group, caption if index == 0 else "", notes) for index, group in enumerate(albums(urls))
    ]
    buttons = Screen(fmt.t("job.result_buttons", name=name, count=len(urls)), keyboard, "job_result_buttons")
    effects.append(SendScreen(chat_id, buttons))
    return effects


def original_effects(fmt: Fmt, chat_id: int, urls: tuple[str, ...]) -> list[Effect]:
    """"📄 Original": the image files as documents (Telegram keeps them as they are), albums when several."""
    caption, notes = fmt.t("result.original"), delivery_notes(fmt)
    if len(urls) == 1:
        return [SendMedia(chat_id, ResultKind.DOCUMENT, urls[0], caption, (), notes)]
    return [SendAlbum(chat_id, ResultKind.DOCUMENT, group, caption if index == 0 else "", notes)
            for index, group in enumerate(albums(urls))]
