"""What a passive instance (another one holds the leader lock and it has no shared inbox) tells users:
the service is updating, try again in a moment. Pure: no storage is available there."""

from __future__ import annotations

from core.group_chats import in_group
from core.i18n import Fmt, resolve_language
from core.money import currency_for
from ports.effects import AnswerCallback, Effect, SendScreen
from ports.events import CallbackPress, Event, MembershipChange
from ports.screens import Screen


def passive_reply(event: Event, default_language: str) -> list[Effect]:
    fmt = Fmt(resolve_language(None, event.user.language_code, default_language), currency_for("RUB"))
    if isinstance(event, CallbackPress):
        return [AnswerCallback(event.callback_id, fmt.t("passive.updating"), alert=False)]
    if isinstance(event, MembershipChange) or in_group(event):  # nothing for a group to read (core/group_chats.py)
        return []
    return [SendScreen(event.chat_id, Screen(fmt.t("passive.updating"), (), "passive"))]
