"""Which handler answers an event: callback tags, commands, messages (by what the user's next message
answers: a draft input, a top-up receipt, an admin prompt), payments and membership changes."""

from __future__ import annotations

from typing import Awaitable, Callable

from core import callbacks, pending
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

Handler = Callable[[Services, Turn, tuple[str, ...]], Awaitable[Reply]]

CALLBACK_ROUTES: dict[str, Handler] = {
    "menu": navigation.menu,
    "cat": navigation.category,
    "fam": navigation.family,
    "help": navigation.help_screen,
    "lang": navigation.language,
    "noop": navigation.noop,
    "balance": account.balance,
    "topup": payments.topup,
    "stars": payments.invoice,
    "manual": manual_topup.amounts,
    "mamt": manual_topup.choose_amount,
    "mok": manual_topup.approve,
    "mno": manual_topup.reject,
    "ref": referral.screen,
    "history": account.history,
    "res": account.show_result,
    "model": drafting.open_model,
    "opts": drafting.show_options,
    "opt": drafting.show_option_values,
    "set": drafting.change_option,
    "confirm": drafting.confirm,
    "launch": launching.launch,
    "again": launching.again,
    "fu": follow_ups.start,
    "adm": admin.action,
    "bcgo": broadcast.confirm,
    "bcno": broadcast.cancel,
    "prc": admin_prices.action,
    "orig": results.original,
}


async def start(services: Services, turn: Turn, fields: tuple[str, ...] = ()) -> Reply:
    """/start [ref_<code>]: the menu; a new user who came by an invite link is linked to the inviter."""
    if turn.args:
        await referral.link_from_start(services, turn, turn.args)
    return await navigation.menu(services, turn)


async def cancel(services: Services, turn: Turn, fields: tuple[str, ...] = ()) -> Reply:
    await services.storage.users.set_active_draft(turn.user.id, None)
    screen = await navigation.main_menu_screen(services, turn, notice=turn.fmt.t("menu.cancelled"))
    return Reply([turn.send(screen)])


COMMAND_ROUTES: dict[str, Handler] = {
    "start": start,
    "menu": navigation.menu,
    "help": navigation.help_screen,
    "balance": account.balance,
    "language": navigation.language,
    "cancel": cancel,
    "paysupport": payments.paysupport,
    "invite": referral.screen,
    "status": admin.status,
    "admin": admin.panel,
    "credit": admin.credit_command,
    "debit": admin.debit_command,
    "block": admin.block_command,
    "unblock": admin.unblock_command,
    "refund": admin.refund_command,
    "markup": admin.markup_command,
    "price": admin_prices.command,
}


async def on_text(services: Services, turn: Turn, fields: tuple[str, ...] = ()) -> Reply:
    assert isinstance(turn.event, TextMessage)
    waiting = pending.parse(turn.user.active_draft_id)
    if waiting is not None and waiting.kind == pending.RECEIPT:
        return Reply([turn.send(render_notice(turn.fmt.t("manual.need_receipt")))], rejected="VALIDATION_FAIL")
    if waiting is not None and waiting.kind == pending.ADMIN_PRICE and is_admin(services, turn):
        return await admin_prices.on_price_text(services, turn, waiting.argument, turn.event.text)
    if waiting is not None and is_admin(services, turn):
        return await admin.on_pending_text(services, turn, waiting.kind, turn.event.text)
    return await drafting.on_text(services, turn, turn.event.text)


async def on_media(services: Services, turn: Turn, fields: tuple[str, ...] = ()) -> Reply:
    assert isinstance(turn.event, MediaMessage)
    event = turn.event
    waiting = pending.parse(turn.user.active_draft_id)
    if waiting is not None and waiting.kind == pending.RECEIPT:
        return await manual_topup.receipt(services, turn, event.media, waiting.argument)
    if waiting is not None and waiting.kind == pending.ADMIN_BROADCAST and is_admin(services, turn):
        await services.storage.users.set_active_draft(turn.user.id, None)
        return await broadcast.draft_from_media(services, turn, event.media, event.caption)
    return await uploads.on_media(services, turn, event.media, event.caption)


async def on_membership(services: Services, turn: Turn, fields: tuple[str, ...] = ()) -> Reply:
    assert isinstance(turn.event, MembershipChange)
    await services.storage.users.set_blocked(turn.user.id, not turn.event.active)
    return Reply()


EVENT_ROUTES: dict[type, tuple[str, Handler]] = {
    TextMessage: ("text", on_text),
    MediaMessage: ("media", on_media),
    MembershipChange: ("membership", on_membership),
    PreCheckout: ("pre_checkout", payments.pre_checkout),
    PaymentReceived: ("payment", payments.payment_received),
    PaymentRefunded: ("payment_refunded", payments.payment_refunded),
}


def route(event: Event) -> tuple[str, Handler, tuple[str, ...]]:
    if isinstance(event, CallbackPress):
        data = callbacks.decode(event.data)
        if data is None or data.tag not in CALLBACK_ROUTES:
            return "stale", navigation.stale, ()
        return data.tag, CALLBACK_ROUTES[data.tag], data.fields
    if isinstance(event, Command):
        if event.name in COMMAND_ROUTES:
            return f"/{event.name}", COMMAND_ROUTES[event.name], ()
        return "/unknown", navigation.unknown_command, ()
    name, handler = EVENT_ROUTES[type(event)]
    return name, handler, ()
