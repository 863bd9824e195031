"""Inbound events: what a transport (Telegram, the simulator) hands to the core."""

from __future__ import annotations

from dataclasses import dataclass

from ports.media import MediaRef

PRIVATE_CHAT = "private"  # Telegram's chat types: "private", "group", "supergroup", "channel"


@dataclass(frozen=True)
class UserRef:
    id: int
    language_code: str | None = None
    username: str | None = None
    first_name: str | None = None


@dataclass(frozen=True)
class Command:
    """``/name args`` typed by the user (name without the slash, lower case, bot suffix removed).

    ``addressee``: the bot named in ``/name@bot`` as typed (None for a bare command). ``chat_type`` and
    ``thread_id`` (the forum topic it was sent in) are as on every message event."""

    user: UserRef
    chat_id: int
    name: str
    args: str = ""
    addressee: str | None = None
    chat_type: str = PRIVATE_CHAT
    thread_id: int | None = None


@dataclass(frozen=True)
class TextMessage:
    user: UserRef
    chat_id: int
    text: str
    chat_type: str = PRIVATE_CHAT
    thread_id: int | None = None  # the forum topic the message was sent in: replies go there


@dataclass(frozen=True)
class MediaMessage:
    user: UserRef
    chat_id: int
    media: MediaRef
    caption: str = ""
    chat_type: str = PRIVATE_CHAT
    thread_id: int | None = None


@dataclass(frozen=True)
class CallbackPress:
    user: UserRef
    chat_id: int
    callback_id: str
    data: str
    message_id: int | None = None
    chat_type: str = PRIVATE_CHAT  # the chat of the message the button is under
    thread_id: int | None = None


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
    chat_type: str = PRIVATE_CHAT


@dataclass(frozen=True)
class PaymentRefunded:
    """refunded_payment: Telegram returned the Stars to the user."""

    user: UserRef
    chat_id: int
    currency: str
    total_amount: int
    payload: str
    charge_id: str
    chat_type: str = PRIVATE_CHAT


Event = (
    Command | TextMessage | MediaMessage | CallbackPress | MembershipChange | PreCheckout | PaymentReceived
    | PaymentRefunded
)
