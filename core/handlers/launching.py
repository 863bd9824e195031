"""Launching a draft (one charge, one job, however many taps) and starting again from a job."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import timedelta

from core import cashier, free_tier
from core.callback_data import Again, Confirm, Launch, Menu
from core.context import Reply, Services, Turn
from core.drafts import Ready, build_input, current_options, draft_from_input, next_step, text_length
from core.handlers.drafting import next_screen
from core.handlers.navigation import stale
from core.i18n import localized
from core.views.catalog import render_unavailable
from core.views.jobs import render_progress
from core.validation import problems
from core.views.common import button
from core.views.order import render_insufficient
from ports.events import CallbackPress
from ports.screens import Screen
from ports.model import Draft, Job, JobState
from ports.storage import InsufficientBalanceError, StorageUnavailableError
from ports.trace import correlation_id


async def launch(services: Services, turn: Turn, data: Launch) -> Reply:
    storage = services.storage
    draft, launched = await storage.drafts.get_with_job(data.draft)
    if draft is None or draft.user_id != turn.user.id:
        return await stale(services, turn)
    if launched is not None:
        return await _launched_before(services, turn, launched)
    model = services.catalog.model(draft.model_id)
    if model is None or not model.enabled:
        return Reply([turn.show(render_unavailable(turn.fmt))], rejected="MODEL_UNAVAILABLE")
    if not isinstance(next_step(model, draft), Ready):
        return Reply(toast=turn.fmt.t("launch.incomplete"), alert=True, rejected="VALIDATION_FAIL")
    if not services.gateway.health().accepting:
        return Reply([turn.show(notice(turn, turn.fmt.t("launch.service_down"), draft.id))], rejected="SERVICE_UNAVAILABLE")
    payload = build_input(model, draft)
    found = problems(model, payload)
    if found:
        details = "; ".join(f"{turn.fmt.field_label(p.field)}: {turn.fmt.t(f'invalid.{p.reason}')}" for p in found)
        return Reply([turn.show(notice(turn, turn.fmt.t("launch.invalid", details=details)))], rejected="VALIDATION_FAIL")
    options = current_options(model, draft)
    free = await free_tier.take(services, turn.user.id, model, turn.now, draft.id)
    price = 0 if free else services.price(model, options, text_length(draft))
    message_id = turn.event.message_id if isinstance(turn.event, CallbackPress) else None
    job = Job(
        id=draft.id,
        user_id=turn.user.id,
        chat_id=turn.chat_id,
        model_id=model.id,
        input=payload,
        price=price,
        state=JobState.CREATED,
        created_at=turn.now,
        updated_at=turn.now,
        deadline_at=turn.now + timedelta(seconds=services.settings.job_timeout(model.category)),
        language=turn.fmt.language,
        options=options,
        progress_message_id=message_id,
        cid=correlation_id.get(),
        free=free,
        source_job_id=draft.source_job_id,
    )
    try:
        job, created = await cashier.launch(storage, job)
    except StorageUnavailableError:
        if free:  # give the free try back if storage lets us; the launch error is what propagates
            with contextlib.suppress(StorageUnavailableError):
                await cashier.release_free(storage, draft.id)
        raise
    except InsufficientBalanceError as error:
        offer = await free_tier.offer(services, turn.user.id, turn.now, turn.fmt.language)
        screen = render_insufficient(turn.fmt, draft.id, price, error.balance, offer)
        return Reply([turn.show(screen)], rejected="INSUFFICIENT_BALANCE")
    if not created:
        return await _launched_before(services, turn, job)
    if turn.user.active_draft_id == draft.id:
        await storage.users.set_active_draft(turn.user.id, None)
    progress = turn.show(render_progress(turn.fmt, localized(model.names, turn.fmt.language), price, "created"))
    return Reply([progress], toast=turn.fmt.t("launch.started"), started_job=job.id,
                 once={progress: f"launch:{job.id}"})


async def _launched_before(services: Services, turn: Turn, job: Job) -> Reply:
    """A double tap, or the same launch processed again after a crash (the job carries that update's
    correlation id): nothing is charged twice. A repeat whose job has not started yet starts it and gives its
    progress screen again (sent once: keyed by the job)."""
    cid = correlation_id.get()
    repeat = job.user_id == turn.user.id and cid not in ("", "-") and job.cid == cid
    if not repeat or job.state is not JobState.CREATED:
        return Reply(toast=turn.fmt.t("launch.already"), rejected="DUPLICATE_LAUNCH")
    if turn.user.active_draft_id == job.id:
        await services.storage.users.set_active_draft(turn.user.id, None)
    model = services.catalog.model(job.model_id)
    name = localized(model.names, turn.fmt.language) if model else job.model_id
    progress = turn.show(render_progress(turn.fmt, name, job.price, "created"))
    return Reply([progress], toast=turn.fmt.t("launch.already"), rejected="DUPLICATE_LAUNCH", started_job=job.id,
                 once={progress: f"launch:{job.id}"})


def notice(turn: Turn, text: str, draft_id: str | None = None) -> Screen:
    """A refusal at launch: nothing was charged; the way back to the order (when it can still go) or the menu."""
    menu = button(turn.fmt.t("btn.menu"), Menu())
    row = (button(turn.fmt.t("btn.to_confirm"), Confirm(draft_id)), menu) if draft_id else (menu,)
    return Screen(text, (row,), "launch_refused")


async def again(services: Services, turn: Turn, data: Again) -> Reply:
    """A new draft with the job's model, files, prompt and options, at the confirmation screen."""
    job = await services.storage.jobs.get(data.job)
    if job is None or job.user_id != turn.user.id:
        return await stale(services, turn)
    model = services.catalog.model(job.model_id)
    if model is None or not model.enabled:
        return Reply([turn.send(render_unavailable(turn.fmt))], rejected="MODEL_UNAVAILABLE")
    empty = Draft(services.new_id(), turn.user.id, turn.chat_id, model.id, turn.now)
    draft = draft_from_input(model, empty, dict(job.input))
    if model.source_input is not None:  # a follow-up again: the same source
        source_task = job.input.get(model.source_input)
        if not isinstance(source_task, str):  # no source task id in the job: nothing to run the follow-up on
            return await stale(services, turn)
        draft = replace(draft, options={**draft.options, model.source_input: source_task}, source_job_id=job.source_job_id)
    await services.storage.drafts.put_active(draft)
    return Reply([turn.send(await next_screen(services, turn, model, draft))])
