"""Shared by every admin handler: who is an admin, the audit trail, parsing user and amount arguments,
and idempotency keys for money commands."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from core.context import Services, Turn
from core.money import major_to_minor
from ports.admin import AuditEntry
from ports.storage import User
from ports.trace import correlation_id


def is_admin(services: Services, turn: Turn) -> bool:
    return turn.user.id in services.settings.admin_ids


async def audit(services: Services, turn: Turn, action: str, **details: object) -> None:
    """Every admin action lands in the audit log."""
    await services.storage.audit.record(AuditEntry(turn.now, turn.user.id, action, details))


def command_key(services: Services, action: str) -> str:
    """An idempotency key for a money command: the update's correlation id (the same when an update is
    processed again after a crash), else a fresh id (the simulator has no updates)."""
    cid = correlation_id.get()
    return f"admin:{action}:{cid if cid not in ('', '-') else services.new_id()}"


async def find_user(services: Services, query: str) -> User | None:
    return await services.storage.directory.find(query.strip())


def parse_amount(services: Services, text: str) -> int | None:
    """A positive amount in major units ("150", "12.50", "12,50") to the smallest unit; None if invalid."""
    try:
        value = Decimal(text.strip().replace(",", "."))
        minor = major_to_minor(value, services.settings.prices.currency) if value.is_finite() else 0
    except (InvalidOperation, ValueError):
        return None
    return minor if minor > 0 else None


def parse_markup(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        return None
    return value if value.is_finite() and Decimal("0.1") <= value <= Decimal("100") else None
