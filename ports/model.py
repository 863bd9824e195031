"""The domain's entities: the rows the storage keeps and the core decides about (frozen dataclasses).

Every port and both storages use these; the rules about them live in the core (core/accounts.py and the
use cases in core/cashier.py), the persistence in the adapters. Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Mapping

from ports.catalog import OptionValue


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




@dataclass(frozen=True)
class Account:
    """A user's money: the balance (the sum of their ledger entries, never negative) and the debt a Stars
    refund could not take back (settled by later credits)."""

    user_id: int
    balance: int = 0
    debt: int = 0


@dataclass(frozen=True)
class StarsPayment:
    charge_id: str  # telegram_payment_charge_id: the idempotency key of the payment
    user_id: int
    stars: int
    amount: int  # credited, smallest unit of the balance currency
    payload: str  # the invoice payload (names the package)
    created_at: datetime
    refunded_at: datetime | None = None


class TopupState(str, Enum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class ManualTopup:
    """A bank-transfer top-up: the user's claimed amount and receipt, decided by an admin."""

    id: str
    user_id: int
    amount: int  # smallest unit
    receipt_file_id: str  # the photo or document the user sent as proof
    receipt_kind: str  # "photo" | "document"
    created_at: datetime
    state: TopupState = TopupState.PENDING
    decided_by: int | None = None
    decided_at: datetime | None = None


@dataclass(frozen=True)
class ReferralStats:
    invited: int
    rewarded: int  # invitees whose first paid top-up earned the bonus
    earned: int  # bonus credited to the inviter, smallest unit


@dataclass(frozen=True)
class FreeTry:
    """A launch that asked for a free try of ``day`` (YYYY-MM-DD in the free tier's zone). A refused ask is
    kept too (``taken`` False), so that a repeat for the same job answers as the first did."""

    job_id: str
    user_id: int
    day: str
    taken: bool
    released: bool = False


@dataclass(frozen=True)
class Referral:
    """Who invited a user (once per invitee), and the bonuses paid after the invitee's first paid top-up."""

    invitee_id: int
    inviter_id: int
    created_at: datetime
    rewarded_at: datetime | None = None
    inviter_bonus: int = 0
    invitee_bonus: int = 0


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: int  # the admin's Telegram id
    action: str  # "credit", "debit", "block", "unblock", "model_off", "markup", "broadcast", "refund_stars", ...
    details: Mapping[str, Any] = field(default_factory=dict)
