"""Shared by every admin handler: who is an admin, the audit trail, parsing user and amount arguments,
and idempotency keys for money commands."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from core.context import Services, Turn
from core.money import major_to_minor
from ports.model import AuditEntry, User
from ports.trace import correlation_id


def is_admin(services: Services, turn: Turn) -> bool:
    return turn.user.id in services.settings.admin_ids


async def audit(services: Services, turn: Turn, action: str, **details: object) -> None:
    """Every admin action lands in the audit log."""
    await services.storage.audit.record(audit_entry(turn, action, **details))


def audit_entry(turn: Turn, action: str, **details: object) -> AuditEntry:
    """The audit entry of this admin's action (for a unit of work that records it with the change it explains)."""
    return AuditEntry(turn.now, turn.user.id, action, details)


def command_key(services: Services, action: str) -> str:
    """An idempotency key for a money command: the update's correlation id (the same when an update is
    processed again after a crash), else a fresh id (the simulator has no updates)."""
    cid = correlation_id.get()
    return f"admin:{action}:{cid if cid not in ('', '-') else services.new_id()}"


async def find_user(services: Services, query: str) -> User | None:
    return await services.storage.directory.find(query.strip())


# An admin's amount: ASCII digits, at most one separator ("." or ","), at most two decimals. Checked before any
# arithmetic, so "1e999990" or a thousand digits never reach Decimal (it froze the bot for 37 s).
AMOUNT = re.compile(r"[0-9]{1,15}(?:[.,][0-9]{1,2})?")
MAX_USER_ID = 2**63 - 1  # what storage holds (Telegram's user ids have at most 52 significant bits)


def parse_amount(services: Services, text: str) -> int | None:
    """A positive amount in major units ("150", "12.50", "12,50") to the smallest unit; None if invalid.
    The caller compares it with ``admin_max_amount``."""
    if AMOUNT.fullmatch(text.strip()) is None:
        return None
    try:
        minor = major_to_minor(Decimal(text.strip().replace(",", ".")), services.settings.prices.currency)
    except ValueError:  # more decimals than the currency has
        return None
    return minor if minor > 0 else None


def parse_user_id(text: str) -> int | None:
    """A user id from callback data (``adm:ban:<id>``): ASCII digits, a positive 64-bit integer."""
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    value = int(text)
    return value if 0 < value <= MAX_USER_ID else None


def parse_markup(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        return None
    return value if value.is_finite() and Decimal("0.1") <= value <= Decimal("100") else None
