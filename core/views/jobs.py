"""What a user sees while a job runs and when it ends."""

from __future__ import annotations

from core.i18n import Fmt, truncate
from core.views.common import button, lines, menu_button
from ports.catalog import OutputKind
from ports.effects import Effect, ResultKind, SendMedia, SendScreen
from ports.screens import Keyboard, Screen

CAPTION_LIMIT = 1024
TEXT_LIMIT = 4096

RESULT_KINDS = {OutputKind.IMAGE: ResultKind.PHOTO, OutputKind.VIDEO: ResultKind.VIDEO, OutputKind.AUDIO: ResultKind.AUDIO}


def render_progress(fmt: Fmt, name: str, price: int, stage: str, progress: int | None = None) -> Screen:
    """``stage``: created | queued | running. No buttons: this message is edited until the job ends."""
    if stage == "running" and progress is not None:
        status = fmt.t("job.state.running_progress", progress=progress)
    else:
        status = fmt.t(f"job.state.{stage}")
    text = lines(
        fmt.t("job.title", name=name),
        status,
        fmt.t("job.charged", price=fmt.money(price)) if price else None,
        "",
        fmt.t("job.wait_hint"),
    )
    return Screen(text, (), "job_progress")


def render_done(fmt: Fmt, name: str) -> Screen:
    return Screen(fmt.t("job.done", name=name), (), "job_done")


def result_keyboard(fmt: Fmt, job_id: str) -> Keyboard:
    return ((button(fmt.t("btn.again"), "again", job_id), menu_button(fmt, new_message=True)),)


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
) -> list[Effect]:
    """The result as media (one message per file) with "🔁 again" and "🏠 menu" under the last one."""
    keyboard = result_keyboard(fmt, job_id)
    if output is OutputKind.TEXT or not urls:
        body = fmt.t("job.result_text", name=name, text=text or "")
        return [SendScreen(chat_id, Screen(truncate(body, TEXT_LIMIT), keyboard, "job_result"))]
    if prompt:
        caption = fmt.t("job.result_caption", name=name, prompt=truncate(prompt, 200))
    else:
        caption = fmt.t("job.result_caption_no_prompt", name=name)
    kind = RESULT_KINDS[output]
    # Audio results with titles (Suno's tracks: ``text`` holds one title per URL) are captioned each.
    titles = (text or "").splitlines() if output is OutputKind.AUDIO else []
    captions = [fmt.t("job.track_caption", title=title) if title.strip() else "" for title in titles]
    captions += [""] * (len(urls) - len(captions))
    last = "\n".join(part for part in (captions[len(urls) - 1], caption) if part)
    effects: list[Effect] = [SendMedia(chat_id, kind, url, captions[index]) for index, url in enumerate(urls[:-1])]
    effects.append(SendMedia(chat_id, kind, urls[-1], truncate(last, CAPTION_LIMIT), keyboard))
    return effects
