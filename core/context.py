"""What every handler works with: the services behind ports, the settings, and the current turn."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Callable, Mapping

from core.i18n import Fmt
from core.pricing import PriceSettings, price_for, price_from, price_to
from ports.admin import Overrides
from ports.billing import StarsGateway
from ports.budgets import SubmitBudget
from ports.catalog import Catalog, ModelSpec, OptionValue
from ports.clock import Clock
from ports.effects import EditScreen, Effect, SendScreen
from ports.events import CallbackPress, Command, Event
from ports.generation import GenerationGateway
from ports.media import MediaProbe, MediaReader
from ports.metrics import NO_METRICS, Metrics
from ports.screens import Screen
from ports.model import User
from ports.storage import Storage

ID_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"


def new_short_id(length: int = 10) -> str:
    """A random id for callback data (drafts, jobs): short, no separators, ~50 bits."""
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(length))


DEFAULT_JOB_TIMEOUTS = {"image": 15 * 60.0, "audio": 15 * 60.0, "tools": 15 * 60.0, "video": 30 * 60.0}


@dataclass(frozen=True)
class CoreSettings:
    prices: PriceSettings
    welcome_balance: int = 0  # smallest unit, granted once per new user
    default_language: str = "ru"
    job_timeouts: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_JOB_TIMEOUTS))
    admin_ids: tuple[int, ...] = ()
    stars_packages: tuple[int, ...] = (100, 250, 500, 1000)  # Stars per package
    stars_rate: Decimal = Decimal("1.5")  # balance-currency major units per Star
    manual_amounts: tuple[int, ...] = ()  # manual top-up choices, smallest unit (empty: disabled)
    manual_details: str = ""  # where to transfer the money (shown with the receipt request)
    free_daily_limit: int = 3
    free_utc_offset_minutes: int = 0  # the free tier's day boundary (FREE_TZ)
    referral_bonus_inviter: int = 0  # smallest unit
    referral_bonus_invitee: int = 0
    admin_max_amount: int = 100_000_000  # smallest unit: the most one /credit or /debit moves (ADMIN_MAX_AMOUNT)
    bot_username: str = "TrtBot"  # for invite links t.me/<bot_username>?start=ref_<code>
    price_drift_stop: bool = False  # PRICE_DRIFT_STOP: stop selling a model KIE charged more for than its price
    support_contact: str = ""  # SUPPORT_CONTACT: @username or an https link ("" = not set)

    def job_timeout(self, category: str) -> float:
        return self.job_timeouts.get(category, DEFAULT_JOB_TIMEOUTS["video"])


PRICES_FROM_KEPT = 4096  # "from" prices remembered (models × price settings); cleared when full


@dataclass
class Services:
    storage: Storage
    catalog: Catalog
    gateway: GenerationGateway
    media: MediaReader
    clock: Clock
    settings: CoreSettings
    new_id: Callable[[], str] = new_short_id
    stars: StarsGateway | None = None  # refunds of Stars payments (Telegram); None in the simulator
    # What the process started with; ``catalog`` and ``settings.prices.markup`` carry admins' overrides.
    base_catalog: Catalog | None = None
    base_markup: Decimal | None = None
    overrides: Overrides | None = None  # the runtime overrides applied (core/runtime.py)
    overrides_read_at: datetime | None = None
    probe: MediaProbe | None = None  # measures audio/video length when the transport does not report it
    metrics: Metrics = NO_METRICS  # /metrics: job transitions (entrypoints/metrics.py)
    # KIE's submit budget (shared by every instance on PostgreSQL); None: submits are not queued here
    submit_budget: SubmitBudget | None = None
    _prices_from: dict[tuple[int, PriceSettings], tuple[ModelSpec, int]] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def price(self, model: ModelSpec, options: Mapping[str, OptionValue], text_length: int | None = None) -> int:
        return price_for(model, options, self.settings.prices, text_length)

    def price_from(self, model: ModelSpec) -> int:
        """The model's "from" price; remembered per model object and price settings (the category screen shows
        one per model on every visit, and each is a min over every option combination: issue 15's profile).
        A catalog reload brings new model objects and a markup change new settings, so neither is served stale."""
        key = (id(model), self.settings.prices)
        known = self._prices_from.get(key)
        if known is not None and known[0] is model:
            return known[1]
        if len(self._prices_from) >= PRICES_FROM_KEPT:
            self._prices_from.clear()
        price = price_from(model, self.settings.prices)
        self._prices_from[key] = (model, price)  # holding the model keeps its id from being reused
        return price

    def price_to(self, model: ModelSpec) -> int:
        return price_to(model, self.settings.prices)


@dataclass(frozen=True)
class Turn:
    """One inbound event with the user it came from."""

    event: Event
    user: User
    fmt: Fmt
    now: datetime
    new_user: bool = False
    balance: int | None = None  # read with the user as the turn began (before any money this turn moves)

    @property
    def chat_id(self) -> int:
        return self.event.chat_id

    @property
    def args(self) -> str:
        """What follows a command ("/credit 42 100" → "42 100"); "" for anything else."""
        return self.event.args if isinstance(self.event, Command) else ""

    @property
    def thread_id(self) -> int | None:
        """The forum topic the event came from (replies go there); None for the chat itself."""
        return getattr(self.event, "thread_id", None)

    def show(self, screen: Screen) -> Effect:
        """Edit the message whose button was pressed; otherwise send a new message."""
        event = self.event
        if isinstance(event, CallbackPress) and event.message_id is not None:
            return EditScreen(event.chat_id, event.message_id, screen)
        return SendScreen(event.chat_id, screen, self.thread_id)

    def send(self, screen: Screen) -> Effect:
        return SendScreen(self.chat_id, screen, self.thread_id)


@dataclass
class Reply:
    """A handler's answer: effects, the toast for a pressed button, and what happened for telemetry."""

    effects: list[Effect] = field(default_factory=list)
    toast: str = ""
    alert: bool = False
    # Set when the handler refused the input (telemetry CALLBACK_REJECTED reason_code).
    rejected: str | None = None
    started_job: str | None = None
    started_broadcast: str | None = None
    # Outbox keys naming effects by what they tell (``receipt:<charge id>``): a repeat of the handler after a
    # crash stores such an effect no second time (ports/outbox.py). Other effects are keyed by the update.
    once: dict[Effect, str] = field(default_factory=dict)
