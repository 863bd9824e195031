"""Durable state, split by role. Operations state intent: there is no get-balance-then-set-balance.

Every money movement carries an idempotency key; a second call with the same key changes nothing and
returns the first entry. A balance never goes negative. Implementations: JSON files (adapters/storage/
json_storage.py) and PostgreSQL; one contract suite (tests/contracts/) checks them alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any, Collection, Mapping, Protocol

from ports.catalog import OptionValue
from ports.events import UserRef

if TYPE_CHECKING:  # the roles defined beside their entities (ports/billing.py, ports/admin.py)
    from ports.admin import AuditLog, Broadcasts, RuntimeSettings, Stats, UserDirectory
    from ports.billing import FreeUsage, ManualTopups, Payments, Referrals


# --- entities ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    id: int
    created_at: datetime
    language: str | None = None  # chosen in the bot; wins over language_code
    language_code: str | None = None  # from Telegram
    username: str | None = None
    first_name: str | None = None
    active_draft_id: str | None = None
    blocked: bool = False  # the user blocked the bot (Telegram 403): nothing is sent to them
    last_seen_at: datetime | None = None
    banned: bool = False  # an admin blocked the user: the bot serves them nothing


@dataclass(frozen=True)
class LedgerEntry:
    key: str
    user_id: int
    amount: int  # smallest currency unit; positive = credit, negative = debit
    balance_after: int
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class Draft:
    """A generation being prepared: model chosen, inputs being collected. Lives under a short id that
    callback data carries; its id becomes the job id (and the debit key) at launch."""

    id: str
    user_id: int
    chat_id: int
    model_id: str
    created_at: datetime
    media: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # input name -> URLs
    prompt: str | None = None
    options: Mapping[str, OptionValue] = field(default_factory=dict)
    message_id: int | None = None  # the bot message showing this draft
    source_job_id: str | None = None  # a follow-up's source: the delivered job it works on


class JobState(str, Enum):
    CREATED = "created"  # charged, not yet sent to the generator
    SUBMITTED = "submitted"  # the generator accepted it (task id known)
    RUNNING = "running"  # the generator reports it is being processed
    SUCCEEDED = "succeeded"  # result known, not yet delivered
    DELIVERED = "delivered"
    FAILED = "failed"  # refund pending
    TIMED_OUT = "timed_out"  # refund pending
    REFUNDED = "refunded"

    @property
    def terminal(self) -> bool:
        return self in (JobState.DELIVERED, JobState.REFUNDED)


ACTIVE_JOB_STATES = frozenset({JobState.CREATED, JobState.SUBMITTED, JobState.RUNNING})


@dataclass(frozen=True)
class Job:
    id: str
    user_id: int
    chat_id: int
    model_id: str
    input: Mapping[str, Any]  # the KIE "input" object, built once at launch
    price: int
    state: JobState
    created_at: datetime
    updated_at: datetime
    deadline_at: datetime
    language: str = "ru"
    options: Mapping[str, OptionValue] = field(default_factory=dict)
    progress_message_id: int | None = None
    task_id: str | None = None
    result_urls: tuple[str, ...] = ()
    result_text: str | None = None
    error: str | None = None  # a short code: "timeout", "rejected", a KIE failCode, ...
    error_message: str | None = None
    cid: str = ""  # correlation id of the update that launched it; its logs carry it to delivery
    free: bool = False  # a free-tier run: price 0, one free try taken (given back if it fails)
    source_job_id: str | None = None  # a follow-up (Veo 1080p, …): the delivered job it was made from
    cost_credits: Decimal | None = None  # what KIE charged for the task (creditsConsumed), once known


# Fields a transition may change.
JOB_MUTABLE_FIELDS = frozenset(
    {"task_id", "result_urls", "result_text", "error", "error_message", "progress_message_id", "updated_at",
     "cost_credits"}
)


# --- errors -----------------------------------------------------------------------------------


class StorageError(Exception):
    pass


class StorageUnavailableError(StorageError):
    """The store cannot be reached or written now."""


class InsufficientBalanceError(StorageError):
    def __init__(self, balance: int, needed: int) -> None:
        super().__init__(f"balance {balance} < needed {needed}")
        self.balance = balance
        self.needed = needed


MAX_BALANCE = 2**63 - 1  # PostgreSQL's BIGINT: no storage holds a balance above it


class BalanceLimitError(StorageError):
    """A credit would take the balance above MAX_BALANCE; nothing changed (the same on every storage)."""

    def __init__(self, balance: int, amount: int) -> None:
        super().__init__(f"balance {balance} + {amount} exceeds {MAX_BALANCE}")
        self.balance = balance
        self.amount = amount


class IdempotencyConflictError(StorageError):
    """A key was reused for a different movement (another user or amount): a bug, never silently accepted."""


class UnknownUserError(StorageError):
    pass


# --- roles ------------------------------------------------------------------------------------


class Users(Protocol):
    async def ensure(self, ref: UserRef, welcome_amount: int, now: datetime) -> tuple[User, bool]:
        """Return the user, creating it (and crediting ``welcome_amount`` once, key ``welcome:<id>``)
        when new; refresh username / language_code when they changed. The bool is True when created."""
        ...

    async def get(self, user_id: int) -> User | None: ...

    async def set_language(self, user_id: int, language: str) -> None: ...

    async def set_active_draft(self, user_id: int, draft_id: str | None) -> None:
        """What the user's next message answers: a draft id, or a pending input marker such as
        ``topup:<amount>`` or ``admin:find`` (core/pending.py). None = nothing pending."""
        ...

    async def set_blocked(self, user_id: int, blocked: bool) -> None:
        """Record that the user blocked the bot (stop sending) or came back. Unknown users: no-op."""
        ...

    async def set_banned(self, user_id: int, banned: bool) -> bool:
        """An admin blocks or unblocks the user. False for an unknown user."""
        ...


class Ledger(Protocol):
    async def balance(self, user_id: int) -> int: ...

    async def credit(self, user_id: int, amount: int, key: str, reason: str, now: datetime) -> LedgerEntry:
        """Add money. When the user has a debt (a Stars refund that exceeded the balance), the same
        operation settles it first with a second entry (key ``settle:<key>``, reason "debt"). Raises
        BalanceLimitError (nothing changed) when the balance would exceed MAX_BALANCE."""
        ...

    async def debt(self, user_id: int) -> int:
        """What the user owes (smallest unit), 0 normally."""
        ...

    async def debit(self, user_id: int, amount: int, key: str, reason: str, now: datetime) -> LedgerEntry:
        """Raise InsufficientBalanceError (nothing changed) when the balance is below ``amount``."""
        ...

    async def entries(self, user_id: int, limit: int = 20) -> list[LedgerEntry]:
        """Newest first."""
        ...


class Drafts(Protocol):
    async def put(self, draft: Draft) -> None: ...

    async def get(self, draft_id: str) -> Draft | None: ...


class Jobs(Protocol):
    async def launch(self, job: Job) -> tuple[Job, bool]:
        """In one operation: debit ``job.price`` (key ``launch:<job.id>``) and store the job. When a job
        with this id exists, return it unchanged with False (a double tap). Raises InsufficientBalanceError."""
        ...

    async def get(self, job_id: str) -> Job | None: ...

    async def find_by_task(self, task_id: str) -> Job | None: ...

    async def transition(
        self, job_id: str, allowed_from: Collection[JobState], to: JobState, **changes: Any
    ) -> Job | None:
        """Compare-and-set: move to ``to`` only from ``allowed_from``; return the new job, or None when
        the job is in another state (a duplicate or late event). ``changes`` are JOB_MUTABLE_FIELDS."""
        ...

    async def refund(self, job_id: str, now: datetime) -> Job | None:
        """In one operation: credit the price back (key ``refund:<job_id>``) and move FAILED/TIMED_OUT
        to REFUNDED. None when the job is in another state (already refunded, never failed)."""
        ...

    async def in_states(self, states: Collection[JobState], limit: int = 1000) -> list[Job]:
        """Oldest first."""
        ...

    async def for_user(self, user_id: int, limit: int = 10, offset: int = 0) -> list[Job]:
        """Newest first."""
        ...


@dataclass(frozen=True)
class InboxUpdate:
    """A Telegram update as received (raw JSON), kept until it has been processed."""

    update_id: int
    payload: Mapping[str, Any]
    received_at: datetime
    chat_id: int | None = None  # updates of one chat are processed in order; None = no chat
    cid: str = ""  # correlation id given when it arrived
    # The JSON text ``payload`` was read from, when the caller has it (the webhook's body): storages keep it
    # verbatim instead of serialising ``payload`` again. Not part of equality; updates read back have None.
    text: str | None = field(default=None, compare=False, repr=False)


class Inbox(Protocol):
    """Durable intake: an update acknowledged to Telegram is never lost, and processed once."""

    async def put(self, update: InboxUpdate) -> bool:
        """Store durably. False (and nothing stored) when this update_id was seen before, pending or
        already processed (processed ids are remembered for at least 24 h, Telegram's retention)."""
        ...

    async def pending(self, limit: int = 100) -> list[InboxUpdate]:
        """Stored, not yet done; lowest update_id first."""
        ...

    async def done(self, update_id: int, now: datetime) -> None:
        """Processed: remove it from pending (remember the id for deduplication). Idempotent."""
        ...

    async def depth(self) -> int:
        """How many updates are pending."""
        ...


class Storage(Protocol):
    """The storage roles, read-only: an implementation may expose a more specific type for each."""

    @property
    def users(self) -> Users: ...

    @property
    def ledger(self) -> Ledger: ...

    @property
    def drafts(self) -> Drafts: ...

    @property
    def jobs(self) -> Jobs: ...

    @property
    def inbox(self) -> Inbox: ...

    @property
    def payments(self) -> Payments: ...

    @property
    def topups(self) -> ManualTopups: ...

    @property
    def free_usage(self) -> FreeUsage: ...

    @property
    def referrals(self) -> Referrals: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def stats(self) -> Stats: ...

    @property
    def directory(self) -> UserDirectory: ...

    @property
    def runtime(self) -> RuntimeSettings: ...

    @property
    def broadcasts(self) -> Broadcasts: ...

    async def close(self) -> None: ...
