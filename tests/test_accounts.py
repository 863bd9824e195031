"""The money rules and the job transition table, decided once in the core (core/accounts.py, core/job_states.py):
pure functions, no storage."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from core import accounts, job_states
from ports.model import Account, JobState, LedgerEntry
from ports.storage import MAX_BALANCE, BalanceLimitError, IdempotencyConflictError, InsufficientBalanceError

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_a_credit_adds_one_entry_and_moves_the_balance():
    movement = accounts.credit(Account(1, 10), 5, "k", "topup", NOW)
    assert movement.entries == (LedgerEntry("k", 1, 5, 15, "topup", NOW),)
    assert movement.account == Account(1, 15, 0)


def test_a_credit_to_a_user_with_debt_settles_it_first_in_a_second_entry():
    movement = accounts.credit(Account(1, 0, debt=30), 50, "stars:c", "topup", NOW)
    assert [(e.key, e.amount, e.balance_after, e.reason) for e in movement.entries] == [
        ("stars:c", 50, 50, "topup"), ("settle:stars:c", -30, 20, "debt")]
    assert movement.account == Account(1, 20, 0)
    smaller = accounts.credit(Account(1, 0, debt=30), 10, "k", "topup", NOW)
    assert smaller.account == Account(1, 0, 20) and smaller.entries[-1].amount == -10


def test_a_debit_beyond_the_balance_is_refused():
    with pytest.raises(InsufficientBalanceError) as refused:
        accounts.debit(Account(1, 4), 5, "k", "launch", NOW)
    assert (refused.value.balance, refused.value.needed) == (4, 5)
    assert accounts.debit(Account(1, 5), 5, "k", "launch", NOW).account == Account(1, 0)


def test_a_credit_beyond_max_balance_is_refused():
    with pytest.raises(BalanceLimitError):
        accounts.credit(Account(1, MAX_BALANCE), 1, "k", "topup", NOW)


def test_a_take_back_debits_what_the_balance_holds_and_the_rest_becomes_debt():
    movement = accounts.take_back(Account(1, 20, debt=5), 100, "stars_refund:c", "refund_stars", NOW)
    assert [(e.amount, e.balance_after) for e in movement.entries] == [(-20, 0)]
    assert movement.account == Account(1, 0, 85)
    assert accounts.take_back(Account(1, 0), 7, "k", "refund_stars", NOW).entries == ()


@pytest.mark.parametrize("amount", [0, -5, True, 1.5])
def test_an_amount_is_a_positive_int(amount):
    with pytest.raises((TypeError, ValueError)):
        accounts.credit(Account(1), amount, "k", "topup", NOW)


def test_a_repeated_key_is_the_same_movement_or_a_conflict():
    first = LedgerEntry("k", 1, -5, 5, "launch", NOW)
    assert accounts.check_repeat(first, 1, -5) is first
    for user, amount in ((2, -5), (1, -6), (1, 5)):
        with pytest.raises(IdempotencyConflictError):
            accounts.check_repeat(first, user, amount)


def test_key_names():
    assert [accounts.launch_key("j"), accounts.refund_key("j"), accounts.stars_key("c"), accounts.stars_refund_key("c"),
            accounts.manual_key("t"), accounts.referral_key(5, "inviter"), accounts.welcome_key(5),
            accounts.settle_key("stars:c")] == [
        "launch:j", "refund:j", "stars:c", "stars_refund:c", "manual:t", "ref:5:inviter", "welcome:5",
        "settle:stars:c"]


def test_every_job_state_is_reachable_from_created_and_ends_delivered_or_refunded():
    reached, frontier = {JobState.CREATED}, [JobState.CREATED]
    while frontier:
        for following in job_states.TRANSITIONS[frontier.pop()]:
            if following not in reached:
                reached.add(following)
                frontier.append(following)
    assert reached == set(JobState)
    assert {state for state, following in job_states.TRANSITIONS.items() if not following} == {
        state for state in JobState if state.terminal}


def test_a_move_outside_the_table_is_refused_before_the_storage_sees_it():
    assert job_states.allowed(JobState.REFUNDED) == {JobState.FAILED, JobState.TIMED_OUT}
    with pytest.raises(ValueError, match="delivered -> refunded"):
        job_states.allowed(JobState.REFUNDED, {JobState.DELIVERED})
