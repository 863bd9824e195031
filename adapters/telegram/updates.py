"""Raw Telegram update JSON → port events.

The same function serves the webhook (the request body) and polling (getUpdates' raw result), so both paths
see exactly what Telegram sent. It reads plain dicts instead of ``telegram.Update.de_json``:

- no ``Bot`` is needed, and nothing else of PTB's object model (one parse per update, no allocation of dozens
  of optional attributes);
- malformed input becomes one ``ValueError`` naming the field, where ``de_json`` lets ``KeyError``/``TypeError``
  escape (or silently accepts a string where an id should be);
- an update kind or field Telegram adds tomorrow cannot break parsing of the fields we read.

Rules: a text starting with "/" is a :class:`Command` (name lower-cased, ``@BotName`` kept apart as its
``addressee``); other text a
:class:`TextMessage`; photo/document/video/audio/voice/animation a :class:`MediaMessage`; a callback query a
:class:`CallbackPress`; ``my_chat_member`` in a private chat a :class:`MembershipChange`. Payments in Stars:
``pre_checkout_query`` → :class:`PreCheckout` (its chat is the payer's private chat, ``from.id``); a message with
``successful_payment`` → :class:`PaymentReceived`, with ``refunded_payment`` → :class:`PaymentRefunded` (both
checked before text/media, and kept even without ``from`` in a private chat: the payer is the chat). Everything
else (edited messages, channel posts, other service messages, messages without ``from``, …) is ``None``: the
caller stores it as done without a reply.

Message, command, button and payment events carry the chat's type (``chat.type``) and, for a message in a forum
topic, its ``message_thread_id``: whether and where to answer in a group is the core's decision.

Values Telegram never sends make an update malformed (``ValueError``), so nothing downstream has to guard
against them: an integer outside ±2^53 (Telegram's are at most 52 bits; beyond that a BIGINT column or a
Bot API call would fail later), a sender id that is not positive, a payment amount that is not positive.
U+0000 in a string becomes U+FFFD (no PostgreSQL text column holds it).

:func:`update_chat_id` gives ``None`` for a ``pre_checkout_query`` on purpose: Telegram cancels the payment unless
it is answered within 10 s, so it must not wait in the payer's chat queue behind slow updates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ports.events import (
    CallbackPress,
    Command,
    Event,
    MediaMessage,
    MembershipChange,
    PaymentReceived,
    PaymentRefunded,
    PreCheckout,
    TextMessage,
    UserRef,
)
from ports.media import MediaKind, MediaRef

# Checked in this order: an animation message also carries a "document" field (Telegram keeps it for old clients).
_MEDIA_FIELDS: tuple[tuple[str, MediaKind], ...] = (
    ("animation", MediaKind.VIDEO),
    ("video", MediaKind.VIDEO),
    ("audio", MediaKind.AUDIO),
    ("voice", MediaKind.VOICE),
    ("document", MediaKind.DOCUMENT),
)
_INACTIVE_STATUSES = ("kicked", "left")
_PAYMENT_FIELDS = ("successful_payment", "refunded_payment")  # service messages about Stars
# Update kinds whose chat is ``<kind>.chat.id`` and kinds that only have a sender (``<kind>.from.id``).
_CHAT_KINDS = (
    "message", "edited_message", "channel_post", "edited_channel_post", "business_message",
    "edited_business_message", "my_chat_member", "chat_member", "chat_join_request", "message_reaction",
)
_SENDER_KINDS = ("shipping_query", "inline_query", "chosen_inline_result", "poll_answer")
# Answered at once, outside any chat queue (Telegram cancels the payment after 10 s without an answer).
_UNQUEUED_KINDS = ("pre_checkout_query",)
# Telegram's integers (ids included) have at most 52 significant bits; anything outside is not Telegram's
# and would overflow a BIGINT column or a Bot API call later, so it is malformed input here.
ID_LIMIT = 2**53


def parse_update(data: Mapping[str, Any]) -> Event | None:
    """Translate one update; ``None`` for kinds the bot ignores; ``ValueError`` for malformed input."""
    _obj(data, "update")
    _int(data, "update_id", "update")
    if "message" in data:
        return _message(_obj(data["message"], "message"))
    if "callback_query" in data:
        return _callback(_obj(data["callback_query"], "callback_query"))
    if "my_chat_member" in data:
        return _membership(_obj(data["my_chat_member"], "my_chat_member"))
    if "pre_checkout_query" in data:
        return _pre_checkout(_obj(data["pre_checkout_query"], "pre_checkout_query"))
    return None


def update_chat_id(data: Mapping[str, Any]) -> int | None:
    """The chat an update belongs to (for per-chat ordering), or ``None`` if it has none or must not wait in a
    chat's queue (``pre_checkout_query``)."""
    _obj(data, "update")
    for kind in _UNQUEUED_KINDS:
        if kind in data:
            _obj(data[kind], kind)
            return None
    for kind in _CHAT_KINDS:
        if kind in data:
            body = _obj(data[kind], kind)
            return _int(_obj(body.get("chat"), f"{kind}.chat"), "id", f"{kind}.chat")
    if "callback_query" in data:
        query = _obj(data["callback_query"], "callback_query")
        if query.get("message") is not None:
            message = _obj(query["message"], "callback_query.message")
            return _int(_obj(message.get("chat"), "callback_query.message.chat"), "id", "callback_query.message.chat")
        return _int(_obj(query.get("from"), "callback_query.from"), "id", "callback_query.from")
    for kind in _SENDER_KINDS:
        if kind in data:
            body = _obj(data[kind], kind)
            sender = body.get("from", body.get("user"))
            return None if sender is None else _int(_obj(sender, f"{kind}.from"), "id", f"{kind}.from")
    return None


