"""Top-up, payment receipts, manual top-up requests and the invite screen."""

from __future__ import annotations

from core.callback_data import Balance, BuyStars, Confirm, Invite, ManualAmount, ManualTopUp, Menu, TopUp
from core.i18n import Fmt
from core.views.common import button, lines
from ports.billing import ReferralStats
from ports.screens import Button, Screen


def render_topup(
    fmt: Fmt, packages: list[tuple[int, int]], manual: bool, user_id: int, draft_id: str | None = None
) -> Screen:
    """``packages``: (Stars, credited amount) pairs; ``draft_id``: the order the top-up was started from."""
    rows: list[tuple[Button, ...]] = [
        (button(fmt.t("topup.stars_button", stars=stars, amount=fmt.money(amount)), BuyStars(stars, draft_id or None)),)
        for stars, amount in packages
    ]
    if manual:
        rows.append((button(fmt.t("topup.manual_button"), ManualTopUp()),))
    rows.append((button(fmt.t("btn.invite"), Invite()),))
    if draft_id:
        rows.append((button(fmt.t("btn.back_to_order"), Confirm(draft_id)),))
    rows.append((button(fmt.t("btn.balance"), Balance()), button(fmt.t("btn.menu"), Menu())))
    text = lines(fmt.t("topup.title"), "", fmt.t("topup.choose"), fmt.t("topup.support", user_id=user_id))
    return Screen(text, tuple(rows), "topup")


def render_manual_amounts(fmt: Fmt, amounts: tuple[int, ...]) -> Screen:
    rows = tuple((button(fmt.money(amount), ManualAmount(amount)),) for amount in amounts)
    return Screen(fmt.t("manual.choose"), rows + ((button(fmt.t("btn.back"), TopUp()),),), "manual_amounts")


def render_receipt_request(fmt: Fmt, amount: int, details: str) -> Screen:
    text = lines(fmt.t("manual.send_receipt", amount=fmt.money(amount)), details or None)
    return Screen(text, ((button(fmt.t("btn.back"), ManualTopUp()), button(fmt.t("btn.menu"), Menu())),), "manual_receipt")


def render_referrals(fmt: Fmt, link: str, stats: ReferralStats, inviter_bonus: int, invitee_bonus: int) -> Screen:
    text = lines(
        fmt.t("ref.title"),
        "",
        fmt.t("ref.how", inviter=fmt.money(inviter_bonus), invitee=fmt.money(invitee_bonus)),
        "",
        link,
        "",
        fmt.t("ref.stats", invited=stats.invited, rewarded=stats.rewarded, earned=fmt.money(stats.earned)),
    )
    return Screen(text, ((button(fmt.t("btn.balance"), Balance()), button(fmt.t("btn.menu"), Menu())),), "referrals")


def render_notice(text: str, screen_id: str = "notice") -> Screen:
    return Screen(text, (), screen_id)


def support_link(contact: str) -> str:
    """A URL button target for SUPPORT_CONTACT (``@name`` or an https link)."""
    return f"https://t.me/{contact[1:]}" if contact.startswith("@") else contact


def render_receipt(fmt: Fmt, receipt: str, draft_id: str | None, support: str = "") -> Screen:
    """A Stars payment credited; started from an order, the way back to it (the draft is untouched)."""
    text = lines(
        receipt,
        fmt.t("pay.receipt_order") if draft_id else None,
        fmt.t("pay.support_contact", contact=support) if support else None,
    )
    rows: tuple[tuple[Button, ...], ...] = ()
    if draft_id:
        rows = ((button(fmt.t("btn.back_to_order"), Confirm(draft_id)),), (button(fmt.t("btn.menu"), Menu()),))
    return Screen(text, rows, "payment_receipt")


def render_support(fmt: Fmt, user_id: int, support: str = "") -> Screen:
    """/paysupport: how to reach a person (SUPPORT_CONTACT), with the user's id to quote."""
    if not support:
        return Screen(fmt.t("pay.support", user_id=user_id), (), "paysupport")
    text = lines(fmt.t("pay.support_with_contact", user_id=user_id), fmt.t("pay.support_contact", contact=support))
    return Screen(text, ((Button(fmt.t("btn.support"), url=support_link(support)),),), "paysupport")
