"""Sending effects that are not stored in the outbox (answers to button presses and pre-checkout queries, the
"too fast" notice, the apology), recipient by recipient; and what a blocked recipient means, which the outbox's
drainer (entrypoints/outbox_sender.py) applies too.

One update's effects may go to several chats (a receipt to every admin, a notice to the user an admin
approved). When Telegram refuses a message because its recipient blocked the bot, was deactivated, removed
the bot from a group or the chat no longer exists (the messenger's ``RecipientBlockedError``), the
*recipient of that message* is marked blocked, never the update's sender; the rest of the effects for that
chat are skipped (they would fail the same way) and the effects for other chats still go out. Nothing is
raised and no apology is attempted for it: it is an expected answer, logged as one line.
"""

from __future__ import annotations

import logging
from typing import Sequence

from ports.effects import Effect, Messenger, RecipientBlockedError
from ports.storage import Users

log = logging.getLogger(__name__)


class Delivery:
    def __init__(self, messenger: Messenger, users: Users) -> None:
        self._messenger, self._users = messenger, users

    async def apply(self, effects: Sequence[Effect]) -> None:
        gone: set[int] = set()
        for effect in effects:
            chat = getattr(effect, "chat_id", None)
            if chat is not None and chat in gone:
                continue
            try:
                await self._messenger.apply([effect])
            except RecipientBlockedError as error:
                recipient = error.chat_id if error.chat_id is not None else chat
                if recipient is None:
                    log.info("RECIPIENT_UNREACHABLE effect=%s", type(effect).__name__)
                    continue
                gone.add(recipient)
                await self.mark_unreachable(recipient, type(effect).__name__)

    async def mark_unreachable(self, chat_id: int, effect: str = "-") -> None:
        """A private chat is a user: mark them blocked (no broadcast goes to them). A group has no user row."""
        log.info("RECIPIENT_BLOCKED chat=%s effect=%s", chat_id, effect)
        if chat_id > 0:
            await self._users.set_blocked(chat_id, True)