# --- kinds -----------------------------------------------------------------------------------------------


def _message(message: Mapping[str, Any]) -> Event | None:
    chat = _obj(message.get("chat"), "message.chat")
    chat_id = _int(chat, "id", "message.chat")
    for field in _PAYMENT_FIELDS:
        if message.get(field) is not None:
            return _payment(message, chat, chat_id, field)
    if message.get("from") is None:  # channel posts forwarded into groups, anonymous admins
        return None
    user = _user(message["from"], "message.from")
    place = {"chat_type": _chat_type(chat, chat_id, "message.chat"), "thread_id": _thread_id(message, "message")}
    text = _str(message, "text", "message")
    if text is not None:
        return _text_or_command(user, chat_id, text, place)
    media = _media(message)
    if media is None:  # a service message (successful_payment, new members, …) or an unsupported kind
        return None
    return MediaMessage(user=user, chat_id=chat_id, media=media, caption=_str(message, "caption", "message") or "",
                        **place)


def _text_or_command(user: UserRef, chat_id: int, text: str, place: dict[str, Any]) -> Event:
    if text.startswith("/"):
        head, *rest = text.split(None, 1)
        name, at, addressee = head[1:].partition("@")
        if name:
            return Command(user=user, chat_id=chat_id, name=name.lower(), args=rest[0].strip() if rest else "",
                           addressee=addressee if at else None, **place)
    return TextMessage(user=user, chat_id=chat_id, text=text, **place)


def _chat_type(chat: Mapping[str, Any], chat_id: int, where: str) -> str:
    """``chat.type``; when absent, a negative id is a group's (Telegram always sends it; tests may not)."""
    kind = _str(chat, "type", where)
    return kind if kind else ("private" if chat_id > 0 else "group")


def _thread_id(message: Mapping[str, Any], where: str) -> int | None:
    """The forum topic of a topic message (``message_thread_id`` with ``is_topic_message``); other thread ids
    (reply threads in ordinary supergroups) are not topics and cannot be sent to."""
    return _opt_int(message, "message_thread_id", where) if message.get("is_topic_message") is True else None


def _media(message: Mapping[str, Any]) -> MediaRef | None:
    if "photo" in message:
        sizes = message["photo"]
        if not isinstance(sizes, list) or not sizes:
            raise ValueError("message.photo must be a non-empty array of PhotoSize")
        photos = [_obj(size, "message.photo[]") for size in sizes]
        largest = max(photos, key=_photo_area)
        return MediaRef(MediaKind.PHOTO, _file_id(largest, "message.photo[]"),
                        size=_opt_int(largest, "file_size", "message.photo[]"), mime_type="image/jpeg")
    for field, kind in _MEDIA_FIELDS:
        if field in message:
            where = f"message.{field}"
            body = _obj(message[field], where)
            return MediaRef(
                kind,
                _file_id(body, where),
                size=_opt_int(body, "file_size", where),
                mime_type=_str(body, "mime_type", where),
                file_name=_str(body, "file_name", where),
                duration_s=_opt_int(body, "duration", where),
            )
    return None


def _photo_area(size: Mapping[str, Any]) -> tuple[int, int]:
    where = "message.photo[]"
    width, height = _opt_int(size, "width", where) or 0, _opt_int(size, "height", where) or 0
    return width * height, _opt_int(size, "file_size", where) or 0


def _callback(query: Mapping[str, Any]) -> CallbackPress:
    callback_id = _str(query, "id", "callback_query")
    if not callback_id:
        raise ValueError("callback_query.id is missing")
    user = _user(query.get("from"), "callback_query.from")
    data = _str(query, "data", "callback_query") or ""
    if query.get("message") is not None:
        message = _obj(query["message"], "callback_query.message")
        chat = _obj(message.get("chat"), "callback_query.message.chat")
        chat_id = _int(chat, "id", "callback_query.message.chat")
        message_id: int | None = _int(message, "message_id", "callback_query.message")
        chat_type = _chat_type(chat, chat_id, "callback_query.message.chat")
        thread_id = _thread_id(message, "callback_query.message")
    else:  # a button under an inline-mode message: no chat of ours, answer in the user's private chat
        chat_id, message_id, chat_type, thread_id = user.id, None, "private", None
    return CallbackPress(user=user, chat_id=chat_id, callback_id=callback_id, data=data, message_id=message_id,
                         chat_type=chat_type, thread_id=thread_id)


