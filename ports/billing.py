"""Money coming in, as read: Telegram Stars payments, manual top-ups approved by admins, referral bonuses,
the free tier. Every movement is a ledger entry with an idempotency key, written in the same unit of work
(ports/uow.py) as the record that justifies it (Telegram's charge id, the top-up request, the referral
pair); the rules are the core's (core/accounts.py, core/cashier.py)."""

from __future__ import annotations

from typing import Protocol

from ports.model import ManualTopup, ReferralStats, StarsPayment, TopupState  # noqa: F401 - re-exported


class Payments(Protocol):
    async def get(self, charge_id: str) -> StarsPayment | None: ...

    async def for_user(self, user_id: int, limit: int = 20) -> list[StarsPayment]:
        """Newest first."""
        ...


class ManualTopups(Protocol):
    async def get(self, topup_id: str) -> ManualTopup | None: ...


class FreeUsage(Protocol):
    async def used(self, user_id: int, day: str) -> int: ...


class Referrals(Protocol):
    async def stats(self, inviter_id: int) -> ReferralStats: ...


class StarsRefundError(Exception):
    """Telegram refused the refund (already refunded, unknown charge)."""


class StarsGateway(Protocol):
    async def refund(self, user_id: int, charge_id: str) -> None:
        """Ask Telegram to return the Stars (refundStarPayment). Raises StarsRefundError."""
        ...
