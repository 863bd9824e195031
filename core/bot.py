"""The core's front door: an inbound event in, effects out. Transports call ``process`` (handle, apply
the effects through the messenger, start the launched job); tests call ``handle`` and compare effects."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Awaitable, Callable

from core import callbacks
from core.context import Reply, Services, Turn
from core.handlers import account, admin, drafting, launching, navigation, uploads
from core.i18n import Fmt, resolve_language
from core.job_runner import JobRunner
from core.views.common import button
from ports.effects import AnswerCallback, Effect, Messenger, SendScreen
from ports.events import CallbackPress, Command, Event, MediaMessage, MembershipChange, TextMessage
from ports.screens import Screen

Handler = Callable[[Services, Turn, tuple[str, ...]], Awaitable[Reply]]

CALLBACK_ROUTES: dict[str, Handler] = {
    "menu": navigation.menu,
    "cat": navigation.category,
    "help": navigation.help_screen,
    "lang": navigation.language,
    "noop": navigation.noop,
    "balance": account.balance,
    "topup": account.topup,
    "history": account.history,
    "model": drafting.open_model,
    "opts": drafting.show_options,
    "opt": drafting.show_option_values,
    "set": drafting.change_option,
    "confirm": drafting.confirm,
    "launch": launching.launch,
    "again": launching.again,
}

COMMAND_ROUTES: dict[str, Handler] = {
    "start": navigation.menu,
    "menu": navigation.menu,
    "help": navigation.help_screen,
    "balance": account.balance,
    "language": navigation.language,
    "status": admin.status,
}


@dataclass
class Outcome:
    """What the core did with one event: the effects to apply, and what telemetry should say."""

    effects: list[Effect]
    route: str
    rejected: str | None = None  # a reason code when the input was refused
    started_job: str | None = None


class BotCore:
    def __init__(self, services: Services, messenger: Messenger, runner: JobRunner) -> None:
        self.services = services
        self.messenger = messenger
        self.runner = runner

    async def process(self, event: Event, answer_within: float | None = None) -> Outcome:
        """Handle the event, carry out its effects, then start the job it launched (if any).

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
        effects = outcome.effects
        if answered_early:
            effects = [effect for effect in effects if not isinstance(effect, AnswerCallback)]
        await self.messenger.apply(effects)
        if outcome.started_job is not None:
            self.runner.start(outcome.started_job)
        return outcome

    def too_fast(self, event: Event) -> list[Effect]:
        """The polite answer to a user over the inbound rate limit (no storage access: it must be cheap)."""
        if isinstance(event, CallbackPress):
            return [AnswerCallback(event.callback_id, self._fmt_for(event).t("rate.too_fast"))]
        return []

    async def handle(self, event: Event) -> Outcome:
        turn = await self._turn(event)
        route, handler, fields = self._route(event)
        reply = await handler(self.services, turn, fields)
        effects = list(reply.effects)
        if isinstance(event, CallbackPress):
            # Every pressed button is answered, first, exactly once: no endless spinner.
            effects.insert(0, AnswerCallback(event.callback_id, reply.toast, reply.alert))
        return Outcome(effects, route, reply.rejected, reply.started_job)

    def _fmt_for(self, event: Event) -> Fmt:
        settings = self.services.settings
        return Fmt(resolve_language(None, event.user.language_code, settings.default_language), settings.prices.currency)

    def apology(self, event: Event, answered: bool = False) -> list[Effect]:
        """What the user sees when handling their update failed unexpectedly: a short apology, the menu.
        ``answered``: the pressed button was already answered."""
        fmt = self._fmt_for(event)
        keyboard = ((button(fmt.t("btn.menu"), "menu", "new"),),)
        effects: list[Effect] = []
        if isinstance(event, CallbackPress) and not answered:
            effects.append(AnswerCallback(event.callback_id))
        effects.append(SendScreen(event.chat_id, Screen(fmt.t("error.apology"), keyboard, "apology")))
        return effects

    async def _turn(self, event: Event) -> Turn:
        services = self.services
        now = services.clock.now()
        user, created = await services.storage.users.ensure(event.user, services.settings.welcome_balance, now)
        language = resolve_language(user.language, user.language_code, services.settings.default_language)
        return Turn(event, user, Fmt(language, services.settings.prices.currency), now, created)

    def _route(self, event: Event) -> tuple[str, Handler, tuple[str, ...]]:
        if isinstance(event, CallbackPress):
            data = callbacks.decode(event.data)
            if data is None or data.tag not in CALLBACK_ROUTES:
                return "stale", navigation.stale, ()
            return data.tag, CALLBACK_ROUTES[data.tag], data.fields
        if isinstance(event, Command):
            if event.name == "cancel":
                return "cancel", _cancel, ()
            handler = COMMAND_ROUTES.get(event.name, navigation.unknown_command)
            return f"/{event.name}" if event.name in COMMAND_ROUTES else "/unknown", handler, ()
        if isinstance(event, TextMessage):
            return "text", _on_text, ()
        if isinstance(event, MembershipChange):
            return "membership", _on_membership, ()
        return "media", _on_media, ()


async def _on_text(services: Services, turn: Turn, fields: tuple[str, ...]) -> Reply:
    assert isinstance(turn.event, TextMessage)
    return await drafting.on_text(services, turn, turn.event.text)


async def _on_media(services: Services, turn: Turn, fields: tuple[str, ...]) -> Reply:
    assert isinstance(turn.event, MediaMessage)
    return await uploads.on_media(services, turn, turn.event.media, turn.event.caption)


async def _on_membership(services: Services, turn: Turn, fields: tuple[str, ...]) -> Reply:
    assert isinstance(turn.event, MembershipChange)
    await services.storage.users.set_blocked(turn.user.id, not turn.event.active)
    return Reply()


async def _cancel(services: Services, turn: Turn, fields: tuple[str, ...]) -> Reply:
    await services.storage.users.set_active_draft(turn.user.id, None)
    screen = await navigation.main_menu_screen(services, turn, notice=turn.fmt.t("menu.cancelled"))
    return Reply([turn.send(screen)])


