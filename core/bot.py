"""The core's front door: an inbound event in, effects out. Transports call ``process`` (handle, apply
the effects through the messenger, start the launched job); tests call ``handle`` and compare effects."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Awaitable, Callable, Sequence

from core import group_chats, routes
from core.broadcaster import Broadcaster
from core.callback_data import Menu
from core.context import Services
from core.i18n import Fmt, resolve_language
from core.job_runner import JobRunner
from core.middleware import Request
from core.views.common import button
from ports.effects import AnswerCallback, Effect, Messenger, SendScreen
from ports.events import CallbackPress, Event, PaymentReceived, PaymentRefunded
from ports.screens import Screen

Apply = Callable[[Sequence[Effect]], Awaitable[None]]


@dataclass
class Outcome:
    """What the core did with one event: the effects to apply, and what telemetry should say."""

    effects: list[Effect]
    route: str
    rejected: str | None = None  # a reason code when the input was refused
    started_job: str | None = None
    started_broadcast: str | None = None


class BotCore:
    def __init__(self, services: Services, messenger: Messenger, runner: JobRunner, broadcaster: Broadcaster) -> None:
        self.services = services
        self.messenger = messenger
        self.runner = runner
        self.broadcaster = broadcaster

    async def process(self, event: Event, answer_within: float | None = None) -> Outcome:
        """Handle the event, carry out its effects, then start the job it launched (if any)."""
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

    async def carry_out(self, event: Event, outcome: Outcome, apply: Apply | None = None) -> None:
        """Apply the effects (through ``apply``, the messenger's by default), then start what was launched.
        Kept apart from ``decide`` so a transport can wait for Telegram's pace without holding a worker."""
        await (apply or self.messenger.apply)(outcome.effects)
        if outcome.started_job is not None:
            self.runner.start(outcome.started_job)
        if outcome.started_broadcast is not None:
            message_id = event.message_id if isinstance(event, CallbackPress) else None
            self.broadcaster.start(outcome.started_broadcast, (event.chat_id, message_id) if message_id else None)

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
        return Outcome(effects, request.route, reply.rejected, reply.started_job, reply.started_broadcast)

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


# Paid in a group: credited (or taken back) in the payer's private chat, never answered in the group.
PAID = (PaymentReceived, PaymentRefunded)
