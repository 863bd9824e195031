"""Inbound events: what a transport (Telegram, the simulator) hands to the core."""

from __future__ import annotations

from dataclasses import dataclass

from ports.media import MediaRef


@dataclass(frozen=True)
class UserRef:
    id: int
    language_code: str | None = None
    username: str | None = None
    first_name: str | None = None


@dataclass(frozen=True)
class Command:
    """``/name args`` typed by the user (name without the slash, lower case, bot suffix removed)."""

    user: UserRef
    chat_id: int
    name: str
    args: str = ""


@dataclass(frozen=True)
class TextMessage:
    user: UserRef
    chat_id: int
    text: str


@dataclass(frozen=True)
class MediaMessage:
    user: UserRef
    chat_id: int
    media: MediaRef
    caption: str = ""


@dataclass(frozen=True)
class CallbackPress:
    user: UserRef
    chat_id: int
    callback_id: str
    data: str
    message_id: int | None = None


@dataclass(frozen=True)
class MembershipChange:
    """The user blocked (``active`` False) or unblocked/restarted (True) the bot (Telegram my_chat_member)."""

    user: UserRef
    chat_id: int
    active: bool


@dataclass(frozen=True)
class PreCheckout:
    """Telegram asks whether to accept a payment (answer within 10 s)."""

    user: UserRef
    chat_id: int
    query_id: str
    currency: str
    total_amount: int
    payload: str


@dataclass(frozen=True)
class PaymentReceived:
    """successful_payment: the only moment money is credited."""

    user: UserRef
    chat_id: int
    currency: str
    total_amount: int
    payload: str
    charge_id: str  # telegram_payment_charge_id


@dataclass(frozen=True)
class PaymentRefunded:
    """refunded_payment: Telegram returned the Stars to the user."""

    user: UserRef
    chat_id: int
    currency: str
    total_amount: int
    payload: str
    charge_id: str


Event = (
    Command | TextMessage | MediaMessage | CallbackPress | MembershipChange | PreCheckout | PaymentReceived
    | PaymentRefunded
)
