"""Manual top-ups for bank transfers: the user picks an amount and sends a receipt; every admin gets it
with approve/reject buttons; the money is credited exactly once however many admins press. Nothing is
credited from reading a picture."""

from __future__ import annotations

from core import cashier, pending
from core.callback_data import AMOUNT_DIGITS, ApproveTopUp, ManualAmount, RejectTopUp
from core.callbacks import int_field
from core.context import Reply, Services, Turn
from core.handlers.navigation import stale
from core.handlers.referral import bonuses, fmt_for_user, reward_notices, reward_of
from core.views.common import button
from core.views.payments import render_manual_amounts, render_notice, render_receipt_request
from ports.model import ManualTopup, TopupState
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
    await cashier.create_topup(services.storage, topup)
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
    topup, topped = await cashier.decide_topup(  # the decision, the money, the bonus and the audit entry: one unit
        services.storage, topup_id, turn.user.id, turn.now, approve, bonuses(services)
    )
    if topup is None:
        return await stale(services, turn)
    wanted = TopupState.APPROVED if approve else TopupState.REJECTED
    repeat = topped is None and topup.decided_by == turn.user.id and topup.state is wanted
    if topped is None and not repeat:
        state = turn.fmt.t(f"manual.state.{topup.state.value}")
        return Reply(toast=turn.fmt.t("manual.already", state=state, admin=topup.decided_by), rejected="ALREADY_DECIDED")
    # A repeat (this admin's decision again: its update processed again after a crash, or a second press) gives
    # the notices again; their outbox keys send each once. The audit entry was written with the decision.
    user_fmt = await fmt_for_user(services, topup.user_id)
    done = turn.send(render_notice(turn.fmt.t(
        "manual.admin_done" if approve else "manual.admin_rejected", id=topup.id, amount=turn.fmt.money(topup.amount)
    )))
    once: dict[Effect, str] = {done: f"topup:{topup.id}:admin"}
    if approve:
        if topped is None:
            balance = await services.storage.ledger.balance(topup.user_id)
            reward = await reward_of(services, topup.user_id, topup.decided_at or turn.now)
        else:
            balance, reward = topped.balance, topped.reward
        text = user_fmt.t("manual.credited", amount=user_fmt.money(topup.amount), balance=user_fmt.money(balance))
        once[SendScreen(topup.user_id, render_notice(text, "manual_credited"))] = f"topup:{topup.id}:user"
        once.update(await reward_notices(services, reward))
    else:
        once[SendScreen(topup.user_id, render_notice(user_fmt.t("manual.rejected"), "manual_rejected"))] = \
            f"topup:{topup.id}:user"
    return Reply(list(once), toast=turn.fmt.t("manual.toast_done"), once=once)


async def approve(services: Services, turn: Turn, data: ApproveTopUp) -> Reply:
    return await decide(services, turn, data.topup, approve=True)


async def reject(services: Services, turn: Turn, data: RejectTopUp) -> Reply:
    return await decide(services, turn, data.topup, approve=False)