def _membership(change: Mapping[str, Any]) -> MembershipChange | None:
    chat = _obj(change.get("chat"), "my_chat_member.chat")
    chat_id = _int(chat, "id", "my_chat_member.chat")
    user = _user(change.get("from"), "my_chat_member.from")
    status = _str(_obj(change.get("new_chat_member"), "my_chat_member.new_chat_member"), "status",
                  "my_chat_member.new_chat_member")
    if status is None:
        raise ValueError("my_chat_member.new_chat_member.status is missing")
    if chat.get("type") != "private":
        return None
    return MembershipChange(user=user, chat_id=chat_id, active=status not in _INACTIVE_STATUSES)


def _payment(message: Mapping[str, Any], chat: Mapping[str, Any], chat_id: int, field: str) -> Event:
    """A successful or refunded Stars payment (service messages). Money depends on these, so a payment is never
    dropped for a missing ``from``: in a private chat the payer is the chat itself."""
    if message.get("from") is not None:
        user = _user(message["from"], "message.from")
    elif chat.get("type") == "private" and chat_id > 0:
        user = UserRef(id=chat_id, username=_str(chat, "username", "message.chat"),
                       first_name=_str(chat, "first_name", "message.chat"))
    else:
        raise ValueError(f"message.from is missing on a {field} outside a private chat")
    where = f"message.{field}"
    body = _obj(message[field], where)
    kind = PaymentReceived if field == "successful_payment" else PaymentRefunded
    return kind(
        user=user,
        chat_id=chat_id,
        currency=_required_str(body, "currency", where),
        total_amount=_amount(body, where),
        payload=_payload(body, where),
        charge_id=_required_str(body, "telegram_payment_charge_id", where),
        chat_type=_chat_type(chat, chat_id, "message.chat"),
    )


def _pre_checkout(query: Mapping[str, Any]) -> PreCheckout:
    where = "pre_checkout_query"
    user = _user(query.get("from"), f"{where}.from")
    return PreCheckout(
        user=user,
        chat_id=user.id,  # invoices are paid from the payer's private chat with the bot
        query_id=_required_str(query, "id", where),
        currency=_required_str(query, "currency", where),
        total_amount=_amount(query, where),
        payload=_payload(query, where),
    )


def _amount(body: Mapping[str, Any], where: str) -> int:
    amount = _int(body, "total_amount", where)
    if amount <= 0:  # Telegram charges and refunds positive amounts only
        raise ValueError(f"{where}.total_amount must be positive")
    return amount


def _payload(body: Mapping[str, Any], where: str) -> str:
    payload = _str(body, "invoice_payload", where)
    if payload is None:
        raise ValueError(f"{where}.invoice_payload is missing")
    return payload


def _user(value: Any, where: str) -> UserRef:
    body = _obj(value, where)
    user_id = _int(body, "id", where)
    if user_id <= 0:  # user ids are positive (negative ids are groups and channels)
        raise ValueError(f"{where}.id must be positive")
    return UserRef(
        id=user_id,
        language_code=_str(body, "language_code", where),
        username=_str(body, "username", where),
        first_name=_str(body, "first_name", where),
    )


# --- typed access: every failure is a ValueError naming the field ---------------------------------------


def _obj(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} must be a JSON object, got {type(value).__name__}")
    return value


def _int(body: Mapping[str, Any], key: str, where: str) -> int:
    value = body.get(key)
    if value is None:
        raise ValueError(f"{where}.{key} is missing")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{where}.{key} must be an integer, got {type(value).__name__}")
    if not -ID_LIMIT < value < ID_LIMIT:
        raise ValueError(f"{where}.{key} is out of range")
    return value


def _opt_int(body: Mapping[str, Any], key: str, where: str) -> int | None:
    return None if body.get(key) is None else _int(body, key, where)


def _str(body: Mapping[str, Any], key: str, where: str) -> str | None:
    """A string field; U+0000 (which JSON may carry, escaped) becomes U+FFFD: no text column of PostgreSQL
    can hold it, and it means nothing in a name, a prompt or a command."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{where}.{key} must be a string, got {type(value).__name__}")
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


def _required_str(body: Mapping[str, Any], key: str, where: str) -> str:
    value = _str(body, key, where)
    if not value:
        raise ValueError(f"{where}.{key} is missing")
    return value


def _file_id(body: Mapping[str, Any], where: str) -> str:
    return _required_str(body, "file_id", where)
