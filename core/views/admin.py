"""Screens only operators see."""

from __future__ import annotations

from decimal import Decimal
from typing import Sequence

from core.callback_data import AdminAction, CancelBroadcast, Noop, PriceAction, SendBroadcast
from core.i18n import LANGUAGES, Fmt, localized
from core.views.common import button, lines
from ports.admin import AuditEntry, Broadcast, StatsSummary
from ports.billing import StarsPayment
from ports.catalog import ModelSpec
from ports.generation import GatewayHealth
from ports.screens import Button, Screen
from ports.storage import Job, LedgerEntry, User

MODELS_PAGE = 10


def _kie_lines(fmt: Fmt, health: GatewayHealth, credits: Decimal | None, credits_error: str | None) -> list[str]:
    found = [fmt.t("admin.status.kie_state", state=health.state, accepting=fmt.t("yes") if health.accepting else fmt.t("no"))]
    if health.last_error:
        found.append(fmt.t("admin.status.last_error", code=health.last_error))
    found.append(fmt.t("admin.status.credits", credits=credits) if credits is not None
                 else fmt.t("admin.status.credits_error", code=credits_error))
    return found


def render_status(fmt: Fmt, health: GatewayHealth, credits: Decimal | None, credits_error: str | None) -> Screen:
    return Screen(lines(fmt.t("admin.status.title"), *_kie_lines(fmt, health, credits, credits_error)), (), "admin_status")


def render_panel(fmt: Fmt, health: GatewayHealth, credits: Decimal | None, credits_error: str | None) -> Screen:
    keyboard = (
        (button(fmt.t("admin.btn.stats"), AdminAction("stats")), button(fmt.t("admin.btn.user"), AdminAction("find"))),
        (button(fmt.t("admin.btn.models"), AdminAction("models")), button(fmt.t("admin.btn.markup"), AdminAction("markup"))),
        (button(fmt.t("admin.btn.broadcast"), AdminAction("bc")), button(fmt.t("admin.btn.audit"), AdminAction("audit"))),
        (button(fmt.t("admin.btn.prices"), PriceAction("list")), button(fmt.t("admin.btn.margin"), PriceAction("margin"))),
    )
    text = lines(fmt.t("admin.title"), *_kie_lines(fmt, health, credits, credits_error), "", fmt.t("admin.commands"))
    return Screen(text, keyboard, "admin_panel")


def back_to_panel(fmt: Fmt) -> tuple[tuple[Button, ...], ...]:
    return ((button(fmt.t("btn.back"), AdminAction("panel")),),)


def render_stats(fmt: Fmt, summary: StatsSummary, credits: Decimal | None, models: Sequence[ModelSpec] = ()) -> Screen:
    """``models``: the catalog, for the models' names (an id no longer in it is shown as is)."""
    names = {m.id: localized(m.names, fmt.language) for m in models}
    active = ", ".join(
        fmt.t("admin.stats.active_item", days=days, count=count) for days, count in sorted(summary.users_active.items())
    )
    states = ", ".join(
        fmt.t("admin.stats.state_item", state=_state_name(fmt, state), count=count)
        for state, count in sorted(summary.jobs_by_state.items())
    ) or "—"
    top = ", ".join(f"{names.get(model, model)} ({count})" for model, count in summary.top_models) or "—"
    revenue = [
        fmt.t("admin.stats.revenue", days=days, amount=fmt.money(r.amount), stars=r.stars, payments=r.payments)
        for days, r in sorted(summary.revenue.items())
    ]
    text = lines(
        fmt.t("admin.stats.title"),
        fmt.t("admin.stats.users", total=summary.users_total, active=active),
        fmt.t("admin.stats.jobs", states=states),
        fmt.t("admin.stats.top", top=top),
        *revenue,
        fmt.t("admin.stats.refunds", count=summary.refunds, amount=fmt.money(summary.refunded_amount)),
        fmt.t("admin.status.credits", credits=credits) if credits is not None else None,
    )
    return Screen(text, back_to_panel(fmt), "admin_stats")


def _state_name(fmt: Fmt, state: str) -> str:
    key = f"job_state.{state}"
    return fmt.t(key) if key in LANGUAGES[fmt.language] else state


def _reason(fmt: Fmt, reason: str) -> str:
    key = f"reason.{reason}"
    return fmt.t(key) if key in LANGUAGES[fmt.language] else reason


