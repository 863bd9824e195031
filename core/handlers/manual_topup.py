"""Manual top-ups for bank transfers: the user picks an amount and sends a receipt; every admin gets it
with approve/reject buttons; the money is credited exactly once however many admins press. Nothing is
credited from reading a picture."""

from __future__ import annotations

from core import pending
from core.callbacks import int_field
from core.context import Reply, Services, Turn
from core.handlers.admin_tools import audit, is_admin
from core.handlers.navigation import stale
from core.handlers.referral import fmt_for_user, reward_first_topup
from core.views.common import button
from core.views.payments import render_manual_amounts, render_notice, render_receipt_request
from ports.billing import ManualTopup, TopupState
from ports.effects import Effect, ResultKind, SendFile, SendScreen
from ports.media import MediaKind, MediaRef


def _enabled(services: Services) -> bool:
    return bool(services.settings.manual_amounts) and bool(services.settings.admin_ids)


async def amounts(services: Services, turn: Turn, fields: tuple[str, ...] = ()) -> Reply:
    if not _enabled(services):
        return await stale(services, turn)
    return Reply([turn.show(render_manual_amounts(turn.fmt, services.settings.manual_amounts))])


async def choose_amount(services: Services, turn: Turn, fields: tuple[str, ...]) -> Reply:
    amount = int_field(fields[0])
    if not _enabled(services) or amount not in services.settings.manual_amounts:
        return await stale(services, turn)
    await services.storage.users.set_active_draft(turn.user.id, pending.marker(pending.RECEIPT, amount))
    return Reply([turn.show(render_receipt_request(turn.fmt, amount, services.settings.manual_details))])


async def receipt(services: Services, turn: Turn, ref: MediaRef, amount_text: str) -> Reply:
    """The photo or document the user sent as proof: one request, shown to every admin."""
    amount = int_field(amount_text)
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
        keyboard = ((button(fmt.t("manual.approve"), "mok", topup.id), button(fmt.t("manual.reject"), "mno", topup.id)),)
        effects.append(SendFile(admin_id, kind, ref.file_id, caption, keyboard))
    return Reply(effects)


async def decide(services: Services, turn: Turn, fields: tuple[str, ...], approve: bool) -> Reply:
    if not is_admin(services, turn):
        return await stale(services, turn)
    topups = services.storage.topups
    call = topups.approve if approve else topups.reject
    topup, won = await call(fields[0], turn.user.id, turn.now)
    if topup is None:
        return await stale(services, turn)
    action = "topup_approve" if approve else "topup_reject"
    wanted = TopupState.APPROVED if approve else TopupState.REJECTED
    repeat = not won and topup.decided_by == turn.user.id and topup.state is wanted
    if not won and not repeat:
        state = turn.fmt.t(f"manual.state.{topup.state.value}")
        return Reply(toast=turn.fmt.t("manual.already", state=state, admin=topup.decided_by), rejected="ALREADY_DECIDED")
    # A repeat (this admin's decision again, e.g. the update processed again after a crash) completes what the
    # first may not have: the audit entry when it is missing, the notices (their outbox keys send each once).
    if not repeat or not await _audited(services, action, topup.id):
        await audit(services, turn, action, topup=topup.id, user=topup.user_id, amount=topup.amount)
    user_fmt = await fmt_for_user(services, topup.user_id)
    done = turn.send(render_notice(turn.fmt.t(
        "manual.admin_done" if approve else "manual.admin_rejected", id=topup.id, amount=turn.fmt.money(topup.amount)
    )))
    once: dict[Effect, str] = {done: f"topup:{topup.id}:admin"}
    if approve:
        balance = await services.storage.ledger.balance(topup.user_id)
        text = user_fmt.t("manual.credited", amount=user_fmt.money(topup.amount), balance=user_fmt.money(balance))
        once[SendScreen(topup.user_id, render_notice(text, "manual_credited"))] = f"topup:{topup.id}:user"
        paid_at = topup.decided_at if repeat else None
        once.update(await reward_first_topup(services, turn, invitee_id=topup.user_id, paid_at=paid_at))
    else:
        once[SendScreen(topup.user_id, render_notice(user_fmt.t("manual.rejected"), "manual_rejected"))] = \
            f"topup:{topup.id}:user"
    return Reply(list(once), toast=turn.fmt.t("manual.toast_done"), once=once)


async def _audited(services: Services, action: str, topup_id: str) -> bool:
    """Whether the audit log's recent entries hold this decision (looked up only on a repeat)."""
    entries = await services.storage.audit.recent(AUDIT_LOOKBACK)
    return any(entry.action == action and entry.details.get("topup") == topup_id for entry in entries)


AUDIT_LOOKBACK = 500  # a repeat comes within minutes of the decision: it is among the newest entries


async def approve(services: Services, turn: Turn, fields: tuple[str, ...]) -> Reply:
    return await decide(services, turn, fields, approve=True)


async def reject(services: Services, turn: Turn, fields: tuple[str, ...]) -> Reply:
    return await decide(services, turn, fields, approve=False)


