"""A follow-up button on a result (fu:<source job>:<position>): a new draft at its confirmation (or at the
input it still needs, e.g. a prompt); launching it is the ordinary launch."""

from __future__ import annotations

from core import follow_ups
from core.callback_data import FollowUp
from core.context import Reply, Services, Turn
from core.handlers.drafting import next_screen
from core.handlers.navigation import stale


async def start(services: Services, turn: Turn, data: FollowUp) -> Reply:
    source = await services.storage.jobs.get(data.job)
    if source is None or source.user_id != turn.user.id:
        return await stale(services, turn)
    model = follow_ups.chosen(services.catalog, source, data.position)
    if model is None:
        return Reply(toast=turn.fmt.t("follow_up.unavailable"), alert=True, rejected="MODEL_UNAVAILABLE")
    draft = follow_ups.draft_for(model, source, services.new_id(), turn.chat_id, turn.now)
    await services.storage.drafts.put_active(draft)
    return Reply([turn.send(await next_screen(services, turn, model, draft))])
