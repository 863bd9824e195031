"""Balance, top-up and history screens."""

from __future__ import annotations

from typing import Mapping, Sequence

from core.i18n import LANGUAGES, Fmt
from core.views.common import button, lines
from ports.screens import Button, Screen
from ports.storage import Job, JobState, LedgerEntry

HISTORY_PAGE = 10

JOB_ICONS = {
    JobState.CREATED: "⏳",
    JobState.SUBMITTED: "⏳",
    JobState.RUNNING: "⏳",
    JobState.SUCCEEDED: "✅",
    JobState.DELIVERED: "✅",
    JobState.FAILED: "❌",
    JobState.TIMED_OUT: "⌛",
    JobState.REFUNDED: "↩️",
}


def _reason(fmt: Fmt, reason: str) -> str:
    return fmt.t(f"reason.{reason}") if f"reason.{reason}" in LANGUAGES[fmt.language] else reason


def render_balance(fmt: Fmt, balance: int, entries: Sequence[LedgerEntry]) -> Screen:
    entry_lines = [
        fmt.t("balance.entry", date=fmt.date(e.created_at), amount=fmt.signed_money(e.amount), reason=_reason(fmt, e.reason))
        for e in entries
    ]
    text = lines(
        fmt.t("balance.title", balance=fmt.money(balance)),
        "",
        fmt.t("balance.recent") if entries else fmt.t("balance.none"),
        *entry_lines,
    )
    keyboard = ((button(fmt.t("btn.topup"), "topup"),), (button(fmt.t("btn.menu"), "menu"),))
    return Screen(text, keyboard, "balance")


def render_topup(fmt: Fmt, user_id: int) -> Screen:
    text = lines(fmt.t("topup.title"), "", fmt.t("topup.manual", user_id=user_id))
    keyboard = ((button(fmt.t("btn.balance"), "balance"), button(fmt.t("btn.menu"), "menu")),)
    return Screen(text, keyboard, "topup")


def render_history(
    fmt: Fmt, jobs: Sequence[Job], names: Mapping[str, str], page: int, has_more: bool
) -> Screen:
    """``names``: model id → display name; ``has_more``: an older page exists."""
    job_lines = [
        fmt.t(
            "history.line",
            icon=JOB_ICONS[job.state],
            date=fmt.date(job.created_at),
            name=names.get(job.model_id, job.model_id),
            price=fmt.money(job.price),
        )
        for job in jobs
    ]
    text = lines(fmt.t("history.title"), "", *(job_lines or [fmt.t("history.empty")]))
    rows: list[tuple[Button, ...]] = [
        (button(f"{fmt.t('btn.again')}: {names.get(job.model_id, job.model_id)}", "again", job.id),)
        for job in jobs[:3]
    ]
    nav = []
    if page > 0:
        nav.append(button(fmt.t("btn.prev"), "history", page - 1))
    if has_more:
        nav.append(button(fmt.t("btn.next"), "history", page + 1))
    if nav:
        rows.append(tuple(nav))
    rows.append((button(fmt.t("btn.menu"), "menu"),))
    return Screen(text, tuple(rows), "history")
