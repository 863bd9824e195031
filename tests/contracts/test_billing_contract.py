"""What every Storage must do with money coming in (ports.billing) and with what operators read
(ports.admin's Stats and UserDirectory), and the debt a Stars refund may leave in the ledger.

Runs once per entry of conftest.STORAGE_IMPLEMENTATIONS. Races are run with asyncio.gather: on PostgreSQL
each call borrows its own pooled connection, so they really overlap in the database.
"""

from __future__ import annotations

from core import cashier
import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone

import pytest

from ports.admin import Revenue
from ports.billing import ManualTopup, StarsPayment, TopupState
from ports.events import UserRef
from ports.storage import InsufficientBalanceError, Job, JobState, LedgerEntry, Storage, UnknownUserError
from tests.fakes import bounded

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
USER, FRIEND, THIRD = 42, 43, 44
ADMIN_A, ADMIN_B = 900, 901
DAY, NEXT_DAY = "2026-01-01", "2026-01-02"


def at(seconds: float = 0, *, minutes: float = 0, hours: float = 0, days: float = 0) -> datetime:
    return NOW + timedelta(seconds=seconds, minutes=minutes, hours=hours, days=days)


async def new_user(storage: Storage, user_id: int = USER, balance: int = 0, username: str | None = None) -> None:
    await cashier.ensure_user(storage, UserRef(id=user_id, username=username), welcome_amount=balance, now=NOW)


