"""A use case is one unit of work: a crash (here: an exception) at any write of it leaves nothing behind, and
running it again does all of it once. The Stars payment and its referral bonus, the top-up approval and its
audit entry, a launch and its charge, a refund and its credit. Runs on every storage (conftest)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from core import cashier
from ports.billing import ManualTopup, StarsPayment, TopupState
from ports.events import UserRef
from ports.storage import Job, JobState, Storage

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
PAYER, INVITER, ADMIN = 42, 43, 900


class Crash(Exception):
    pass


class CrashingAt:
    """The storage, but every unit of work raises Crash when ``repository.method`` is called."""

    def __init__(self, storage: Storage, repository: str, method: str) -> None:
        self._storage, self._repository, self._method = storage, repository, method

    def unit_of_work(self) -> Any:
        uow = self._storage.unit_of_work()

        async def crash(*args: Any, **kwargs: Any) -> Any:
            raise Crash(f"{self._repository}.{self._method}")

        setattr(getattr(uow, self._repository), self._method, crash)
        return uow

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)


async def balances(storage: Storage, *users: int) -> list[int]:
    return [await storage.ledger.balance(user) for user in users]


async def ledger_matches(storage: Storage, user: int) -> bool:
    entries = await storage.ledger.entries(user, 1000)
    return sum(entry.amount for entry in entries) == await storage.ledger.balance(user)


PAYMENT_STEPS = [("payments", "add"), ("referrals", "get_for_update"), ("accounts", "get_for_update"),
                 ("ledger", "add"), ("accounts", "put"), ("referrals", "put")]


@pytest.mark.parametrize(("repository", "method"), PAYMENT_STEPS)
async def test_a_stars_payment_and_its_referral_bonus_happen_together_or_not_at_all(storage, repository, method):
    await cashier.ensure_user(storage, UserRef(INVITER), 0, NOW)
    await cashier.ensure_user(storage, UserRef(PAYER), 0, NOW)
    assert await cashier.link_referral(storage, PAYER, INVITER, NOW)
    payment = StarsPayment("ch-1", PAYER, 50, 100, "stars:50", NOW)
    bonuses = cashier.Bonuses(inviter=30, invitee=10)

    with pytest.raises(Crash):
        await cashier.pay_stars(CrashingAt(storage, repository, method), payment, bonuses)

    assert await storage.payments.get("ch-1") is None
    assert await balances(storage, PAYER, INVITER) == [0, 0]
    assert (await storage.referrals.stats(INVITER)).rewarded == 0

    stored, topped = await cashier.pay_stars(storage, payment, bonuses)  # the update processed again
    assert stored == payment and topped is not None and topped.balance == 110
    assert topped.reward == cashier.ReferralReward(INVITER, PAYER, 30, 10)
    assert await balances(storage, PAYER, INVITER) == [110, 30]
    assert await cashier.pay_stars(storage, payment, bonuses) == (payment, None)  # and once only
    assert await balances(storage, PAYER, INVITER) == [110, 30]
    assert await ledger_matches(storage, PAYER) and await ledger_matches(storage, INVITER)


@pytest.mark.parametrize(("repository", "method"), [("topups", "put"), ("ledger", "add"), ("accounts", "put"),
                                                    ("audit", "add")])
async def test_a_topup_approval_and_its_audit_entry_happen_together_or_not_at_all(storage, repository, method):
    await cashier.ensure_user(storage, UserRef(PAYER), 0, NOW)
    await cashier.create_topup(storage, ManualTopup("t-1", PAYER, 500, "file", "photo", NOW))

    with pytest.raises(Crash):
        await cashier.decide_topup(CrashingAt(storage, repository, method), "t-1", ADMIN, NOW, True)

    assert (await storage.topups.get("t-1")).state is TopupState.PENDING
    assert await balances(storage, PAYER) == [0]
    assert await storage.audit.recent(10) == []

    topup, topped = await cashier.decide_topup(storage, "t-1", ADMIN, NOW + timedelta(seconds=1), True)
    assert topup.state is TopupState.APPROVED and topped is not None and topped.balance == 500
    assert [(entry.action, entry.details["topup"]) for entry in await storage.audit.recent(10)] == [
        ("topup_approve", "t-1")]
    assert await cashier.approve_topup(storage, "t-1", ADMIN, NOW) == (topup, False)
    assert await balances(storage, PAYER) == [500] and await ledger_matches(storage, PAYER)


def job(price: int = 30) -> Job:
    return Job("j1", PAYER, PAYER, "m", {"prompt": "x"}, price, JobState.CREATED, NOW, NOW, NOW + timedelta(minutes=5))


@pytest.mark.parametrize(("repository", "method"), [("jobs", "add"), ("accounts", "get_for_update"),
                                                    ("ledger", "add"), ("accounts", "put")])
async def test_a_launch_stores_the_job_and_charges_it_together_or_not_at_all(storage, repository, method):
    await cashier.ensure_user(storage, UserRef(PAYER), 100, NOW)

    with pytest.raises(Crash):
        await cashier.launch(CrashingAt(storage, repository, method), job())

    assert await storage.jobs.get("j1") is None and await balances(storage, PAYER) == [100]
    assert await cashier.launch(storage, job()) == (job(), True)
    assert await cashier.launch(storage, job()) == (job(), False)
    assert await balances(storage, PAYER) == [70] and await ledger_matches(storage, PAYER)


@pytest.mark.parametrize(("repository", "method"), [("jobs", "compare_and_set"), ("accounts", "get_for_update"),
                                                    ("ledger", "add"), ("accounts", "put")])
async def test_a_refund_moves_the_job_and_credits_it_together_or_not_at_all(storage, repository, method):
    await cashier.ensure_user(storage, UserRef(PAYER), 100, NOW)
    await cashier.launch(storage, job())
    await storage.jobs.transition("j1", {JobState.CREATED}, JobState.FAILED, error="x")

    with pytest.raises(Crash):
        await cashier.refund_job(CrashingAt(storage, repository, method), "j1", NOW)

    assert (await storage.jobs.get("j1")).state is JobState.FAILED and await balances(storage, PAYER) == [70]
    assert (await cashier.refund_job(storage, "j1", NOW)).state is JobState.REFUNDED
    assert await cashier.refund_job(storage, "j1", NOW) is None
    assert await balances(storage, PAYER) == [100] and await ledger_matches(storage, PAYER)
