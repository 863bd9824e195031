"""What a user can do with a delivered result beyond "again": fetch the image files as documents (📄 Original),
which Telegram keeps byte for byte where a photo is recompressed."""

from __future__ import annotations

from core.callback_data import Original
from core.context import Reply, Services, Turn
from core.handlers.navigation import stale
from core.views.jobs import original_effects


async def original(services: Services, turn: Turn, data: Original) -> Reply:
    """orig:<job>: only the job's owner; only files the job produced."""
    job = await services.storage.jobs.get(data.job)
    if job is None or job.user_id != turn.user.id:
        return await stale(services, turn)
    if not job.result_urls:
        return Reply(toast=turn.fmt.t("result.no_original"), rejected="NO_RESULT")
    return Reply(original_effects(turn.fmt, turn.chat_id, job.result_urls))
