"""Balance, top-up and history screens."""

from __future__ import annotations

from typing import Mapping, Sequence

from core.callback_data import Again, History, Invite, Menu, ResendResult, TopUp
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


def render_balance(fmt: Fmt, balance: int, entries: Sequence[LedgerEntry], debt: int = 0) -> Screen:
    entry_lines = [
        fmt.t("balance.entry", date=fmt.date(e.created_at), amount=fmt.signed_money(e.amount), reason=_reason(fmt, e.reason))
        for e in entries
    ]
    text = lines(
        fmt.t("balance.title", balance=fmt.money(balance)),
        fmt.t("pay.debt", debt=fmt.money(debt)) if debt else None,
        "",
        fmt.t("balance.recent") if entries else fmt.t("balance.none"),
        *entry_lines,
    )
    keyboard = (
        (button(fmt.t("btn.topup"), TopUp()),),
        (button(fmt.t("btn.invite"), Invite()), button(fmt.t("btn.history"), History())),
        (button(fmt.t("btn.menu"), Menu()),),
    )
    return Screen(text, keyboard, "balance")


def render_history(
    fmt: Fmt, jobs: Sequence[Job], names: Mapping[str, str], page: int, has_more: bool
) -> Screen:
    """``names``: model id → display name; ``has_more``: an older page exists. Each job gets a number,
    a "📎" button to see its result again (when it has one) and a "🔁" button to repeat it."""
    first = page * HISTORY_PAGE + 1
    job_lines = [
        fmt.t(
            "history.line",
            number=first + i,
            icon=JOB_ICONS[job.state],
            date=fmt.date(job.created_at),
            name=names.get(job.model_id, job.model_id),
            price=fmt.money(job.price),
        )
        for i, job in enumerate(jobs)
    ]
    text = lines(fmt.t("history.title"), "", *(job_lines or [fmt.t("history.empty")]))
    rows: list[tuple[Button, ...]] = []
    for i, job in enumerate(jobs):
        row = [button(f"🔁 {first + i}", Again(job.id))]
        if job.state in (JobState.SUCCEEDED, JobState.DELIVERED):
            row.insert(0, button(f"📎 {first + i}", ResendResult(job.id)))
        rows.append(tuple(row))
    nav = []
    if page > 0:
        nav.append(button(fmt.t("btn.prev"), History(page - 1)))
    if has_more:
        nav.append(button(fmt.t("btn.next"), History(page + 1)))
    if nav:
        rows.append(tuple(nav))
    rows.append((button(fmt.t("btn.menu"), Menu()),))
    return Screen(text, tuple(rows), "history")
