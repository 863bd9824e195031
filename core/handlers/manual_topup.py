"""Manual top-ups for bank transfers: the user picks an amount and sends a receipt; every admin gets it
with approve/reject buttons; the money is credited exactly once however many admins press. Nothing is
credited from reading a picture."""

from __future__ import annotations

from core import pending
from core.callback_data import AMOUNT_DIGITS, ApproveTopUp, ManualAmount, RejectTopUp
from core.callbacks import int_field
from core.context import Reply, Services, Turn
from core.handlers.admin_tools import audit
from core.handlers.navigation import stale
from core.handlers.referral import fmt_for_user, reward_first_topup
from core.views.common import button
from core.views.payments import render_manual_amounts, render_notice, render_receipt_request
from ports.billing import ManualTopup
from ports.effects import Effect, ResultKind, SendFile, SendScreen
from ports.media import MediaKind, MediaRef


def _enabled(services: Services) -> bool:
    return bool(services.settings.manual_amounts) and bool(services.settings.admin_ids)


async def amounts(services: Services, turn: Turn) -> Reply:
    if not _enabled(services):
        return await stale(services, turn)
    return Reply([turn.show(render_manual_amounts(turn.fmt, services.settings.manual_amounts))])


async def choose_amount(services: Services, turn: Turn, data: ManualAmount) -> Reply:
    amount = data.amount
    if not _enabled(services) or amount not in services.settings.manual_amounts:
        return await stale(services, turn)
    await services.storage.users.set_active_draft(turn.user.id, pending.marker(pending.RECEIPT, amount))
    return Reply([turn.show(render_receipt_request(turn.fmt, amount, services.settings.manual_details))])


async def receipt(services: Services, turn: Turn, ref: MediaRef, amount_text: str) -> Reply:
    """The photo or document the user sent as proof: one request, shown to every admin."""
    amount = int_field(amount_text, AMOUNT_DIGITS)
    if amount is None or ref.kind not in (MediaKind.PHOTO, MediaKind.DOCUMENT):
        return Reply([turn.send(render_notice(turn.fmt.t("manual.need_receipt")))], rejected="VALIDATION_FAIL")
    kind = ResultKind.PHOTO if ref.kind is MediaKind.PHOTO else ResultKind.DOCUMENT
    topup = ManualTopup(services.new_id(), turn.user.id, amount, ref.file_id, kind.value, turn.now)
    await services.storage.topups.create(topup)
    await services.storage.users.set_active_draft(turn.user.id, None)
    who = f"@{turn.user.username}" if turn.user.username else (turn.user.first_name or "")
    effects: list[Effect] = [turn.send(render_notice(turn.fmt.t("manual.sent", amount=turn.fmt.money(amount))))]
    for admin_id in services.settings.admin_ids:
        fmt = await fmt_for_user(services, admin_id)
        caption = fmt.t("manual.admin_caption", id=topup.id, user=who, user_id=turn.user.id, amount=fmt.money(amount))
        keyboard = ((button(fmt.t("manual.approve"), ApproveTopUp(topup.id)), button(fmt.t("manual.reject"), RejectTopUp(topup.id))),)
        effects.append(SendFile(admin_id, kind, ref.file_id, caption, keyboard))
    return Reply(effects)


async def decide(services: Services, turn: Turn, topup_id: str, approve: bool) -> Reply:
    """An admin's decision (the route is admin-only)."""
    topups = services.storage.topups
    call = topups.approve if approve else topups.reject
    topup, won = await call(topup_id, turn.user.id, turn.now)
    if topup is None:
        return await stale(services, turn)
    if not won:
        state = turn.fmt.t(f"manual.state.{topup.state.value}")
        return Reply(toast=turn.fmt.t("manual.already", state=state, admin=topup.decided_by), rejected="ALREADY_DECIDED")
    await audit(services, turn, "topup_approve" if approve else "topup_reject", topup=topup.id, user=topup.user_id,
                amount=topup.amount)
    user_fmt = await fmt_for_user(services, topup.user_id)
    effects: list[Effect] = [turn.send(render_notice(turn.fmt.t(
        "manual.admin_done" if approve else "manual.admin_rejected", id=topup.id, amount=turn.fmt.money(topup.amount)
    )))]
    if approve:
        balance = await services.storage.ledger.balance(topup.user_id)
        text = user_fmt.t("manual.credited", amount=user_fmt.money(topup.amount), balance=user_fmt.money(balance))
        effects.append(SendScreen(topup.user_id, render_notice(text, "manual_credited")))
        effects += await reward_first_topup(services, turn, invitee_id=topup.user_id)
    else:
        effects.append(SendScreen(topup.user_id, render_notice(user_fmt.t("manual.rejected"), "manual_rejected")))
    return Reply(effects, toast=turn.fmt.t("manual.toast_done"))


async def approve(services: Services, turn: Turn, data: ApproveTopUp) -> Reply:
    return await decide(services, turn, data.topup, approve=True)


async def reject(services: Services, turn: Turn, data: RejectTopUp) -> Reply:
    return await decide(services, turn, data.topup, approve=False)


