"""Balance, top-up and history."""

from __future__ import annotations

from core.callback_data import History, ResendResult
from core.follow_ups import follow_up_rows
from core.context import Reply, Services, Turn
from core.drafts import prompt_of
from core.handlers.navigation import stale
from core.i18n import localized
from core.views.account import HISTORY_PAGE, render_balance, render_history
from core.views.jobs import keeps_transparency, result_effects

RECENT_ENTRIES = 5


async def balance(services: Services, turn: Turn) -> Reply:
    user_id = turn.user.id
    amount = await services.storage.ledger.balance(user_id)
    entries = await services.storage.ledger.entries(user_id, RECENT_ENTRIES)
    debt = await services.storage.ledger.debt(user_id)
    return Reply([turn.show(render_balance(turn.fmt, amount, entries, debt))])


async def history(services: Services, turn: Turn, data: History) -> Reply:
    page = data.page or 0
    # One extra row tells whether an older page exists.
    jobs = await services.storage.jobs.for_user(turn.user.id, HISTORY_PAGE + 1, page * HISTORY_PAGE)
    names = {
        job.model_id: localized(model.names, turn.fmt.language)
        for job in jobs
        if (model := services.catalog.model(job.model_id)) is not None
    }
    screen = render_history(turn.fmt, jobs[:HISTORY_PAGE], names, page, has_more=len(jobs) > HISTORY_PAGE)
    return Reply([turn.show(screen)])


async def show_result(services: Services, turn: Turn, data: ResendResult) -> Reply:
    """📎 in the history: the job's result again (its files or text), as a new message."""
    job = await services.storage.jobs.get(data.job)
    if job is None or job.user_id != turn.user.id:
        return await stale(services, turn)
    model = services.catalog.model(job.model_id)
    if not (job.result_urls or job.result_text) or model is None:
        return Reply(toast=turn.fmt.t("history.no_result"), rejected="NO_RESULT")
    prompt = prompt_of(model, job.input)
    effects = result_effects(
        turn.fmt, chat_id=turn.chat_id, job_id=job.id, name=localized(model.names, turn.fmt.language),
        output=model.output, prompt=prompt, urls=job.result_urls, text=job.result_text,
        extra=follow_up_rows(turn.fmt, services.catalog, job),
        transparent=keeps_transparency(model),
    )
    return Reply(list(effects))
