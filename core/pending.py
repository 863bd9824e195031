"""What a user's next message answers. Stored in User.active_draft_id: a draft id, or a marker
``<kind>:<argument>`` for inputs that are not drafts (a top-up receipt, an admin's search)."""

from __future__ import annotations

from dataclasses import dataclass

RECEIPT = "topup"  # topup:<amount in the smallest unit>: a photo or document of the payment receipt
ADMIN_FIND = "admin-find"  # a user id or @username
ADMIN_MARKUP = "admin-markup"  # a decimal markup
ADMIN_BROADCAST = "admin-bc"  # the text or photo to broadcast
ADMIN_PRICE = "admin-price"  # admin-price:<model id>: KIE credits per unit, or "-"

MARKERS = (RECEIPT, ADMIN_FIND, ADMIN_MARKUP, ADMIN_BROADCAST, ADMIN_PRICE)


@dataclass(frozen=True)
class Pending:
    kind: str
    argument: str = ""


def marker(kind: str, argument: object = "") -> str:
    return f"{kind}:{argument}"


def parse(value: str | None) -> Pending | None:
    """The pending input, or None when the value is a plain draft id (or nothing)."""
    if not value or ":" not in value:
        return None
    kind, _, argument = value.partition(":")
    return Pending(kind, argument) if kind in MARKERS else None
