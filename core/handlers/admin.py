"""The admin panel and commands (ADMIN_ID). Their routes are admin-only (core/routes.py): non-admins get the
ordinary unknown-command answer or the "menu updated" screen, no hint these exist. Every action is audited."""

from __future__ import annotations

from decimal import Decimal

from core import pending
from core.callback_data import AdminAction
from core.callbacks import int_field
from core.context import Reply, Services, Turn
from core.handlers import admin_catalog, broadcast
from core.handlers.admin_tools import audit, command_key, find_user, parse_amount, parse_user_id
from core.handlers.navigation import stale
from core.handlers.payments import refund_notice
from core.handlers.referral import fmt_for_user
from core.views.admin import back_to_panel, render_audit, render_panel, render_stats, render_status, render_user_card
from core.views.payments import render_notice
from ports.billing import StarsRefundError
from ports.effects import SendScreen
from ports.generation import GatewayError
from ports.screens import Screen
from ports.storage import BalanceLimitError, InsufficientBalanceError


async def _kie(services: Services) -> tuple[Decimal | None, str | None]:
    try:
        return await services.gateway.credits(), None
    except GatewayError as error:
        return None, error.code


async def status(services: Services, turn: Turn) -> Reply:
    """/status: the generation service as the bot sees it, and the operator's KIE credits."""
    credits, error = await _kie(services)
    return Reply([turn.send(render_status(turn.fmt, services.gateway.health(), credits, error))])


async def panel(services: Services, turn: Turn) -> Reply:
    """/admin"""
    await services.storage.users.set_active_draft(turn.user.id, None)
    credits, error = await _kie(services)
    return Reply([turn.show(render_panel(turn.fmt, services.gateway.health(), credits, error))])


async def action(services: Services, turn: Turn, data: AdminAction) -> Reply:
    """adm:<action>[:<argument>] buttons of the panel."""
    name, argument = data.action, data.argument or ""
    if name == "panel":
        return await panel(services, turn)
    if name == "stats":
        summary = await services.storage.stats.summary(turn.now)
        credits, _ = await _kie(services)
        return Reply([turn.show(render_stats(turn.fmt, summary, credits, services.catalog.models))])
    if name == "audit":
        return Reply([turn.show(render_audit(turn.fmt, await services.storage.audit.recent(20)))])
    if name in ("find", "markup", "bc"):
        kind = {"find": pending.ADMIN_FIND, "markup": pending.ADMIN_MARKUP, "bc": pending.ADMIN_BROADCAST}[name]
        await services.storage.users.set_active_draft(turn.user.id, pending.marker(kind))
        return Reply([turn.show(Screen(turn.fmt.t(f"admin.ask.{name}"), back_to_panel(turn.fmt), "admin_ask"))])
    user_id = parse_user_id(argument) if name in ("ban", "unban") else None
    if user_id is not None:
        return await set_banned(services, turn, user_id, name == "ban")
    if name == "models":
        return await admin_catalog.models(services, turn, int_field(argument) or 0)
    if name == "mt" and argument:
        return await admin_catalog.toggle(services, turn, argument)
    return await stale(services, turn)


async def user_card(services: Services, turn: Turn, query: str) -> Reply:
    user = await find_user(services, query)
    if user is None:
        return Reply([turn.send(render_notice(turn.fmt.t("admin.user.not_found", query=query[:64])))], rejected="NOT_FOUND")
    storage = services.storage
    screen = render_user_card(
        turn.fmt, user, await storage.ledger.balance(user.id), await storage.ledger.debt(user.id),
        await storage.ledger.entries(user.id, 5), await storage.jobs.for_user(user.id, 5),
        await storage.payments.for_user(user.id, 5), services.catalog.models,
    )
    return Reply([turn.send(screen)])


async def set_banned(services: Services, turn: Turn, user_id: int, banned: bool) -> Reply:
    if not await services.storage.users.set_banned(user_id, banned):
        return Reply([turn.send(render_notice(turn.fmt.t("admin.user.not_found", query=user_id)))], rejected="NOT_FOUND")
    await audit(services, turn, "ban" if banned else "unban", user=user_id)
    key = "admin.user.banned" if banned else "admin.user.unbanned"
    return Reply([turn.send(render_notice(turn.fmt.t(key, user_id=user_id)))])


