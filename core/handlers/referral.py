"""Referrals: the deep link /start ref_<code>; after the invitee's first paid top-up both get a bonus,
once per pair; never for inviting oneself."""

from __future__ import annotations

import string
from datetime import datetime

from core import cashier
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
    await cashier.link_referral(services.storage, turn.user.id, inviter, turn.now)


async def screen(services: Services, turn: Turn) -> Reply:
    stats = await services.storage.referrals.stats(turn.user.id)
    settings = services.settings
    view = render_referrals(
        turn.fmt, invite_link(services, turn.user.id), stats, settings.referral_bonus_inviter, settings.referral_bonus_invitee
    )
    return Reply([turn.show(view)])


def bonuses(services: Services) -> cashier.Bonuses:
    """What a pair earns after the invitee's first paid top-up (paid in that top-up's unit of work)."""
    return cashier.Bonuses(services.settings.referral_bonus_inviter, services.settings.referral_bonus_invitee)


async def reward_of(services: Services, invitee_id: int, paid_at: datetime) -> cashier.ReferralReward | None:
    """The bonus a top-up recorded at ``paid_at`` paid, read back (its update is processed again after a crash)."""
    async with services.storage.unit_of_work() as uow:  # read only: nothing is committed
        referral = await uow.referrals.get(invitee_id)
    if referral is None or referral.rewarded_at is None or referral.rewarded_at < paid_at:
        return None
    return cashier.ReferralReward(referral.inviter_id, invitee_id, referral.inviter_bonus, referral.invitee_bonus)


async def reward_notices(services: Services, reward: cashier.ReferralReward | None) -> dict[Effect, str]:
    """Tell both users about the bonus a top-up paid; with their outbox keys (each is sent once)."""
    if reward is None:
        return {}
    notices: dict[Effect, str] = {}
    for user_id, role, amount in (
        (reward.inviter_id, "inviter", reward.inviter_bonus),
        (reward.invitee_id, "invitee", reward.invitee_bonus),
    ):
        if amount > 0:
            fmt = await fmt_for_user(services, user_id)
            text = fmt.t(f"ref.bonus_{role}", amount=fmt.money(amount))
            notices[SendScreen(user_id, render_notice(text, "referral_bonus"))] = f"referral:{reward.invitee_id}:{role}"
    return notices


async def fmt_for_user(services: Services, user_id: int) -> Fmt:
    """The formatter in another user's language (for messages to someone other than the sender)."""
    user = await services.storage.users.get(user_id)
    language = resolve_language(user.language if user else None, user.language_code if user else None,
                                services.settings.default_language)
    return Fmt(language, services.settings.prices.currency)
