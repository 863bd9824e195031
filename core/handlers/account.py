"""Balance, top-up and history."""

from __future__ import annotations

from core.callbacks import int_field
from core.context import Reply, Services, Turn
from core.handlers.navigation import stale
from core.i18n import localized
from core.views.account import HISTORY_PAGE, render_balance, render_history, render_topup

RECENT_ENTRIES = 5


async def balance(services: Services, turn: Turn, fields: tuple[str, ...] = ()) -> Reply:
    user_id = turn.user.id
    amount = await services.storage.ledger.balance(user_id)
    entries = await services.storage.ledger.entries(user_id, RECENT_ENTRIES)
    return Reply([turn.show(render_balance(turn.fmt, amount, entries))])


async def topup(services: Services, turn: Turn, fields: tuple[str, ...] = ()) -> Reply:
    return Reply([turn.show(render_topup(turn.fmt, turn.user.id))])


async def history(services: Services, turn: Turn, fields: tuple[str, ...] = ()) -> Reply:
    page = int_field(fields[0]) if fields else 0
    if page is None:
        return await stale(services, turn)
    # One extra row tells whether an older page exists.
    jobs = await services.storage.jobs.for_user(turn.user.id, HISTORY_PAGE + 1, page * HISTORY_PAGE)
    names = {
        job.model_id: localized(model.names, turn.fmt.language)
        for job in jobs
        if (model := services.catalog.model(job.model_id)) is not None
    }
    screen = render_history(turn.fmt, jobs[:HISTORY_PAGE], names, page, has_more=len(jobs) > HISTORY_PAGE)
    return Reply([turn.show(screen)])