async def money_command(services: Services, turn: Turn, credit: bool) -> Reply:
    """/credit <user> <amount> and /debit <user> <amount> (major units); the reply has the new balance."""
    parts = turn.args.split()
    user = await find_user(services, parts[0]) if len(parts) == 2 else None
    amount = parse_amount(services, parts[1]) if len(parts) == 2 else None
    if user is None or amount is None:
        return Reply([turn.send(render_notice(turn.fmt.t("admin.money.usage")))], rejected="VALIDATION_FAIL")
    if amount > services.settings.admin_max_amount:
        text = turn.fmt.t("admin.money.limit", limit=turn.fmt.money(services.settings.admin_max_amount))
        return Reply([turn.send(render_notice(text))], rejected="AMOUNT_LIMIT")
    action_name = "credit" if credit else "debit"
    key = command_key(services, action_name)
    ledger = services.storage.ledger
    try:
        if credit:
            await ledger.credit(user.id, amount, key, "admin", turn.now)
        else:
            await ledger.debit(user.id, amount, key, "admin", turn.now)
    except InsufficientBalanceError as error:
        text = turn.fmt.t("admin.money.insufficient", balance=turn.fmt.money(error.balance))
        return Reply([turn.send(render_notice(text))], rejected="INSUFFICIENT_BALANCE")
    except BalanceLimitError as error:
        text = turn.fmt.t("admin.money.balance_limit", balance=turn.fmt.money(error.balance))
        return Reply([turn.send(render_notice(text))], rejected="BALANCE_LIMIT")
    await audit(services, turn, action_name, user=user.id, amount=amount, key=key)
    balance = await ledger.balance(user.id)
    text = turn.fmt.t(f"admin.money.{action_name}ed", user_id=user.id, amount=turn.fmt.money(amount),
                      balance=turn.fmt.money(balance))
    return Reply([turn.send(render_notice(text))])


async def credit_command(services: Services, turn: Turn) -> Reply:
    return await money_command(services, turn, credit=True)


async def debit_command(services: Services, turn: Turn) -> Reply:
    return await money_command(services, turn, credit=False)


async def ban_command(services: Services, turn: Turn, banned: bool) -> Reply:
    user = await find_user(services, turn.args)
    if user is None:
        return Reply([turn.send(render_notice(turn.fmt.t("admin.user.usage")))], rejected="VALIDATION_FAIL")
    return await set_banned(services, turn, user.id, banned)


async def block_command(services: Services, turn: Turn) -> Reply:
    return await ban_command(services, turn, banned=True)


async def unblock_command(services: Services, turn: Turn) -> Reply:
    return await ban_command(services, turn, banned=False)


async def refund_command(services: Services, turn: Turn) -> Reply:
    """/refund <telegram charge id>: the Stars go back to the user (refundStarPayment), the credit too."""
    charge_id = turn.args.strip()
    payment = await services.storage.payments.get(charge_id) if charge_id else None
    if payment is None or services.stars is None:
        return Reply([turn.send(render_notice(turn.fmt.t("admin.refund.usage")))], rejected="VALIDATION_FAIL")
    try:
        await services.stars.refund(payment.user_id, charge_id)
    except StarsRefundError as error:
        return Reply([turn.send(render_notice(turn.fmt.t("admin.refund.refused", reason=str(error))))], rejected="REFUSED")
    refunded, changed = await services.storage.payments.refund_stars(charge_id, turn.now)
    await audit(services, turn, "refund_stars", charge=charge_id, user=payment.user_id, stars=payment.stars)
    effects = [turn.send(render_notice(turn.fmt.t("admin.refund.done", stars=payment.stars, user_id=payment.user_id)))]
    if changed and refunded is not None:
        user_fmt = await fmt_for_user(services, payment.user_id)
        user_turn = Turn(turn.event, turn.user, user_fmt, turn.now)
        effects.append(SendScreen(payment.user_id, render_notice(await refund_notice(services, user_turn, refunded))))
    return Reply(effects)


async def on_pending_text(services: Services, turn: Turn, kind: str, text: str) -> Reply:
    await services.storage.users.set_active_draft(turn.user.id, None)
    if kind == pending.ADMIN_FIND:
        return await user_card(services, turn, text)
    if kind == pending.ADMIN_MARKUP:
        return await admin_catalog.set_markup(services, turn, text)
    return await broadcast.draft_from_text(services, turn, text)


async def markup_command(services: Services, turn: Turn) -> Reply:
    return await admin_catalog.set_markup(services, turn, turn.args)
