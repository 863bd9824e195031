"""The use cases that move money or create what money depends on, each ONE unit of work (ports/uow.py):
read under lock, decide with core/accounts.py, write the rows, commit once. Nothing here is in a storage.

Locks are taken in one order everywhere (the job / payment / top-up row, the referral row, accounts in
ascending user id, ledger keys), so concurrent units never wait on each other in a circle.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from datetime import datetime

from core import accounts, job_states
from ports.events import UserRef
from ports.model import (
    Account,
    AuditEntry,
    FreeTry,
    Job,
    JobState,
    LedgerEntry,
    ManualTopup,
    Referral,
    StarsPayment,
    User,
)
from ports.storage import BalanceLimitError, IdempotencyConflictError, InsufficientBalanceError, Storage, UnknownUserError
from ports.uow import UnitOfWork

REFUNDABLE = job_states.sources(JobState.REFUNDED)
_REFRESHED = ("username", "first_name", "language_code")


@dataclass(frozen=True)
class ReferralReward:
    """A pair's bonus, paid in the unit of work of the invitee's first paid top-up."""

    inviter_id: int
    invitee_id: int
    inviter_bonus: int
    invitee_bonus: int


@dataclass(frozen=True)
class Bonuses:
    inviter: int = 0
    invitee: int = 0


# --- the one way money moves --------------------------------------------------------------------


async def move(
    uow: UnitOfWork, account: Account, signed_amount: int, key: str, reason: str, now: datetime
) -> tuple[LedgerEntry, Account, bool]:
    """Credit (> 0) or debit (< 0) the LOCKED ``account``: the entry, the account after, whether it is new.
    A key used before answers with its first entry (or IdempotencyConflictError) and changes nothing."""
    try:
        if signed_amount > 0:
            movement = accounts.credit(account, signed_amount, key, reason, now)
        else:
            movement = accounts.debit(account, -signed_amount, key, reason, now)
    except (InsufficientBalanceError, BalanceLimitError):
        existing = await uow.ledger.get(key)  # a repeat of a movement made when the balance allowed it
        if existing is None:
            raise
        return accounts.check_repeat(existing, account.user_id, signed_amount), account, False
    return await _write(uow, movement, account, signed_amount)


async def _write(
    uow: UnitOfWork, movement: accounts.Movement, account: Account, signed_amount: int
) -> tuple[LedgerEntry, Account, bool]:
    for number, entry in enumerate(movement.entries):
        if not await uow.ledger.add(entry):
            existing = await uow.ledger.get(entry.key)
            if number or existing is None:  # a settle: key taken, or a key that vanished: never move twice
                raise IdempotencyConflictError(f"key {entry.key!r} is taken; refusing to move {entry.amount}")
            return accounts.check_repeat(existing, account.user_id, signed_amount), account, False
    await uow.accounts.put(movement.account)
    return movement.entry, movement.account, True


async def locked_account(uow: UnitOfWork, user_id: int) -> Account:
    account = await uow.accounts.get_for_update(accounts.user_id(user_id))
    if account is None:
        raise UnknownUserError(f"unknown user {user_id}")
    return account


async def credit(storage: Storage, user_id: int, amount: int, key: str, reason: str, now: datetime,
                 audit: AuditEntry | None = None) -> LedgerEntry:
    """Add money (an admin's /credit, a test); ``audit`` is recorded in the same unit when the money moved."""
    return await _admin_move(storage, user_id, accounts.amount(amount), key, reason, now, audit)


async def debit(storage: Storage, user_id: int, amount: int, key: str, reason: str, now: datetime,
                audit: AuditEntry | None = None) -> LedgerEntry:
    return await _admin_move(storage, user_id, -accounts.amount(amount), key, reason, now, audit)


async def _admin_move(storage: Storage, user_id: int, signed_amount: int, key: str, reason: str, now: datetime,
                      audit: AuditEntry | None) -> LedgerEntry:
    accounts.text_id(key, "an idempotency key")
    async with storage.unit_of_work() as uow:
        entry, _, new = await move(uow, await locked_account(uow, user_id), signed_amount, key, reason, now)
        if new and audit is not None:
            await uow.audit.add(audit)
        await uow.commit()
    return entry


# --- users --------------------------------------------------------------------------------------


async def ensure_user(storage: Storage, ref: UserRef, welcome_amount: int, now: datetime) -> tuple[User, bool]:
    """The user, created (with ``welcome_amount`` credited once, key welcome:<id>) when new; the name and
    language Telegram reports refreshed when they changed. True when created."""
    user, _, created = await arrive(storage, ref, welcome_amount, now, seen=False)
    return user, created


async def arrive(
    storage: Storage, ref: UserRef, welcome_amount: int, now: datetime, *, seen: bool = True
) -> tuple[User, int, bool]:
    """``ensure_user`` with the balance read in the same query as the user (for the screens of this turn; money
    moves read the account again, locked). A new user is created seen at ``now`` (``seen``): no stamp after."""
    accounts.count(welcome_amount, "welcome_amount")
    async with storage.unit_of_work() as uow:
        found = await uow.users.get_with_account(accounts.user_id(ref.id))
        if found is None:
            fresh = User(ref.id, now, language_code=ref.language_code, username=ref.username,
                         first_name=ref.first_name, last_seen_at=now if seen else None)
            if await uow.users.add(fresh):
                account = Account(ref.id)
                if welcome_amount:
                    _, account, _ = await move(uow, account, welcome_amount, accounts.welcome_key(ref.id), "welcome", now)
                await uow.commit()
                return fresh, account.balance, True
            found = await uow.users.get_with_account(ref.id)  # created meanwhile by a twin update
            assert found is not None
        user, account = found
        refreshed = replace(user, **{name: getattr(ref, name) for name in _REFRESHED})
        if refreshed != user:  # rare (a new username): read again under lock, so no other field goes stale
            locked = await uow.users.get_for_update(ref.id)
            assert locked is not None
            refreshed = replace(locked, **{name: getattr(ref, name) for name in _REFRESHED})
            await uow.users.put(refreshed)
        await uow.commit()
    return refreshed, account.balance, False


# --- jobs ---------------------------------------------------------------------------------------


async def launch(storage: Storage, job: Job) -> tuple[Job, bool]:
    """Store the job and debit its price (key launch:<id>) at once. A job with this id already: returned
    unchanged with False (a double tap). InsufficientBalanceError: nothing stored."""
    if job.price < 0:
        raise ValueError(f"job {job.id}: negative price {job.price}")
    async with storage.unit_of_work() as uow:
        if not await uow.jobs.add(job):
            existing = await uow.jobs.get(job.id)
            assert existing is not None
            return existing, False
        if job.price > 0:
            account = await locked_account(uow, job.user_id)
            await move(uow, account, -job.price, accounts.launch_key(job.id), "launch", job.created_at)
        elif await uow.users.get(job.user_id) is None:
            raise UnknownUserError(f"unknown user {job.user_id}")
        await uow.commit()
    return copy.deepcopy(job), True  # the caller's job and the one returned share nothing (a stored copy)


async def refund_job(storage: Storage, job_id: str, now: datetime) -> Job | None:
    """FAILED / TIMED_OUT -> REFUNDED, the price credited back (key refund:<id>) and a free try given back,
    in one unit. None when the job is in another state (refunded already, never failed)."""
    async with storage.unit_of_work() as uow:
        job = await uow.jobs.compare_and_set(job_id, REFUNDABLE, JobState.REFUNDED, {"updated_at": now})
        if job is None:
            return None
        if job.price > 0:
            account = await locked_account(uow, job.user_id)
            await move(uow, account, job.price, accounts.refund_key(job.id), "refund", now)
        if job.free:
            await _release(uow, job.id)
        await uow.commit()
    return job


# --- the free tier ------------------------------------------------------------------------------


async def consume_free(storage: Storage, user_id: int, day: str, limit: int, job_id: str) -> bool:
    """Take one free try of ``day`` for this job if fewer than ``limit`` are taken. A repeat for the same
    job answers as the first call did."""
    user_id, day = accounts.user_id(user_id), accounts.day(day)
    accounts.count(limit, "limit")
    accounts.text_id(job_id, "a job id")
    async with storage.unit_of_work() as uow:
        asked = await uow.free_tries.get(job_id)
        if asked is not None:
            return asked.taken
        await uow.free_tries.lock_day(user_id, day)  # the day's tries are counted one unit at a time
        taken = accounts.free_try_taken(await uow.free_tries.used(user_id, day), limit)
        if not await uow.free_tries.add(FreeTry(job_id, user_id, day, taken)):
            asked = await uow.free_tries.get(job_id)
            assert asked is not None
            return asked.taken
        await uow.commit()
    return taken


async def release_free(storage: Storage, job_id: str) -> bool:
    """Give the job's free try back (its generation failed). True once."""
    async with storage.unit_of_work() as uow:
        released = await _release(uow, job_id)
        await uow.commit()
    return released


async def _release(uow: UnitOfWork, job_id: str) -> bool:
    asked = await uow.free_tries.get_for_update(job_id)
    if asked is None or not asked.taken or asked.released:
        return False
    await uow.free_tries.put(replace(asked, released=True))
    return True


# --- referrals ----------------------------------------------------------------------------------


async def link_referral(storage: Storage, invitee_id: int, inviter_id: int, now: datetime) -> bool:
    """Record who invited a user: once per invitee, never oneself, both known. False when refused."""
    if not accounts.may_link(invitee_id, inviter_id):
        return False
    async with storage.unit_of_work() as uow:
        if await uow.users.get(invitee_id) is None or await uow.users.get(inviter_id) is None:
            return False
        linked = await uow.referrals.add(Referral(invitee_id, inviter_id, now))
        await uow.commit()
    return linked


async def reward_referral(
    storage: Storage, invitee_id: int, inviter_bonus: int, invitee_bonus: int, now: datetime
) -> int | None:
    """Pay the pair's bonus now (once): the inviter's id, or None (no link, or paid before). A top-up pays
    it itself, in its own unit (``record_stars``, ``decide_topup``)."""
    bonuses = Bonuses(inviter_bonus, invitee_bonus)
    async with storage.unit_of_work() as uow:
        referral = await _rewardable(uow, invitee_id, bonuses)
        locked = await _lock_accounts(uow, invitee_id, referral)
        reward = await _reward(uow, referral, bonuses, locked, now)
        await uow.commit()
    return None if reward is None else reward.inviter_id


async def _rewardable(uow: UnitOfWork, invitee_id: int, bonuses: Bonuses) -> Referral | None:
    accounts.bonus(bonuses.inviter, "inviter_bonus")
    accounts.bonus(bonuses.invitee, "invitee_bonus")
    if not bonuses.inviter and not bonuses.invitee:
        return None
    referral = await uow.referrals.get_for_update(accounts.user_id(invitee_id))
    return referral if accounts.rewardable(referral) else None


async def _lock_accounts(uow: UnitOfWork, user_id: int, referral: Referral | None) -> dict[int, Account]:
    """The accounts a top-up (and its referral bonus) moves, locked in ascending id."""
    ids = {user_id} | ({referral.inviter_id} if referral is not None else set())
    return {each: await locked_account(uow, each) for each in sorted(ids)}


async def _reward(uow: UnitOfWork, referral: Referral | None, bonuses: Bonuses, locked: dict[int, Account],
                  now: datetime) -> ReferralReward | None:
    if referral is None:
        return None
    for user, value, side in ((referral.inviter_id, bonuses.inviter, "inviter"),
                              (referral.invitee_id, bonuses.invitee, "invitee")):
        if value > 0:
            key = accounts.referral_key(referral.invitee_id, side)
            _, locked[user], _ = await move(uow, locked[user], value, key, "referral", now)
    await uow.referrals.put(replace(referral, rewarded_at=now, inviter_bonus=bonuses.inviter,
                                    invitee_bonus=bonuses.invitee))
    return ReferralReward(referral.inviter_id, referral.invitee_id, bonuses.inviter, bonuses.invitee)


# --- money coming in ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Topped:
    """A paid top-up's outcome: the balance after it, and the referral bonus it paid (if any)."""

    balance: int
    reward: ReferralReward | None


async def record_stars(
    storage: Storage, payment: StarsPayment, bonuses: Bonuses = Bonuses()
) -> tuple[StarsPayment, bool]:
    """``pay_stars``, answering only whether this call recorded it."""
    stored, topped = await pay_stars(storage, payment, bonuses)
    return stored, topped is not None


async def pay_stars(
    storage: Storage, payment: StarsPayment, bonuses: Bonuses = Bonuses()
) -> tuple[StarsPayment, Topped | None]:
    """Store the payment and credit it (key stars:<charge>, reason "topup") and, the first time the payer
    tops up, the referral bonus: one unit. A repeat returns the stored payment and None."""
    accounts.valid_payment(payment)
    async with storage.unit_of_work() as uow:
        if not await uow.payments.add(payment):
            stored = await uow.payments.get(payment.charge_id)
            assert stored is not None
            return stored, None
        topped = await _top_up(uow, payment.user_id, payment.amount, accounts.stars_key(payment.charge_id),
                               payment.created_at, bonuses)
        await uow.commit()
    return payment, topped


async def _top_up(uow: UnitOfWork, user_id: int, amount: int, key: str, now: datetime, bonuses: Bonuses) -> Topped:
    referral = await _rewardable(uow, user_id, bonuses)
    locked = await _lock_accounts(uow, user_id, referral)
    _, locked[user_id], _ = await move(uow, locked[user_id], amount, key, "topup", now)
    reward = await _reward(uow, referral, bonuses, locked, now)
    return Topped(locked[user_id].balance, reward)


async def refund_stars(storage: Storage, charge_id: str, now: datetime) -> tuple[StarsPayment | None, bool]:
    """Mark the payment refunded and take its amount back (key stars_refund:<charge>): what the balance
    holds is debited, the rest becomes debt. (None, False) unknown; (payment, False) refunded before."""
    async with storage.unit_of_work() as uow:
        payment = await uow.payments.get_for_update(accounts.text_id(charge_id, "a charge id"))
        if payment is None or payment.refunded_at is not None:
            return payment, False
        account = await locked_account(uow, payment.user_id)
        key = accounts.stars_refund_key(charge_id)
        movement = accounts.take_back(account, payment.amount, key, "refund_stars", now)
        for entry in movement.entries:
            if not await uow.ledger.add(entry):
                raise IdempotencyConflictError(f"key {key!r} is taken, yet payment {charge_id} is not refunded")
        await uow.accounts.put(movement.account)
        refunded = replace(payment, refunded_at=now)
        await uow.payments.put(refunded)
        await uow.commit()
    return refunded, True


async def create_topup(storage: Storage, topup: ManualTopup) -> None:
    """A bank-transfer top-up waiting for an admin (created once: a repeat of the id changes nothing)."""
    accounts.valid_new_topup(topup)
    async with storage.unit_of_work() as uow:
        if await uow.users.get(topup.user_id) is None:
            raise UnknownUserError(f"unknown user {topup.user_id}")
        await uow.topups.add(topup)
        await uow.commit()


async def approve_topup(
    storage: Storage, topup_id: str, admin_id: int, now: datetime, bonuses: Bonuses = Bonuses()
) -> tuple[ManualTopup | None, bool]:
    """``decide_topup`` approving; True only for the one call that decided it."""
    topup, topped = await decide_topup(storage, topup_id, admin_id, now, True, bonuses)
    return topup, topped is not None


async def reject_topup(storage: Storage, topup_id: str, admin_id: int, now: datetime) -> tuple[ManualTopup | None, bool]:
    topup, topped = await decide_topup(storage, topup_id, admin_id, now, False)
    return topup, topped is not None


async def decide_topup(
    storage: Storage, topup_id: str, admin_id: int, now: datetime, approve: bool, bonuses: Bonuses = Bonuses()
) -> tuple[ManualTopup | None, Topped | None]:
    """PENDING -> APPROVED (credit key manual:<id>, reason "topup", and the referral bonus) or REJECTED,
    with its audit entry (topup_approve / topup_reject), all in one unit. Topped only for the one call that decided it, however many
    admins press at once (Topped with no money for a rejection); (None, None) for an unknown id."""
    async with storage.unit_of_work() as uow:
        topup = await uow.topups.get_for_update(topup_id)
        if topup is None:
            return None, None
        changed = accounts.decided(topup, approve, admin_id, now)
        if changed is None:
            return topup, None
        await uow.topups.put(changed)
        if approve:
            topped = await _top_up(uow, topup.user_id, topup.amount, accounts.manual_key(topup.id), now, bonuses)
        else:
            account = await uow.accounts.get(topup.user_id)
            topped = Topped(account.balance if account else 0, None)
        details = {"topup": topup.id, "user": topup.user_id, "amount": topup.amount}
        await uow.audit.add(AuditEntry(now, admin_id, "topup_approve" if approve else "topup_reject", details))
        await uow.commit()
    return changed, topped
