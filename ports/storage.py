"""Durable state, split by role: reads, simple row updates, the job compare-and-set, the inbox; and the
unit of work (ports/uow.py) through which the core makes every change that moves money or must be atomic.

The rules (every money movement keyed and idempotent, a balance never negative, job transitions) are
decided in the core (core/accounts.py, core/cashier.py, core/job_states.py); the storages persist rows and
keep UNIQUE / CHECK constraints as the backstop. Implementations: JSON files (adapters/storage/
json_storage.py) and PostgreSQL; one contract suite (tests/contracts/) checks them alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Collection, Mapping, Protocol, Sequence

from ports.model import (  # noqa: F401 - the entities, re-exported where they were (journals name them here)
    ACTIVE_JOB_STATES,
    JOB_MUTABLE_FIELDS,
    Draft,
    Job,
    JobState,
    LedgerEntry,
    User,
)

if TYPE_CHECKING:  # the roles defined beside their entities (ports/billing.py, ports/admin.py)
    from ports.admin import AuditLog, Broadcasts, RuntimeSettings, Stats, UserDirectory
    from ports.billing import FreeUsage, ManualTopups, Payments, Referrals
    from ports.outbox import Outbox, OutboxMessage
    from ports.uow import UnitOfWork


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


class ConstraintViolationError(StorageError):
    """A write broke a constraint the storage keeps as a backstop (a ledger key used twice, a negative
    balance, a row added twice): the core decided wrongly; the unit of work rolled back."""


# --- roles ------------------------------------------------------------------------------------


class Users(Protocol):
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

    async def debt(self, user_id: int) -> int:
        """What the user owes (smallest unit), 0 normally."""
        ...

    async def entries(self, user_id: int, limit: int = 20) -> list[LedgerEntry]:
        """Newest first."""
        ...


class Drafts(Protocol):
    async def put(self, draft: Draft) -> None: ...

    async def put_active(self, draft: Draft) -> None:
        """``put`` and ``users.set_active_draft(draft.user_id, draft.id)`` at once (one round trip where the
        storage can). UnknownUserError when the user does not exist."""
        ...

    async def get(self, draft_id: str) -> Draft | None: ...

    async def get_with_job(self, draft_id: str) -> tuple[Draft | None, Job | None]:
        """The draft and the job launched from it (a job takes its draft's id), in one read; (None, None)
        when there is no such draft."""
        ...


class Jobs(Protocol):
    async def get(self, job_id: str) -> Job | None: ...

    async def find_by_task(self, task_id: str) -> Job | None: ...

    async def transition(
        self, job_id: str, allowed_from: Collection[JobState], to: JobState, **changes: Any
    ) -> Job | None:
        """Compare-and-set: move to ``to`` only from ``allowed_from``; return the new job, or None when
        the job is in another state (a duplicate or late event). ``changes`` are JOB_MUTABLE_FIELDS."""
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

    async def done(self, update_id: int, now: datetime, messages: Sequence["OutboxMessage"] = (),
                   sent: Sequence[str] = ()) -> None:
        """Processed: remove it from pending (remember the id for deduplication), store its outbox ``messages``
        and mark the outbox keys ``sent`` sent (ports/outbox.py), in one durable change. Idempotent."""
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
    def outbox(self) -> Outbox: ...

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

    def unit_of_work(self) -> "UnitOfWork":
        """A new unit of work (ports/uow.py): ``async with storage.unit_of_work() as uow: ...``."""
        ...

    async def close(self) -> None: ...
