"""Referrals: the deep link /start ref_<code>; after the invitee's first paid top-up both get a bonus,
once per pair; never for inviting oneself."""

from __future__ import annotations

import string

from core.context import Reply, Services, Turn
from core.i18n import Fmt, resolve_language
from core.views.payments import render_notice, render_referrals
from ports.effects import Effect, SendScreen

PREFIX = "ref_"
DIGITS = string.digits + string.ascii_lowercase
MAX_USER_ID = 2**53  # Telegram's ids fit in 52 bits; the update parser refuses anything past 2^53


def code_for(user_id: int) -> str:
    """A short, stable code: the user id in base 36."""
    value, out = user_id, ""
    while True:
        value, digit = divmod(value, 36)
        out = DIGITS[digit] + out
        if value == 0:
            return out


def user_for(code: str) -> int | None:
    code = code.lower()
    if not code or len(code) > 13 or any(c not in DIGITS for c in code):
        return None
    value = int(code, 36)
    return value if 0 < value <= MAX_USER_ID else None


def invite_link(services: Services, user_id: int) -> str:
    return f"https://t.me/{services.settings.bot_username}?start={PREFIX}{code_for(user_id)}"


async def link_from_start(services: Services, turn: Turn, args: str) -> None:
    """A new user who came by an invite link is linked to the inviter (existing users are not)."""
    if not turn.new_user or not args.startswith(PREFIX):
        return
    inviter = user_for(args[len(PREFIX):])
    if inviter is None or inviter == turn.user.id or await services.storage.users.get(inviter) is None:
        return
    await services.storage.referrals.link(turn.user.id, inviter, turn.now)


async def screen(services: Services, turn: Turn) -> Reply:
    stats = await services.storage.referrals.stats(turn.user.id)
    settings = services.settings
    view = render_referrals(
        turn.fmt, invite_link(services, turn.user.id), stats, settings.referral_bonus_inviter, settings.referral_bonus_invitee
    )
    return Reply([turn.show(view)])


async def reward_first_topup(services: Services, turn: Turn, invitee_id: int | None = None) -> list[Effect]:
    """Called after every paid top-up; pays the pair's bonus the first time. Effects tell both users."""
    settings = services.settings
    invitee_id = invitee_id if invitee_id is not None else turn.user.id
    if settings.referral_bonus_inviter <= 0 and settings.referral_bonus_invitee <= 0:
        return []
    inviter_id = await services.storage.referrals.reward(
        invitee_id, settings.referral_bonus_inviter, settings.referral_bonus_invitee, turn.now
    )
    if inviter_id is None:
        return []
    effects: list[Effect] = []
    for user_id, key, amount in (
        (inviter_id, "ref.bonus_inviter", settings.referral_bonus_inviter),
        (invitee_id, "ref.bonus_invitee", settings.referral_bonus_invitee),
    ):
        if amount > 0:
            fmt = await fmt_for_user(services, user_id)
            effects.append(SendScreen(user_id, render_notice(fmt.t(key, amount=fmt.money(amount)), "referral_bonus")))
    return effects


async def fmt_for_user(services: Services, user_id: int) -> Fmt:
    """The formatter in another user's language (for messages to someone other than the sender)."""
    user = await services.storage.users.get(user_id)
    language = resolve_language(user.language if user else None, user.language_code if user else None,
                                services.settings.default_language)
    return Fmt(language, services.settings.prices.currency)
