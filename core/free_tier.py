"""The free tier: models flagged free in the catalog cost nothing for FREE_DAILY_LIMIT runs per user
per day (admins: unlimited). A run takes its free try at launch and gives it back if it fails."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from core import cashier
from core.context import Services
from core.i18n import localized
from ports.catalog import ModelSpec


@dataclass(frozen=True)
class FreeQuota:
    left: int
    limit: int
    unlimited: bool = False

    @property
    def available(self) -> bool:
        return self.unlimited or self.left > 0


def free_day(now: datetime, offset_minutes: int) -> str:
    """The free tier's calendar day (YYYY-MM-DD) at a fixed offset from UTC."""
    return (now + timedelta(minutes=offset_minutes)).date().isoformat()


async def quota(services: Services, user_id: int, model: ModelSpec, now: datetime) -> FreeQuota | None:
    """None when the model is not in the free tier (or the tier is off)."""
    settings = services.settings
    if not model.free or settings.free_daily_limit <= 0:
        return None
    if user_id in settings.admin_ids:
        return FreeQuota(settings.free_daily_limit, settings.free_daily_limit, unlimited=True)
    used = await services.storage.free_usage.used(user_id, free_day(now, settings.free_utc_offset_minutes))
    return FreeQuota(max(settings.free_daily_limit - used, 0), settings.free_daily_limit)


async def take(services: Services, user_id: int, model: ModelSpec, now: datetime, job_id: str) -> bool:
    """Take a free try for this launch; False when none is left (the run is paid instead)."""
    free = await quota(services, user_id, model, now)
    if free is None or not free.available:
        return False
    if free.unlimited:
        return True
    day = free_day(now, services.settings.free_utc_offset_minutes)
    return await cashier.consume_free(services.storage, user_id, day, free.limit, job_id)


@dataclass(frozen=True)
class FreeOffer:
    """A free model a user who cannot pay may still run today."""

    model_id: str
    name: str
    left: int
    limit: int


async def offer(services: Services, user_id: int, now: datetime, language: str) -> FreeOffer | None:
    """The first free model on sale with a free try left for this user today; None when there is none."""
    for model in services.catalog.models:
        if not model.free or not model.enabled:
            continue
        free = await quota(services, user_id, model, now)
        if free is not None and free.available:
            return FreeOffer(model.id, localized(model.names, language), free.left, free.limit)
    return None
