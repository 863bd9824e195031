"""Which handler answers an event, behind which middlewares: button families (core/callback_data.py), commands,
messages (by what the user's next message answers: a draft input, a top-up receipt, an admin prompt), payments
and membership changes. A route marked ADMIN gets the admin guard; payments skip the ban check."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Awaitable, Callable, Sequence, TypeVar

from core import pending
from core.callback_data import (
    AdminAction,
    Again,
    ApproveTopUp,
    Balance,
    BuyStars,
    CancelBroadcast,
    Confirm,
    FollowUp,
    Help,
    History,
    Invite,
    Language,
    Launch,
    ManualAmount,
    ManualTopUp,
    Menu,
    Noop,
    OpenCategory,
    OpenFamily,
    OpenModel,
    Original,
    PriceAction,
    RejectTopUp,
    ResendResult,
    SendBroadcast,
    SetOption,
    ShowOptions,
    ShowOptionValues,
    TopUp,
)
from core.callbacks import CallbackData, CallbackParser
from core.context import Reply, Services, Turn
from core.handlers import (
    account,
    admin,
    admin_prices,
    broadcast,
    drafting,
    follow_ups,
    launching,
    manual_topup,
    navigation,
    payments,
    referral,
    results,
    uploads,
)
from core.handlers.admin_tools import is_admin
from core.middleware import ADMIN, PAYER, USER, Endpoint, Middleware, Request, chain, require_admin
from core.views.payments import render_notice
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
)

D = TypeVar("D", bound=CallbackData)
Handler = Callable[[Services, Turn], Awaitable[Reply]]  # a command's or an event's handler
PressHandler = Callable[[Services, Turn, D], Awaitable[Reply]]  # a button's handler gets its typed payload


@dataclass(frozen=True)
class Route:
    """A handler behind the middlewares declared for it."""

    name: str  # what telemetry reports (CALLBACK_ROUTED handler=…)
    endpoint: Endpoint
    middlewares: tuple[Middleware, ...]
    family: type[CallbackData] | None = None

    @property
    def admin_only(self) -> bool:
        return require_admin in self.middlewares


def on_press(family: type[D], handler: PressHandler[D], middlewares: Sequence[Middleware] = USER) -> Route:
    async def endpoint(request: Request) -> Reply:
        data = request.data
        if not isinstance(data, family):
            raise TypeError(f"{family.__name__} route given {data!r}")
        return await handler(request.services, request.loaded, data)

    return Route(family.prefix, chain(middlewares, endpoint), tuple(middlewares), family)


def on_plain_press(family: type[CallbackData], handler: Handler, middlewares: Sequence[Middleware] = USER) -> Route:
    """A button without fields: its handler needs no payload (it also answers a command)."""
    return replace(plain(family.prefix, handler, middlewares), family=family)


def plain(name: str, handler: Handler, middlewares: Sequence[Middleware] = USER) -> Route:
    async def endpoint(request: Request) -> Reply:
        return await handler(request.services, request.loaded)

    return Route(name, chain(middlewares, endpoint), tuple(middlewares))


def by_family(*routes: Route) -> dict[type[CallbackData], Route]:
    table: dict[type[CallbackData], Route] = {}
    for route in routes:
        if route.family is None or route.family in table:
            raise TypeError(f"route {route.name!r}: no family, or its family routed twice")
        table[route.family] = route
    return table


CALLBACK_ROUTES: dict[type[CallbackData], Route] = by_family(
    on_press(Menu, navigation.menu),
    on_press(OpenCategory, navigation.category),
    on_press(OpenFamily, navigation.family),
    on_plain_press(Help, navigation.help_screen),
    on_press(Language, navigation.language),
    on_plain_press(Noop, navigation.noop),
    on_plain_press(Balance, account.balance),
    on_press(TopUp, payments.topup),
    on_press(BuyStars, payments.invoice),
    on_plain_press(ManualTopUp, manual_topup.amounts),
    on_press(ManualAmount, manual_topup.choose_amount),
    on_press(ApproveTopUp, manual_topup.approve, ADMIN),
    on_press(RejectTopUp, manual_topup.reject, ADMIN),
    on_plain_press(Invite, referral.screen),
    on_press(History, account.history),
    on_press(ResendResult, account.show_result),
    on_press(OpenModel, drafting.open_model),
    on_press(ShowOptions, drafting.show_options),
    on_press(ShowOptionValues, drafting.show_option_values),
    on_press(SetOption, drafting.change_option),
    on_press(Confirm, drafting.confirm),
    on_press(Launch, launching.launch),
    on_press(Again, launching.again),
    on_press(FollowUp, follow_ups.start),
    on_press(AdminAction, admin.action, ADMIN),
    on_press(SendBroadcast, broadcast.confirm, ADMIN),
    on_press(CancelBroadcast, broadcast.cancel, ADMIN),
    on_press(PriceAction, admin_prices.action, ADMIN),
    on_press(Original, results.original),
)
PARSER = CallbackParser(CALLBACK_ROUTES)  # a payload is understood exactly when its family has a route
STALE = plain("stale", navigation.stale)  # unknown or outdated callback data


async def start(services: Services, turn: Turn) -> Reply:
    """/start [ref_<code>]: the menu; a new user who came by an invite link is linked to the inviter."""
    if turn.args:
        await referral.link_from_start(services, turn, turn.args)
    return await navigation.menu(services, turn)


async def cancel(services: Services, turn: Turn) -> Reply:
    await services.storage.users.set_active_draft(turn.user.id, None)
    screen = await navigation.main_menu_screen(services, turn, notice=turn.fmt.t("menu.cancelled"))
    return Reply([turn.send(screen)])


def commands(handlers: dict[str, Handler], middlewares: Sequence[Middleware]) -> dict[str, Route]:
    return {name: plain(f"/{name}", handler, middlewares) for name, handler in handlers.items()}


COMMAND_ROUTES: dict[str, Route] = {
    **commands({
        "start": start,
        "menu": navigation.menu,
        "help": navigation.help_screen,
        "balance": account.balance,
        "language": navigation.language,
        "cancel": cancel,
        "paysupport": payments.paysupport,
        "invite": referral.screen,
    }, USER),
    **commands({
        "status": admin.status,
        "admin": admin.panel,
        "credit": admin.credit_command,
        "debit": admin.debit_command,
        "block": admin.block_command,
        "unblock": admin.unblock_command,
        "refund": admin.refund_command,
        "markup": admin.markup_command,
        "price": admin_prices.command,
    }, ADMIN),
}
UNKNOWN_COMMAND = plain("/unknown", navigation.unknown_command)


async def on_text(services: Services, turn: Turn) -> Reply:
    assert isinstance(turn.event, TextMessage)
    waiting = pending.parse(turn.user.active_draft_id)
    if waiting is not None and waiting.kind == pending.RECEIPT:
        return Reply([turn.send(render_notice(turn.fmt.t("manual.need_receipt")))], rejected="VALIDATION_FAIL")
    if waiting is not None and waiting.kind == pending.ADMIN_PRICE and is_admin(services, turn):
        return await admin_prices.on_price_text(services, turn, waiting.argument, turn.event.text)
    if waiting is not None and is_admin(services, turn):
        return await admin.on_pending_text(services, turn, waiting.kind, turn.event.text)
    return await drafting.on_text(services, turn, turn.event.text)


async def on_media(services: Services, turn: Turn) -> Reply:
    assert isinstance(turn.event, MediaMessage)
    event = turn.event
    waiting = pending.parse(turn.user.active_draft_id)
    if waiting is not None and waiting.kind == pending.RECEIPT:
        return await manual_topup.receipt(services, turn, event.media, waiting.argument)
    if waiting is not None and waiting.kind == pending.ADMIN_BROADCAST and is_admin(services, turn):
        await services.storage.users.set_active_draft(turn.user.id, None)
        return await broadcast.draft_from_media(services, turn, event.media, event.caption)
    return await uploads.on_media(services, turn, event.media, event.caption)


async def on_membership(services: Services, turn: Turn) -> Reply:
    assert isinstance(turn.event, MembershipChange)
    await services.storage.users.set_blocked(turn.user.id, not turn.event.active)
    return Reply()


EVENT_ROUTES: dict[type, Route] = {
    TextMessage: plain("text", on_text),
    MediaMessage: plain("media", on_media),
    MembershipChange: plain("membership", on_membership),
    PreCheckout: plain("pre_checkout", payments.pre_checkout),
    PaymentReceived: plain("payment", payments.payment_received, PAYER),
    PaymentRefunded: plain("payment_refunded", payments.payment_refunded, PAYER),
}


def route(event: Event) -> tuple[Route, CallbackData | None]:
    """The route for the event, and a pressed button's typed payload."""
    if isinstance(event, CallbackPress):
        data = PARSER.parse(event.data)
        return (STALE, None) if data is None else (CALLBACK_ROUTES[type(data)], data)
    if isinstance(event, Command):
        return COMMAND_ROUTES.get(event.name, UNKNOWN_COMMAND), None
    return EVENT_ROUTES[type(event)], None
