"""Money coming in: Telegram Stars payments, manual top-ups approved by admins, referral bonuses, and the
free tier. Every movement is a ledger entry with an idempotency key, in the same storage operation as the
record that justifies it (Telegram's charge id, the top-up request, the referral pair)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from ports.model import ManualTopup, ReferralStats, StarsPayment, TopupState  # noqa: F401 - re-exported


class Payments(Protocol):
    async def record_stars(self, payment: StarsPayment) -> tuple[StarsPayment, bool]:
        """In one operation: store the payment (unique charge_id) and, only when it is new, credit
        ``amount`` (key ``stars:<charge_id>``, reason "topup"). A repeat returns the stored one and False."""
        ...

    async def refund_stars(self, charge_id: str, now: datetime) -> tuple[StarsPayment | None, bool]:
        """Mark refunded and take the amount back (key ``stars_refund:<charge_id>``, reason "refund_stars"):
        at most the balance is debited, the rest becomes the user's debt, settled by later credits.
        (None, False) for an unknown charge; (payment, False) when it was refunded before."""
        ...

    async def get(self, charge_id: str) -> StarsPayment | None: ...

    async def for_user(self, user_id: int, limit: int = 20) -> list[StarsPayment]:
        """Newest first."""
        ...


class ManualTopups(Protocol):
    async def create(self, topup: ManualTopup) -> None: ...

    async def get(self, topup_id: str) -> ManualTopup | None: ...

    async def approve(self, topup_id: str, admin_id: int, now: datetime) -> tuple[ManualTopup | None, bool]:
        """In one operation: PENDING → APPROVED and credit the amount (key ``manual:<id>``, reason
        "topup"). True only for the one call that did it, however many admins press at once."""
        ...

    async def reject(self, topup_id: str, admin_id: int, now: datetime) -> tuple[ManualTopup | None, bool]:
        """PENDING → REJECTED; True only for the call that did it."""
        ...


class FreeUsage(Protocol):
    async def consume(self, user_id: int, day: str, limit: int, job_id: str) -> bool:
        """Take one free try of ``day`` (YYYY-MM-DD in the free tier's time zone) for this job, if fewer
        than ``limit`` are taken. Idempotent by job_id: a repeat answers as the first call did."""
        ...

    async def release(self, job_id: str) -> bool:
        """Give the job's free try back (its generation failed). True once; False when nothing to give."""
        ...

    async def used(self, user_id: int, day: str) -> int: ...


class Referrals(Protocol):
    async def link(self, invitee_id: int, inviter_id: int, now: datetime) -> bool:
        """Record who invited a user; once per invitee, never oneself. False when refused or already linked."""
        ...

    async def reward(self, invitee_id: int, inviter_bonus: int, invitee_bonus: int, now: datetime) -> int | None:
        """After the invitee's first paid top-up, in one operation: mark the pair rewarded and credit both
        (keys ``ref:<invitee>:inviter`` / ``ref:<invitee>:invitee``, reason "referral"). Returns the
        inviter's id the first time; None when there is no link or it was rewarded already."""
        ...

    async def stats(self, inviter_id: int) -> ReferralStats: ...


class StarsRefundError(Exception):
    """Telegram refused the refund (already refunded, unknown charge)."""


class StarsGateway(Protocol):
    async def refund(self, user_id: int, charge_id: str) -> None:
        """Ask Telegram to return the Stars (refundStarPayment). Raises StarsRefundError."""
        ...
