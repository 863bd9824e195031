"""Follow-ups on a delivered result (Veo 1080p, …): which ones a job offers, and the draft that starts one.

A follow-up is a model of its own in the catalog (``ModelSpec.source_input`` names the input that receives
the source's KIE task id); its job goes through the ordinary order: priced, confirmed, charged once by its
id, refunded on failure, and keeps the source job's id. The catalog decides where one applies: the source
model lists it (``follow_ups``), the source job must have been delivered with a task id, and none of the
follow-up's ``source_unless`` options may match the source's options."""

from __future__ import annotations

from datetime import datetime

from core.callback_data import FollowUp
from core.i18n import Fmt, localized
from core.views.common import button
from ports.catalog import Catalog, ModelSpec
from ports.screens import Keyboard
from ports.storage import Draft, Job, JobState

SHORT_LABEL = 4  # a label this short goes four to a row


def applies(follow_up: ModelSpec | None, job: Job) -> bool:
    if follow_up is None or not follow_up.enabled or follow_up.source_input is None or not job.task_id:
        return False
    if job.state is not JobState.DELIVERED:
        return False
    return not any(job.options.get(name) == value for name, value in follow_up.source_unless.items())


def offered(catalog: Catalog, job: Job) -> list[tuple[int, ModelSpec]]:
    """(position, model) of each follow-up that applies to this job, in catalog order."""
    model = catalog.model(job.model_id)
    if model is None:
        return []
    found = []
    for position, model_id in enumerate(model.follow_ups):
        follow_up = catalog.model(model_id)
        if follow_up is not None and applies(follow_up, job):
            found.append((position, follow_up))
    return found


def follow_up_rows(fmt: Fmt, catalog: Catalog, job: Job) -> Keyboard:
    """One button per follow-up that applies (added above the result's own buttons): two to a row, four when
    every label is short (Midjourney's U1–U4 / V1–V4)."""
    buttons = [button(localized(model.names, fmt.language), FollowUp(job.id, position))
               for position, model in offered(catalog, job)]
    per_row = 4 if all(len(item.label) <= SHORT_LABEL for item in buttons) else 2
    return tuple(tuple(buttons[start:start + per_row]) for start in range(0, len(buttons), per_row))


def chosen(catalog: Catalog, job: Job, position: int) -> ModelSpec | None:
    """The follow-up at ``position`` of the job's model, if it still applies."""
    model = catalog.model(job.model_id)
    if model is None or not 0 <= position < len(model.follow_ups):
        return None
    follow_up = catalog.model(model.follow_ups[position])
    return follow_up if follow_up is not None and applies(follow_up, job) else None


def draft_for(follow_up: ModelSpec, source: Job, draft_id: str, chat_id: int, now: datetime) -> Draft:
    """The follow-up's draft: the source's task id in its source input, the source job's id kept."""
    assert follow_up.source_input is not None and source.task_id is not None
    return Draft(
        draft_id, source.user_id, chat_id, follow_up.id, now,
        options={follow_up.source_input: source.task_id}, source_job_id=source.id,
    )