def render_user_card(
    fmt: Fmt,
    user: User,
    balance: int,
    debt: int,
    entries: Sequence[LedgerEntry],
    jobs: Sequence[Job],
    payments: Sequence[StarsPayment],
    models: Sequence[ModelSpec] = (),
) -> Screen:
    """``models``: the catalog, for the jobs' model names."""
    names = {m.id: localized(m.names, fmt.language) for m in models}
    name = f"@{user.username}" if user.username else (user.first_name or "—")
    text = lines(
        fmt.t("admin.user.title", id=user.id, name=name),
        fmt.t("admin.user.balance", balance=fmt.money(balance), debt=fmt.money(debt)),
        fmt.t("admin.user.flags", banned=fmt.t("yes") if user.banned else fmt.t("no"),
              blocked=fmt.t("yes") if user.blocked else fmt.t("no")),
        fmt.t("admin.user.ledger"),
        *[f"  {fmt.date(e.created_at)} {fmt.signed_money(e.amount)} {_reason(fmt, e.reason)}" for e in entries] or ["  —"],
        fmt.t("admin.user.jobs"),
        *[f"  {fmt.date(j.created_at)} {names.get(j.model_id, j.model_id)} {_state_name(fmt, j.state.value)} "
          f"{fmt.money(j.price)}" for j in jobs] or ["  —"],
        fmt.t("admin.user.payments"),
        *[f"  {fmt.date(p.created_at)} {p.stars}⭐ {fmt.money(p.amount)}{' ↩️' if p.refunded_at else ''} {p.charge_id}"
          for p in payments] or ["  —"],
    )
    toggle = button(fmt.t("admin.btn.unban"), AdminAction("unban", str(user.id))) if user.banned else button(
        fmt.t("admin.btn.ban"), AdminAction("ban", str(user.id)))
    return Screen(text, ((toggle,),) + back_to_panel(fmt), "admin_user")


def render_models(fmt: Fmt, models: Sequence[ModelSpec], page: int) -> Screen:
    pages = max(1, -(-len(models) // MODELS_PAGE))
    page = min(max(page, 0), pages - 1)
    rows: list[tuple[Button, ...]] = [
        (button(f"{'✅' if m.enabled else '⛔'} {localized(m.names, fmt.language)}", AdminAction("mt", str(m.id))),)
        for m in models[page * MODELS_PAGE:(page + 1) * MODELS_PAGE]
    ]
    if pages > 1:
        rows.append((button(fmt.t("btn.prev"), AdminAction("models", str((page - 1) % pages))),
                     button(fmt.t("category.page", page=page + 1, pages=pages), Noop()),
                     button(fmt.t("btn.next"), AdminAction("models", str((page + 1) % pages)))))
    return Screen(fmt.t("admin.models.title"), tuple(rows) + back_to_panel(fmt), "admin_models")


def render_audit(fmt: Fmt, entries: Sequence[AuditEntry]) -> Screen:
    body = [f"{fmt.date(e.at)} {e.actor} {e.action} {dict(e.details)}" for e in entries] or ["—"]
    return Screen(lines(fmt.t("admin.audit.title"), *body), back_to_panel(fmt), "admin_audit")


def render_broadcast_preview(fmt: Fmt, broadcast: Broadcast, recipients_hint: str) -> Screen:
    text = lines(fmt.t("admin.bc.preview"), "", broadcast.text or "—", "", recipients_hint)
    keyboard = ((button(fmt.t("admin.bc.send"), SendBroadcast(broadcast.id)), button(fmt.t("admin.bc.cancel"), CancelBroadcast(broadcast.id))),)
    return Screen(text, keyboard, "admin_broadcast_preview")


def render_broadcast_progress(fmt: Fmt, broadcast: Broadcast) -> Screen:
    key = "admin.bc.done" if broadcast.state.value in ("done", "cancelled") else "admin.bc.progress"
    text = fmt.t(key, delivered=broadcast.delivered, failed=broadcast.failed, blocked=broadcast.blocked,
                 state=broadcast.state.value)
    return Screen(text, (), "admin_broadcast_progress")


def render_alert(fmt: Fmt, code: str) -> Screen:
    return Screen(fmt.t(f"admin.alert.{code}"), (), "admin_alert")
