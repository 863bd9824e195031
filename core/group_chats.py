"""Groups and supergroups: the bot serves people in their private chat with it, never in a shared one.

Balance, ledger, Telegram id, drafts and results are personal, and everyone in a group sees what the bot posts
there; a button under a message in a group can be pressed by any member. So in a chat that is not private:

- a command addressed to this bot (bare ``/start``, or ``/start@<our username>``) gets one short invitation to
  the private chat (a deep link ``t.me/<bot>?start=group``), in the forum topic it was sent in;
- a command addressed to another bot (``/start@other_bot``), plain text and media get nothing;
- a pressed button gets a toast pointing to the private chat and changes nothing: the bot posts no screen
  with buttons of its own into groups, so any screen there is left over from before and belongs to nobody
  who may act on it from the group;
- Stars payments are still credited (or refunded) — money Telegram moved is never ignored — and their
  receipt goes to the payer's private chat.

Nothing here reads or writes storage: a group member who never opened the bot leaves no user record.
"""

from __future__ import annotations

from dataclasses import replace

from core.i18n import Fmt
from ports.effects import AnswerCallback, Effect, SendScreen
from ports.events import PRIVATE_CHAT, CallbackPress, Command, Event, PaymentReceived, PaymentRefunded
from ports.screens import Button, Screen

START_PARAMETER = "group"  # /start group in the private chat: the ordinary menu


def in_group(event: Event) -> bool:
    """A message, button or payment from a chat other than the user's private chat with the bot."""
    return getattr(event, "chat_type", PRIVATE_CHAT) != PRIVATE_CHAT


def addressed_to(command: Command, bot_username: str) -> bool:
    """Bare commands and ``/cmd@<bot_username>`` (Telegram compares usernames case-insensitively)."""
    return command.addressee is None or command.addressee.lower() == bot_username.lower()


def private_link(bot_username: str) -> str:
    return f"https://t.me/{bot_username}?start={START_PARAMETER}"


def to_private_chat(event: PaymentReceived | PaymentRefunded) -> PaymentReceived | PaymentRefunded:
    """A payment made from a group: handled as usual, answered in the payer's private chat."""
    return replace(event, chat_id=event.user.id, chat_type=PRIVATE_CHAT)


def answer(event: Event, fmt: Fmt, bot_username: str) -> tuple[str, list[Effect], str | None]:
    """What the bot does with a non-payment event from a group: (route, effects, rejected reason)."""
    if isinstance(event, CallbackPress):
        return "group_button", [AnswerCallback(event.callback_id, fmt.t("group.button"))], "GROUP_CHAT"
    if isinstance(event, Command) and addressed_to(event, bot_username):
        keyboard = ((Button(fmt.t("group.open"), url=private_link(bot_username)),),)
        screen = Screen(fmt.t("group.invite", bot=bot_username), keyboard, "group_invite")
        return "group_command", [SendScreen(event.chat_id, screen, event.thread_id)], None
    return "group_ignored", [], None
