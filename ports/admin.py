"""What operators need: an audit log of their actions, business statistics, finding users, runtime
switches for models and the markup, and broadcasts that survive restarts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Mapping, Protocol

from ports.model import AuditEntry, User  # noqa: F401 - AuditEntry re-exported


class AuditLog(Protocol):
    async def record(self, entry: AuditEntry) -> None: ...

    async def recent(self, limit: int = 20) -> list[AuditEntry]:
        """Newest first."""
        ...


@dataclass(frozen=True)
class Revenue:
    amount: int  # smallest unit of the balance currency, credited by payments (Stars and manual)
    stars: int
    payments: int  # how many


@dataclass(frozen=True)
class StatsSummary:
    users_total: int
    users_active: Mapping[int, int]  # days (1, 7, 30) -> users seen within them
    jobs_by_state: Mapping[str, int]
    top_models: tuple[tuple[str, int], ...]  # (model id, jobs) most used first
    revenue: Mapping[int, Revenue]  # days (1, 7, 30) -> money in
    refunds: int  # jobs refunded
    refunded_amount: int


class Stats(Protocol):
    async def summary(self, now: datetime, top: int = 5) -> StatsSummary: ...

    async def costs(self, since: datetime) -> list[ModelCosts]:
        """Per model, the delivered jobs created at or after ``since``: paid against KIE's charge; most paid first."""
        ...


class UserDirectory(Protocol):
    async def find(self, query: str) -> User | None:
        """By numeric id or @username (case-insensitive)."""
        ...

    async def touch(self, user_id: int, now: datetime) -> None:
        """Record activity (users_active); cheap to call on every update: implementations may skip the
        write when the last record is recent."""
        ...


@dataclass(frozen=True)
class PriceDrift:
    """A job of ``model_id`` cost more KIE credits than its price assumed (the price is stale, or the
    estimate too low). Kept until the operator confirms a price for the model."""

    model_id: str
    catalog_credits: Decimal  # what the price assumed the job would cost
    real_credits: Decimal  # what KIE charged (recordInfo creditsConsumed)
    at: datetime
    stopped: bool = False  # PRICE_DRIFT_STOP: the model is not sold until a price is confirmed


@dataclass(frozen=True)
class Overrides:
    """Runtime changes an admin made on top of the catalog file and the settings."""

    disabled_models: frozenset[str] = frozenset()
    markup: Decimal | None = None
    # Operators' prices: KIE credits per billed unit, for every option (replaces the catalog's rules).
    prices: Mapping[str, Decimal] = field(default_factory=dict)
    drifts: Mapping[str, PriceDrift] = field(default_factory=dict)  # by model id


class RuntimeSettings(Protocol):
    async def overrides(self) -> Overrides: ...

    async def set_model_enabled(self, model_id: str, enabled: bool) -> None: ...

    async def set_markup(self, markup: Decimal | None) -> None: ...

    async def set_price(self, model_id: str, credits: Decimal | None) -> None:
        """Set the model's price (KIE credits > 0 per billed unit; None: back to the catalog's). Either way
        the operator has confirmed a price: the model's drift record (and its stop) is cleared."""
        ...

    async def note_drift(self, drift: PriceDrift) -> bool:
        """Record a model's drift. True only when the model had none recorded (alert the operator once);
        a later drift of the same model changes nothing until a price is confirmed."""
        ...


@dataclass(frozen=True)
class ModelCosts:
    """One model's money over delivered jobs: what users paid against what KIE charged."""

    model_id: str
    jobs: int  # delivered jobs
    paid: int  # smallest unit, what users were charged for them
    costed_jobs: int  # of those, the ones KIE reported a cost for
    credits: Decimal  # KIE credits charged for the costed jobs
    paid_costed: int  # what users paid for the costed jobs (the margin compares these two)


class BroadcastState(str, Enum):
    DRAFT = "draft"  # shown to the admin as a preview, waiting for confirmation
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Broadcast:
    id: str
    admin_id: int
    text: str
    created_at: datetime
    photo_file_id: str | None = None
    state: BroadcastState = BroadcastState.DRAFT
    cursor: int = 0  # the last user id handled: sending resumes after it
    delivered: int = 0
    failed: int = 0
    blocked: int = 0
    updated_at: datetime | None = None


class Broadcasts(Protocol):
    async def create(self, broadcast: Broadcast) -> None: ...

    async def get(self, broadcast_id: str) -> Broadcast | None: ...

    async def start(self, broadcast_id: str, now: datetime) -> Broadcast | None:
        """DRAFT → SENDING once (a second confirm changes nothing and returns None)."""
        ...

    async def recipients(self, after_user_id: int, limit: int) -> list[int]:
        """User ids greater than ``after_user_id`` who have not blocked the bot, ascending."""
        ...

    async def advance(
        self, broadcast_id: str, cursor: int, delivered: int, failed: int, blocked: int, now: datetime
    ) -> None:
        """Move the cursor and add to the counts (one batch done)."""
        ...

    async def finish(self, broadcast_id: str, state: BroadcastState, now: datetime) -> None: ...

    async def sending(self) -> list[Broadcast]:
        """Broadcasts to resume after a restart."""
        ...
