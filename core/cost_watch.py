"""Cost reconciliation: what KIE really charged for a job (recordInfo ``creditsConsumed``, stored with the job)
against what its price assumed. The first time a model's real cost exceeds its price the operator is told,
naming the model and both figures; with PRICE_DRIFT_STOP the model is not sold until a price is confirmed
(admin panel: 💲 Prices). The drift record in storage makes the alert once per model, on every instance."""

from __future__ import annotations

import logging

from core.context import Services
from core.drafts import prompt_of
from core.i18n import Fmt, localized
from core.pricing import PriceMissingError, cost_to_minor, planned_credits
from core.runtime import reload_overrides
from core.views.costs import render_drift_alert
from ports.admin import PriceDrift
from ports.effects import Messenger, MessengerUnavailableError, RecipientBlockedError, SendScreen
from ports.model import Job

log = logging.getLogger(__name__)


async def check_cost(services: Services, messenger: Messenger, job: Job) -> PriceDrift | None:
    """After a job ended with a known cost: note and announce a drift (once per model). The drift, if new."""
    if job.cost_credits is None:
        return None
    model = services.catalog.model(job.model_id)
    if model is None:
        return None
    try:
        typed = prompt_of(model, job.input) if model.billing_unit == "characters" else None
        planned = planned_credits(model, job.options, services.settings.prices, len(typed) if typed else None)
    except PriceMissingError:
        return None
    if job.cost_credits <= planned:
        return None
    drift = PriceDrift(model.id, planned, job.cost_credits, services.clock.now(), services.settings.price_drift_stop)
    if not await services.storage.runtime.note_drift(drift):
        return None
    log.error("PRICE_DRIFT", extra={"model": model.id, "planned_credits": str(planned),
                                     "real_credits": str(job.cost_credits), "stopped": drift.stopped, "job": job.id})
    if drift.stopped:
        await reload_overrides(services)  # stop selling it here at once; other instances within seconds
    settings = services.settings
    fmt = Fmt(settings.default_language, settings.prices.currency)
    screen = render_drift_alert(
        fmt, localized(model.names, fmt.language), drift,
        planned_cost=cost_to_minor(planned, settings.prices), real_cost=cost_to_minor(drift.real_credits, settings.prices),
        price=job.price,
    )
    for admin_id in settings.admin_ids:
        try:
            await messenger.apply([SendScreen(admin_id, screen)])
        except (MessengerUnavailableError, RecipientBlockedError) as error:
            log.warning("PRICE_DRIFT_ALERT_NOT_SENT", extra={"admin": admin_id, "error": type(error).__name__})
    return drift