def stars(
    charge_id: str, amount: int = 100, user_id: int = USER, created: datetime = NOW, **fields: object
) -> StarsPayment:
    return StarsPayment(
        charge_id=charge_id,
        user_id=user_id,
        stars=fields.pop("stars", amount // 2),
        amount=amount,
        payload=fields.pop("payload", "stars:50"),
        created_at=created,
        **fields,
    )


def topup(topup_id: str, amount: int = 500, user_id: int = USER) -> ManualTopup:
    return ManualTopup(
        id=topup_id, user_id=user_id, amount=amount, receipt_file_id="AgAD-receipt", receipt_kind="photo", created_at=NOW
    )


def make_job(job_id: str, price: int = 30, user_id: int = USER, model_id: str = "flux-kontext", **fields) -> Job:
    return Job(
        id=job_id,
        user_id=user_id,
        chat_id=user_id,
        model_id=model_id,
        input={"prompt": "a cat"},
        price=price,
        state=JobState.CREATED,
        created_at=NOW,
        updated_at=NOW,
        deadline_at=at(600),
        **fields,
    )


async def all_entries(storage: Storage, user_id: int = USER) -> list[LedgerEntry]:
    return await storage.ledger.entries(user_id, limit=10_000)


async def assert_ledger_matches(storage: Storage, user_id: int = USER) -> None:
    entries = await all_entries(storage, user_id)
    balance = await storage.ledger.balance(user_id)
    assert sum(entry.amount for entry in entries) == balance >= 0
    assert not entries or entries[0].balance_after == balance


# --- Stars payments ------------------------------------------------------------------------------


@bounded(20)
async def test_a_stars_payment_credits_once_when_recorded_twice(storage: Storage) -> None:
    await new_user(storage)

    first, created = await cashier.record_stars(storage, stars("ch-1", 150))
    again, created_again = await cashier.record_stars(storage, stars("ch-1", 150))

    assert (created, created_again) == (True, False)
    assert first == again == stars("ch-1", 150)
    assert await storage.ledger.balance(USER) == 150
    [entry] = await all_entries(storage)
    assert (entry.key, entry.amount, entry.reason) == ("stars:ch-1", 150, "topup")
    assert await storage.payments.get("ch-1") == first


@bounded(20)
async def test_a_stars_payment_delivered_concurrently_credits_once(storage: Storage) -> None:
    await new_user(storage)

    results = await asyncio.gather(*(cashier.record_stars(storage, stars("ch-1", 150)) for _ in range(8)))

    assert sorted(created for _, created in results) == [False] * 7 + [True]
    assert await storage.ledger.balance(USER) == 150
    assert len(await all_entries(storage)) == 1


@bounded(20)
async def test_two_charges_with_the_same_payload_credit_twice(storage: Storage) -> None:
    await new_user(storage)

    await cashier.record_stars(storage, stars("ch-1", 100, payload="stars:50"))
    await cashier.record_stars(storage, stars("ch-2", 100, payload="stars:50", created=at(1)))

    assert await storage.ledger.balance(USER) == 200
    assert [p.charge_id for p in await storage.payments.for_user(USER)] == ["ch-2", "ch-1"]  # newest first
    assert [p.charge_id for p in await storage.payments.for_user(USER, limit=1)] == ["ch-2"]
    assert await storage.payments.for_user(FRIEND) == []


@bounded(20)
async def test_a_payment_of_an_unknown_user_is_refused_and_not_stored(storage: Storage) -> None:
    with pytest.raises(UnknownUserError):
        await cashier.record_stars(storage, stars("ch-1"))

    assert await storage.payments.get("ch-1") is None


@bounded(20)
async def test_refund_with_enough_balance_debits_the_amount_back_once(storage: Storage) -> None:
    await new_user(storage, balance=50)
    await cashier.record_stars(storage, stars("ch-1", 100))

    refunded, changed = await cashier.refund_stars(storage, "ch-1", at(60))
    again, changed_again = await cashier.refund_stars(storage, "ch-1", at(120))

    assert (changed, changed_again) == (True, False)
    assert refunded is not None and refunded.refunded_at == at(60)
    assert again == refunded == await storage.payments.get("ch-1")
    assert await storage.ledger.balance(USER) == 50
    assert await storage.ledger.debt(USER) == 0
    newest = (await all_entries(storage))[0]
    assert (newest.key, newest.amount, newest.reason) == ("stars_refund:ch-1", -100, "refund_stars")
    assert newest.balance_after == 50
    assert await cashier.refund_stars(storage, "ch-unknown", at(60)) == (None, False)
    await assert_ledger_matches(storage)


@bounded(20)
async def test_concurrent_refunds_of_one_charge_take_it_back_once(storage: Storage) -> None:
    await new_user(storage, balance=50)
    await cashier.record_stars(storage, stars("ch-1", 100))

    results = await asyncio.gather(*(cashier.refund_stars(storage, "ch-1", at(60)) for _ in range(6)))

    assert sorted(changed for _, changed in results) == [False] * 5 + [True]
    assert await storage.ledger.balance(USER) == 50
    await assert_ledger_matches(storage)


@bounded(20)
async def test_a_refund_beyond_the_balance_leaves_a_debt_that_credits_settle_first(storage: Storage) -> None:
    await new_user(storage, balance=20)
    await cashier.record_stars(storage, stars("ch-1", 300))
    await cashier.debit(storage, USER, 270, "spend", "launch", at(1))  # 50 left of 320

    _, changed = await cashier.refund_stars(storage, "ch-1", at(2))

    assert changed
    assert (await storage.ledger.balance(USER), await storage.ledger.debt(USER)) == (0, 250)
    taken = (await all_entries(storage))[0]
    assert (taken.key, taken.amount, taken.balance_after) == ("stars_refund:ch-1", -50, 0)

    gift = await cashier.credit(storage, USER, 100, "gift-1", "admin", at(3))  # less than the debt: all of it goes
    assert (gift.key, gift.amount, gift.balance_after) == ("gift-1", 100, 100)  # the credit entry itself
    settle, credit = (await all_entries(storage))[:2]
    assert credit == gift
    assert (settle.key, settle.amount, settle.reason, settle.balance_after) == ("settle:gift-1", -100, "debt", 0)
    assert (await storage.ledger.balance(USER), await storage.ledger.debt(USER)) == (0, 150)

    await cashier.credit(storage, USER, 200, "gift-2", "admin", at(4))  # more than the debt: the rest stays
    settle = (await all_entries(storage))[0]
    assert (settle.key, settle.amount, settle.balance_after) == ("settle:gift-2", -150, 50)
    assert (await storage.ledger.balance(USER), await storage.ledger.debt(USER)) == (50, 0)

    count = len(await all_entries(storage))
    await cashier.credit(storage, USER, 200, "gift-2", "admin", at(5))  # a repeat settles nothing again
    await cashier.credit(storage, USER, 10, "gift-3", "admin", at(6))  # no debt left: no settle entry
    assert len(await all_entries(storage)) == count + 1
    assert (await storage.ledger.balance(USER), await storage.ledger.debt(USER)) == (60, 0)
    await assert_ledger_matches(storage)


async def _credit_by_ledger(storage: Storage) -> tuple[str, int]:
    await cashier.credit(storage, USER, 40, "gift", "admin", at(10))
    return "gift", 40


async def _credit_by_stars(storage: Storage) -> tuple[str, int]:
    await cashier.record_stars(storage, stars("ch-2", 40, created=at(10)))
    return "stars:ch-2", 40


async def _credit_by_manual_topup(storage: Storage) -> tuple[str, int]:
    await cashier.create_topup(storage, topup("t-1", 40))
    await cashier.approve_topup(storage, "t-1", ADMIN_A, at(10))
    return "manual:t-1", 40


async def _credit_by_referral(storage: Storage) -> tuple[str, int]:
    await new_user(storage, FRIEND)
    assert await cashier.link_referral(storage, USER, FRIEND, at(5))
    await cashier.reward_referral(storage, USER, 10, 40, at(10))
    return f"ref:{USER}:invitee", 40


async def _credit_by_job_refund(storage: Storage) -> tuple[str, int]:
    await storage.jobs.transition("j-1", [JobState.CREATED], JobState.FAILED, error="boom")
    await cashier.refund_job(storage, "j-1", at(10))
    return "refund:j-1", 30


@bounded(20)
@pytest.mark.parametrize(
    "credit",
    [_credit_by_ledger, _credit_by_stars, _credit_by_manual_topup, _credit_by_referral, _credit_by_job_refund],
    ids=["ledger", "stars", "manual", "referral", "job-refund"],
)
async def test_every_kind_of_credit_settles_the_debt_first(
    storage: Storage, credit: Callable[[Storage], Awaitable[tuple[str, int]]]
) -> None:
    await new_user(storage, balance=100)
    await cashier.launch(storage, make_job("j-1", price=30))  # 70 left
    await cashier.record_stars(storage, stars("ch-1", 100))  # 170
    await cashier.debit(storage, USER, 150, "spend", "launch", at(1))  # 20
    await cashier.refund_stars(storage, "ch-1", at(2))  # takes 20, owes 80

    key, amount = await credit(storage)

    settle, credited = (await all_entries(storage))[:2]
    assert (credited.key, credited.amount) == (key, amount)
    assert (settle.key, settle.amount, settle.reason, settle.balance_after) == (f"settle:{key}", -amount, "debt", 0)
    assert (await storage.ledger.balance(USER), await storage.ledger.debt(USER)) == (0, 80 - amount)
    await assert_ledger_matches(storage)


@bounded(30)
async def test_racing_payments_refunds_credits_and_debits_keep_the_books_exact(storage: Storage) -> None:
    await new_user(storage)
    for n in range(4):
        await cashier.record_stars(storage, stars(f"ch-{n}", 100, created=at(n)))
    calls = [cashier.refund_stars(storage, f"ch-{n}", at(10)) for n in range(3)]
    calls += [cashier.credit(storage, USER, 25, f"gift-{n}", "admin", at(10)) for n in range(4)]
    calls += [cashier.debit(storage, USER, 60, f"spend-{n}", "launch", at(10)) for n in range(4)]

    results = await asyncio.gather(*calls, return_exceptions=True)

    assert [changed for _, changed in results[:3]] == [True] * 3
    assert all(isinstance(result, (LedgerEntry, InsufficientBalanceError)) for result in results[3:]), results
    debited = [result for result in results[7:] if isinstance(result, LedgerEntry)]
    balance, debt = await storage.ledger.balance(USER), await storage.ledger.debt(USER)
    # money in (4 payments, 4 gifts) - refunded (3 payments) - spent == what the user holds net of the debt
    assert balance - debt == 400 + 100 - 300 - 60 * len(debited)
    assert balance == 0 or debt == 0
    await assert_ledger_matches(storage)


@bounded(20)
async def test_debt_of_an_unknown_user_is_refused(storage: Storage) -> None:
    with pytest.raises(UnknownUserError):
        await storage.ledger.debt(USER)
    await new_user(storage)
    assert await storage.ledger.debt(USER) == 0


# --- manual top-ups --------------------------------------------------------------------------------


@bounded(20)
async def test_a_manual_topup_approved_by_two_admins_at_once_credits_once(storage: Storage) -> None:
    await new_user(storage)
    await cashier.create_topup(storage, topup("t-1", 500))
    assert await storage.topups.get("t-1") == topup("t-1", 500)

    results = await asyncio.gather(
        cashier.approve_topup(storage, "t-1", ADMIN_A, at(60)), cashier.approve_topup(storage, "t-1", ADMIN_B, at(60))
    )

    assert sorted(changed for _, changed in results) == [False, True]
    decided = await storage.topups.get("t-1")
    assert decided is not None and decided.state is TopupState.APPROVED and decided.decided_at == at(60)
    assert decided.decided_by in (ADMIN_A, ADMIN_B)
    assert all(result == decided for result, _ in results)
    assert await storage.ledger.balance(USER) == 500
    [entry] = await all_entries(storage)
    assert (entry.key, entry.reason) == ("manual:t-1", "topup")

    assert await cashier.reject_topup(storage, "t-1", ADMIN_B, at(120)) == (decided, False)
    assert await cashier.approve_topup(storage, "t-unknown", ADMIN_A, at(60)) == (None, False)
    assert await cashier.reject_topup(storage, "t-unknown", ADMIN_A, at(60)) == (None, False)


@bounded(20)
async def test_a_rejected_topup_credits_nothing_and_cannot_be_approved_after(storage: Storage) -> None:
    await new_user(storage)
    await cashier.create_topup(storage, topup("t-1", 500))
    await cashier.create_topup(storage, topup("t-1", 900))  # a repeat: the first one stands

    rejected, changed = await cashier.reject_topup(storage, "t-1", ADMIN_A, at(60))
    approved, approved_now = await cashier.approve_topup(storage, "t-1", ADMIN_B, at(61))

    assert changed and not approved_now
    assert rejected is not None and (rejected.state, rejected.decided_by, rejected.amount) == (
        TopupState.REJECTED,
        ADMIN_A,
        500,
    )
    assert approved == rejected
    assert await storage.ledger.balance(USER) == 0


@bounded(20)
async def test_a_topup_of_an_unknown_user_is_refused(storage: Storage) -> None:
    with pytest.raises(UnknownUserError):
        await cashier.create_topup(storage, topup("t-1"))
    assert await storage.topups.get("t-1") is None


# --- free tier -------------------------------------------------------------------------------------


@bounded(20)
async def test_free_tries_stop_at_the_limit_and_a_repeat_answers_the_same(storage: Storage) -> None:
    free = storage.free_usage

    assert await cashier.consume_free(storage, USER, DAY, 2, "j-1") is True
    assert await cashier.consume_free(storage, USER, DAY, 2, "j-1") is True  # the same job: no second try taken
    assert await free.used(USER, DAY) == 1
    assert await cashier.consume_free(storage, USER, DAY, 2, "j-2") is True
    assert await cashier.consume_free(storage, USER, DAY, 2, "j-3") is False
    assert await cashier.consume_free(storage, USER, DAY, 2, "j-3") is False  # answered as the first call
    assert await free.used(USER, DAY) == 2

    assert await cashier.release_free(storage, "j-2") is True
    assert await cashier.release_free(storage, "j-2") is False
    assert await cashier.release_free(storage, "j-3") is False  # refused: nothing to give back
    assert await cashier.release_free(storage, "j-unknown") is False
    assert await free.used(USER, DAY) == 1
    assert await cashier.consume_free(storage, USER, DAY, 2, "j-4") is True
    assert await cashier.consume_free(storage, USER, DAY, 2, "j-5") is False


@bounded(20)
async def test_free_tries_are_counted_per_user_and_per_day(storage: Storage) -> None:
    free = storage.free_usage

    assert await cashier.consume_free(storage, USER, DAY, 1, "j-1") is True
    assert await cashier.consume_free(storage, USER, NEXT_DAY, 1, "j-2") is True
    assert await cashier.consume_free(storage, FRIEND, DAY, 1, "j-3") is True
    assert await cashier.consume_free(storage, USER, DAY, 1, "j-4") is False

    assert [await free.used(USER, DAY), await free.used(USER, NEXT_DAY), await free.used(FRIEND, DAY)] == [1, 1, 1]
    assert await free.used(THIRD, DAY) == 0
    with pytest.raises(ValueError):
        await free.used(USER, "01.01.2026")


@bounded(20)
async def test_concurrent_free_tries_never_pass_the_limit(storage: Storage) -> None:
    free = storage.free_usage

    answers = await asyncio.gather(*(cashier.consume_free(storage, USER, DAY, 3, f"j-{n}") for n in range(12)))
    repeats = await asyncio.gather(*(cashier.consume_free(storage, USER, DAY, 3, "j-same") for _ in range(5)))
    releases = await asyncio.gather(*(cashier.release_free(storage, "j-0") for _ in range(5)))

    assert answers.count(True) == 3
    assert len(set(repeats)) == 1
    assert releases.count(True) == (1 if answers[0] else 0)
    assert await free.used(USER, DAY) == 3 - releases.count(True)


# --- referrals -------------------------------------------------------------------------------------


@bounded(20)
async def test_a_referral_links_once_never_to_oneself(storage: Storage) -> None:
    for user_id in (USER, FRIEND, THIRD):
        await new_user(storage, user_id)

    assert await cashier.link_referral(storage, FRIEND, FRIEND, NOW) is False
    assert await cashier.link_referral(storage, FRIEND, 999, NOW) is False  # an inviter who never came
    assert await cashier.link_referral(storage, FRIEND, USER, NOW) is True
    assert await cashier.link_referral(storage, FRIEND, USER, NOW) is False
    assert await cashier.link_referral(storage, FRIEND, THIRD, NOW) is False  # already linked to USER
    results = await asyncio.gather(*(cashier.link_referral(storage, THIRD, USER, NOW) for _ in range(5)))
    assert sorted(results) == [False] * 4 + [True]

    stats = await storage.referrals.stats(USER)
    assert (stats.invited, stats.rewarded, stats.earned) == (2, 0, 0)


@bounded(20)
async def test_a_referral_reward_credits_both_once(storage: Storage) -> None:
    for user_id in (USER, FRIEND, THIRD):
        await new_user(storage, user_id)
    await cashier.link_referral(storage, FRIEND, USER, NOW)
    await cashier.link_referral(storage, THIRD, USER, NOW)

    assert await cashier.reward_referral(storage, FRIEND, 5000, 2000, at(60)) == USER
    assert await cashier.reward_referral(storage, FRIEND, 5000, 2000, at(61)) is None
    assert await cashier.reward_referral(storage, USER, 5000, 2000, at(61)) is None  # USER was invited by no one

    assert (await storage.ledger.balance(USER), await storage.ledger.balance(FRIEND)) == (5000, 2000)
    [inviter_entry] = await all_entries(storage, USER)
    [invitee_entry] = await all_entries(storage, FRIEND)
    assert (inviter_entry.key, inviter_entry.reason) == (f"ref:{FRIEND}:inviter", "referral")
    assert (invitee_entry.key, invitee_entry.reason) == (f"ref:{FRIEND}:invitee", "referral")
    stats = await storage.referrals.stats(USER)
    assert (stats.invited, stats.rewarded, stats.earned) == (2, 1, 5000)
    assert await storage.referrals.stats(FRIEND) == type(stats)(invited=0, rewarded=0, earned=0)


@bounded(20)
async def test_concurrent_referral_rewards_pay_once(storage: Storage) -> None:
    await new_user(storage, USER)
    await new_user(storage, FRIEND)
    await cashier.link_referral(storage, FRIEND, USER, NOW)

    results = await asyncio.gather(*(cashier.reward_referral(storage, FRIEND, 300, 100, at(60)) for _ in range(6)))

    assert sorted(results, key=str) == [USER] + [None] * 5
    assert (await storage.ledger.balance(USER), await storage.ledger.balance(FRIEND)) == (300, 100)
    assert (await storage.referrals.stats(USER)).earned == 300


# --- stats -----------------------------------------------------------------------------------------


@bounded(30)
async def test_the_summary_counts_a_known_data_set_exactly(storage: Storage) -> None:
    for user_id, seen in ((1, at(hours=-1)), (2, at(days=-3)), (3, at(days=-20)), (4, None), (5, at(days=-40))):
        await new_user(storage, user_id, balance=1000)
        if seen is not None:
            await storage.directory.touch(user_id, seen)
    for job_id, model, price, end in (
        ("j-1", "alpha", 10, JobState.DELIVERED),
        ("j-2", "alpha", 10, None),
        ("j-3", "beta", 30, JobState.REFUNDED),
        ("j-4", "gamma", 20, JobState.REFUNDED),
        ("j-5", "beta", 10, None),
    ):
        await cashier.launch(storage, make_job(job_id, price=price, user_id=1, model_id=model))
        if end is JobState.DELIVERED:
            await storage.jobs.transition(job_id, [JobState.CREATED], JobState.DELIVERED)
        elif end is JobState.REFUNDED:
            await storage.jobs.transition(job_id, [JobState.CREATED], JobState.FAILED)
            await cashier.refund_job(storage, job_id, at(minutes=-1))
    for charge_id, amount, created in (
        ("p-1", 100, at(hours=-2)),
        ("p-2", 200, at(days=-3)),
        ("p-3", 300, at(days=-10)),
        ("p-4", 50, at(hours=-5)),  # refunded below: not revenue
        ("p-5", 400, at(days=-40)),
        ("p-6", 10, at(days=-7)),  # exactly 7 days back: in the 30-day window only
        ("p-7", 1000, at(hours=1)),  # after ``now``: in no window
    ):
        await cashier.record_stars(storage, stars(charge_id, amount, user_id=2, created=created))
    await cashier.refund_stars(storage, "p-4", at(hours=-4))
    for topup_id, amount, decided, approve in (
        ("t-1", 70, at(hours=-1), True),
        ("t-2", 80, at(days=-8), True),
        ("t-3", 90, at(hours=-1), False),
        ("t-4", 60, None, None),
    ):
        await cashier.create_topup(storage, topup(topup_id, amount, user_id=3))
        if decided is not None:
            await (cashier.approve_topup if approve else cashier.reject_topup)(storage, topup_id, ADMIN_A, decided)

    summary = await storage.stats.summary(NOW, top=2)

    assert summary.users_total == 5
    assert dict(summary.users_active) == {1: 1, 7: 2, 30: 3}
    assert dict(summary.jobs_by_state) == {"created": 2, "delivered": 1, "refunded": 2}
    assert summary.top_models == (("alpha", 2), ("beta", 2))
    assert dict(summary.revenue) == {
        1: Revenue(amount=100 + 70, stars=50, payments=2),
        7: Revenue(amount=100 + 200 + 70, stars=50 + 100, payments=3),
        30: Revenue(amount=100 + 200 + 300 + 10 + 70 + 80, stars=50 + 100 + 150 + 5, payments=6),
    }
    assert (summary.refunds, summary.refunded_amount) == (2, 50)
    assert (await storage.stats.summary(NOW, top=5)).top_models == (("alpha", 2), ("beta", 2), ("gamma", 1))


@bounded(20)
async def test_the_summary_of_an_empty_storage_is_all_zero(storage: Storage) -> None:
    summary = await storage.stats.summary(NOW)

    assert (summary.users_total, dict(summary.jobs_by_state), summary.top_models) == (0, {}, ())
    assert dict(summary.users_active) == {1: 0, 7: 0, 30: 0}
    assert dict(summary.revenue) == {days: Revenue(0, 0, 0) for days in (1, 7, 30)}
    assert (summary.refunds, summary.refunded_amount) == (0, 0)


# --- directory -------------------------------------------------------------------------------------


@bounded(20)
async def test_the_directory_finds_users_by_id_or_username_in_any_case(storage: Storage) -> None:
    await new_user(storage, USER, username="Alice_Bot")
    await new_user(storage, FRIEND)

    by_id = await storage.directory.find(str(USER))
    assert by_id is not None and by_id.id == USER and by_id == await storage.users.get(USER)
    for query in ("@Alice_Bot", "@alice_bot", " @ALICE_BOT ", "alice_bot"):
        found = await storage.directory.find(query)
        assert found is not None and found.id == USER, query
    for query in ("@nobody", "999", "@", "", "@alice bot", "99999999999999999999999"):
        assert await storage.directory.find(query) is None, query
    friend = await storage.directory.find(f"{FRIEND}")
    assert friend is not None and friend.username is None


@bounded(20)
async def test_touch_records_activity_at_most_every_ten_minutes(storage: Storage) -> None:
    await new_user(storage)
    user = await storage.users.get(USER)
    assert user is not None and user.last_seen_at is None

    await storage.directory.touch(USER, NOW)
    await storage.directory.touch(USER, at(minutes=5))
    seen_early = (await storage.users.get(USER)).last_seen_at
    await storage.directory.touch(USER, at(minutes=10))
    seen_later = (await storage.users.get(USER)).last_seen_at
    await storage.directory.touch(USER, at(minutes=19, seconds=59))
    await storage.directory.touch(999, NOW)  # unknown: nothing to record

    assert seen_early == NOW
    assert seen_later == at(minutes=10)
    assert (await storage.users.get(USER)).last_seen_at == at(minutes=10)
    assert (await storage.directory.find(str(USER))).last_seen_at == at(minutes=10)
    assert await storage.users.get(999) is None


# --- entities --------------------------------------------------------------------------------------


@bounded(20)
async def test_a_free_job_round_trips(storage: Storage) -> None:
    await new_user(storage)

    launched, created = await cashier.launch(storage, make_job("j-free", price=0, free=True))
    paid, _ = await cashier.launch(storage, make_job("j-paid", price=0))
    moved = await storage.jobs.transition("j-free", [JobState.CREATED], JobState.SUBMITTED, task_id="t-1")

    assert created and launched.free is True and paid.free is False
    assert (await storage.jobs.get("j-free")).free is True
    assert moved is not None and moved.free is True
    assert (await storage.jobs.find_by_task("t-1")).free is True
    assert [job.free for job in await storage.jobs.for_user(USER)] in ([True, False], [False, True])
    assert await storage.ledger.balance(USER) == 0


async def test_an_admin_ban_is_stored_and_lifted(storage):
    from ports.events import UserRef
    from datetime import datetime, timezone

    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    await cashier.ensure_user(storage, UserRef(501), 0, now)
    assert await storage.users.set_banned(501, True) is True
    assert (await storage.users.get(501)).banned is True
    assert await storage.users.set_banned(501, False) is True
    assert (await storage.users.get(501)).banned is False
    assert await storage.users.set_banned(999_999, True) is False
