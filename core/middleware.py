"""Steps that run around a handler, declared per route in core/routes.py (as aiogram's middlewares): read the
admins' runtime overrides, load the user, refuse a banned user, require an admin. Each is written once here
instead of at the top of every handler.

A middleware gets the request and the rest of the chain; it calls the rest, or answers itself (a refusal).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Awaitable, Callable, Sequence

from core import cashier
from core.callbacks import CallbackData
from core.context import Reply, Services, Turn
from core.handlers.admin_tools import is_admin
from core.handlers.navigation import stale, unknown_command
from core.i18n import Fmt, resolve_language
from core.runtime import refresh_overrides
from ports.effects import AnswerPreCheckout
from ports.events import CallbackPress, Event, PreCheckout
from ports.screens import Screen

SEEN_EVERY = timedelta(minutes=10)  # last_seen_at is refreshed at most this often (one write, not one per update)


@dataclass
class Request:
    """One event on its way through a route's chain."""

    services: Services
    event: Event
    route: str  # the name telemetry reports; a middleware that answers instead of the handler renames it
    data: CallbackData | None = None  # a pressed button's typed payload
    turn: Turn | None = None  # set by ``load_user``

    @property
    def loaded(self) -> Turn:
        if self.turn is None:
            raise RuntimeError(f"route {self.route!r} runs a handler without load_user in its chain")
        return self.turn


Endpoint = Callable[[Request], Awaitable[Reply]]
Middleware = Callable[[Request, Endpoint], Awaitable[Reply]]


def chain(middlewares: Sequence[Middleware], endpoint: Endpoint) -> Endpoint:
    """``endpoint`` behind ``middlewares``, the first one outermost."""
    for middleware in reversed(middlewares):
        endpoint = _step(middleware, endpoint)
    return endpoint


def _step(middleware: Middleware, call_next: Endpoint) -> Endpoint:
    async def step(request: Request) -> Reply:
        return await middleware(request, call_next)

    return step


async def fresh_overrides(request: Request, call_next: Endpoint) -> Reply:
    """Prices and switches another instance may have changed."""
    await refresh_overrides(request.services)
    return await call_next(request)


async def load_user(request: Request, call_next: Endpoint) -> Reply:
    """The sender's record (created on first contact, with the welcome balance) and language: the turn."""
    services, event = request.services, request.event
    now = services.clock.now()
    user, balance, created = await cashier.arrive(services.storage, event.user, services.settings.welcome_balance, now)
    if user.last_seen_at is None or now - user.last_seen_at >= SEEN_EVERY:
        await services.storage.directory.touch(user.id, now)  # for "active users" in the stats
    language = resolve_language(user.language, user.language_code, services.settings.default_language)
    request.turn = Turn(event, user, Fmt(language, services.settings.prices.currency), now, created, balance)
    return await call_next(request)


async def refuse_banned(request: Request, call_next: Endpoint) -> Reply:
    """A banned user (not an admin) gets the banned answer, whatever they sent."""
    turn = request.loaded
    if turn.user.banned and not is_admin(request.services, turn):
        request.route = "banned"
        return banned(turn)
    return await call_next(request)


async def require_admin(request: Request, call_next: Endpoint) -> Reply:
    """Admins only. Anyone else gets what an unknown button or command gets: no hint the route exists."""
    turn = request.loaded
    if is_admin(request.services, turn):
        return await call_next(request)
    refuse = stale if isinstance(request.event, CallbackPress) else unknown_command
    return await refuse(request.services, turn)


def banned(turn: Turn) -> Reply:
    if isinstance(turn.event, PreCheckout):
        return Reply([AnswerPreCheckout(turn.event.query_id, False, turn.fmt.t("pay.refused_banned"))], rejected="BANNED")
    if isinstance(turn.event, CallbackPress):
        return Reply(toast=turn.fmt.t("banned.text"), alert=True, rejected="BANNED")
    return Reply([turn.send(Screen(turn.fmt.t("banned.text"), (), "banned"))], rejected="BANNED")


USER: tuple[Middleware, ...] = (fresh_overrides, load_user, refuse_banned)  # every route a person can take
ADMIN: tuple[Middleware, ...] = (*USER, require_admin)
# Money Telegram already took is credited (and a refund taken back) even for a banned user.
PAYER: tuple[Middleware, ...] = (fresh_overrides, load_user)
