"""The core's front door: an inbound event in, effects out. Transports call ``process`` (handle, commit the
messages to the outbox, start the launched job, send); tests call ``handle`` and compare effects.

Messages go through the transactional outbox (ports/outbox.py): committed first (for an update from the inbox,
in the same durable change that marks it done), then sent by the outbox's drainer. A launched job starts once
that commit is made, never waiting for a message to be delivered. Answers to a pressed button or a pre-checkout
query are sent at once and never stored: after a restart they would be worth nothing (Telegram's spinner and
its 10 s pre-checkout deadline are long gone)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Awaitable, Callable, Mapping, Sequence

from core import cashier, group_chats, routes
from core.broadcaster import Broadcaster
from core.callback_data import Menu
from core.context import Services
from core.i18n import Fmt, resolve_language
from core.job_runner import JobRunner
from core.middleware import Request
from core.views.common import button
from ports.effects import AnswerCallback, AnswerPreCheckout, Effect, Messenger, SendScreen
from ports.events import CallbackPress, Event, PaymentReceived, PaymentRefunded
from ports.outbox import OutboxMessage, OutboxWaker
from ports.screens import Screen
from ports.trace import correlation_id

Apply = Callable[[Sequence[Effect]], Awaitable[None]]


@dataclass
class Outcome:
    """What the core did with one event: the effects to apply, and what telemetry should say."""

    effects: list[Effect]
    route: str
    rejected: str | None = None  # a reason code when the input was refused
    started_job: str | None = None
    started_broadcast: str | None = None
    keys: dict[Effect, str] = field(default_factory=dict)  # outbox keys named by the handler (Reply.once)


class BotCore:
    def __init__(self, services: Services, messenger: Messenger, runner: JobRunner, broadcaster: Broadcaster,
                 sender: OutboxWaker) -> None:
        self.services = services
        self.messenger = messenger
        self.runner = runner
        self.broadcaster = broadcaster
        self.sender = sender

    async def process(self, event: Event, answer_within: float | None = None) -> Outcome:
        """Handle the event and carry out its effects (``carry_out``)."""
        outcome = await self.decide(event, answer_within)
        await self.carry_out(event, outcome)
        return outcome

    async def decide(self, event: Event, answer_within: float | None = None) -> Outcome:
        """Handle the event: the effects to apply, nothing sent yet except an early callback answer.

        ``answer_within``: when handling a pressed button takes longer than this many seconds, its
        spinner is stopped at once with an empty answer (Telegram shows it for ~15 s otherwise), and the
        handler's own answer is dropped (a query is answered once)."""
        handling = asyncio.ensure_future(self.handle(event))
        answered_early = False
        if isinstance(event, CallbackPress) and answer_within is not None:
            done, _ = await asyncio.wait({handling}, timeout=answer_within)
            if not done:
                answered_early = True
                await self.messenger.apply([AnswerCallback(event.callback_id)])
        outcome = await handling
        if answered_early:
            outcome.effects = [effect for effect in outcome.effects if not isinstance(effect, AnswerCallback)]
        return outcome

    async def carry_out(self, event: Event, outcome: Outcome, update_id: int | None = None,
                        apply: Apply | None = None) -> None:
        """Commit the messages to the outbox (with ``update_id``: in the same durable change that marks that
        inbox update done), start what was launched, answer (through ``apply``, the messenger's by default),
        then send the outbox of the chats concerned. Kept apart from ``decide`` so a transport can wait for
        Telegram's pace without holding a worker."""
        now = self.services.clock.now()
        prefix = f"u{update_id}" if update_id is not None else f"e{self.services.new_id()}"
        messages = outbox_messages(outcome.effects, prefix, now, correlation_id.get(), outcome.keys)
        if update_id is not None:
            marks = self.sender.take_marks()  # the last messages sent ride on this commit: no round trip of their own
            try:
                await self.services.storage.inbox.done(update_id, now, messages, marks)
            except BaseException:
                self.sender.give_back(marks)
                raise
        elif messages:
            await self.services.storage.outbox.add(messages)
        if outcome.started_job is not None:
            self.runner.start(outcome.started_job)
        if outcome.started_broadcast is not None:
            message_id = event.message_id if isinstance(event, CallbackPress) else None
            self.broadcaster.start(outcome.started_broadcast, (event.chat_id, message_id) if message_id else None)
        answers = [effect for effect in outcome.effects if isinstance(effect, EPHEMERAL)]
        if answers:
            await (apply or self.messenger.apply)(answers)
        if messages:
            await self.sender.send_now(messages)

    def too_fast(self, event: Event, tell: bool = True) -> list[Effect]:
        """The polite answer to a user over the inbound rate limit (no storage access: it must be cheap).
        A pressed button is always answered (no spinner left); the text is given when ``tell`` (once per
        burst: the transport decides)."""
        text = self._fmt_for(event).t("rate.too_fast") if tell else ""
        if isinstance(event, CallbackPress):
            return [AnswerCallback(event.callback_id, text)]
        if tell:
            return [SendScreen(event.chat_id, Screen(text, (), "too_fast"), getattr(event, "thread_id", None))]
        return []

    async def handle(self, event: Event) -> Outcome:
        if group_chats.in_group(event):  # never personal data in a shared chat (core/group_chats.py)
            if not isinstance(event, PAID):
                name, effects, rejected = group_chats.answer(event, self._fmt_for(event), self.services.settings.bot_username)
                return Outcome(effects, name, rejected)
            event = group_chats.to_private_chat(event)
        route, data = routes.route(event)
        request = Request(self.services, event, route.name, data)
        reply = await route.endpoint(request)  # the handler behind its middlewares (user, ban, admin)
        effects = list(reply.effects)
        if isinstance(event, CallbackPress):
            # Every pressed button is answered, first, exactly once: no endless spinner.
            effects.insert(0, AnswerCallback(event.callback_id, reply.toast, reply.alert))
        return Outcome(effects, request.route, reply.rejected, reply.started_job, reply.started_broadcast, reply.once)

    def _fmt_for(self, event: Event) -> Fmt:
        settings = self.services.settings
        return Fmt(resolve_language(None, event.user.language_code, settings.default_language), settings.prices.currency)

    def apology(self, event: Event) -> list[Effect]:
        """What the user sees when handling their update failed unexpectedly: a short apology, the menu."""
        fmt = self._fmt_for(event)
        keyboard = ((button(fmt.t("btn.menu"), Menu("new")),),)
        effects: list[Effect] = []
        if isinstance(event, CallbackPress):
            effects.append(AnswerCallback(event.callback_id))
        effects.append(SendScreen(event.chat_id, Screen(fmt.t("error.apology"), keyboard, "apology"),
                                  getattr(event, "thread_id", None)))
        return effects


# Answers that are worth nothing after a restart: sent at once, never stored in the outbox.
EPHEMERAL = (AnswerCallback, AnswerPreCheckout)


def outbox_messages(effects: Sequence[Effect], prefix: str, now: datetime, cid: str,
                    keys: Mapping[Effect, str] | None = None) -> list[OutboxMessage]:
    """The effects to store in the outbox: keyed as the handler named them, else ``<prefix>:<n>``."""
    keys = keys or {}
    return [OutboxMessage(keys.get(effect) or f"{prefix}:{index}", effect.chat_id, effect, now, cid)
            for index, effect in enumerate(effects) if not isinstance(effect, EPHEMERAL)]


# Paid in a group: credited (or taken back) in the payer's private chat, never answered in the group.
PAID = (PaymentReceived, PaymentRefunded)
