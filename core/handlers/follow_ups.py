"""A follow-up button on a result (fu:<source job>:<position>): a new draft at its confirmation (or at the
input it still needs, e.g. a prompt); launching it is the ordinary launch."""

from __future__ import annotations

from core import follow_ups
from core.callbacks import int_field
from core.context import Reply, Services, Turn
from core.handlers.drafting import next_screen
from core.handlers.navigation import stale


async def start(services: Services, turn: Turn, fields: tuple[str, ...]) -> Reply:
    source = await services.storage.jobs.get(fields[0]) if fields else None
    position = int_field(fields[1]) if len(fields) > 1 else None
    if source is None or source.user_id != turn.user.id or position is None:
        return await stale(services, turn)
    model = follow_ups.chosen(services.catalog, source, position)
    if model is None:
        return Reply(toast=turn.fmt.t("follow_up.unavailable"), alert=True, rejected="MODEL_UNAVAILABLE")
    draft = follow_ups.draft_for(model, source, services.new_id(), turn.chat_id, turn.now)
    await services.storage.drafts.put(draft)
    await services.storage.users.set_active_draft(turn.user.id, draft.id)
    return Reply([turn.send(await next_screen(services, turn, model, draft))])
