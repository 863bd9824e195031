"""What every ports.storage.Storage implementation must do.

Runs once per entry of conftest.STORAGE_IMPLEMENTATIONS.
"""

from __future__ import annotations

from core import cashier
import asyncio
import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from ports.events import UserRef
from ports.storage import (
    ACTIVE_JOB_STATES,
    Draft,
    IdempotencyConflictError,
    InboxUpdate,
    InsufficientBalanceError,
    Job,
    JobState,
    Storage,
    UnknownUserError,
)

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
USER = 42
OTHER_USER = 43


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


async def user_with_balance(storage: Storage, balance: int, user_id: int = USER) -> None:
    await cashier.ensure_user(storage, UserRef(id=user_id, language_code="ru"), welcome_amount=balance, now=NOW)


def make_job(job_id: str, price: int = 30, user_id: int = USER, created: float = 0, **fields: object) -> Job:
    return Job(
        id=job_id,
        user_id=user_id,
        chat_id=user_id,
        model_id="flux-kontext",
        input={"prompt": "a cat", "n": 1},
        price=price,
        state=JobState.CREATED,
        created_at=at(created),
        updated_at=at(created),
        deadline_at=at(created + 600),
        **fields,  # type: ignore[arg-type]
    )


async def ledger_total(storage: Storage, user_id: int = USER) -> int:
    return sum(entry.amount for entry in await storage.ledger.entries(user_id, limit=10_000))


# --- users --------------------------------------------------------------------------------------


async def test_welcome_is_credited_once_when_ensure_is_called_twice(storage: Storage) -> None:
    ref = UserRef(id=USER, language_code="en", username="alice", first_name="Alice")

    user, created = await cashier.ensure_user(storage, ref, welcome_amount=50, now=NOW)
    again, created_again = await cashier.ensure_user(storage, ref, welcome_amount=50, now=at(60))

    assert (created, created_again) == (True, False)
    assert user == again
    assert user.id == USER and user.created_at == NOW and user.username == "alice"
    assert await storage.ledger.balance(USER) == 50
    [welcome] = await storage.ledger.entries(USER)
    assert (welcome.key, welcome.amount, welcome.balance_after) == (f"welcome:{USER}", 50, 50)
    assert welcome.reason == "welcome"


async def test_welcome_is_credited_once_when_ensure_runs_concurrently(storage: Storage) -> None:
    ref = UserRef(id=USER)

    results = await asyncio.gather(*(cashier.ensure_user(storage, ref, welcome_amount=50, now=NOW) for _ in range(10)))

    assert sorted(created for _, created in results) == [False] * 9 + [True]
    assert await storage.ledger.balance(USER) == 50
    assert len(await storage.ledger.entries(USER)) == 1


async def test_ensure_with_zero_welcome_creates_the_user_without_ledger_entries(storage: Storage) -> None:
    await cashier.ensure_user(storage, UserRef(id=USER), welcome_amount=0, now=NOW)

    assert await storage.users.get(USER) is not None
    assert await storage.ledger.balance(USER) == 0
    assert await storage.ledger.entries(USER) == []


async def test_ensure_refreshes_username_first_name_and_language_code(storage: Storage) -> None:
    await cashier.ensure_user(storage, UserRef(USER, "ru", "old", "Old"), welcome_amount=10, now=NOW)

    user, created = await cashier.ensure_user(storage, UserRef(USER, "en", "new", "New"), welcome_amount=10, now=at(5))

    assert not created
    assert (user.language_code, user.username, user.first_name) == ("en", "new", "New")
    assert user.created_at == NOW
    assert await storage.users.get(USER) == user
    assert await storage.ledger.balance(USER) == 10


async def test_language_and_active_draft_are_stored_on_the_user(storage: Storage) -> None:
    await user_with_balance(storage, 0)

    await storage.users.set_language(USER, "en")
    await storage.users.set_active_draft(USER, "d1")
    user = await storage.users.get(USER)
    await storage.users.set_active_draft(USER, None)

    assert user is not None and (user.language, user.active_draft_id) == ("en", "d1")
    cleared = await storage.users.get(USER)
    assert cleared is not None and cleared.active_draft_id is None


async def test_unknown_user_is_none_and_cannot_be_changed(storage: Storage) -> None:
    assert await storage.users.get(USER) is None
    with pytest.raises(UnknownUserError):
        await storage.users.set_language(USER, "en")


async def test_blocked_round_trips_and_survives_other_user_changes(storage: Storage) -> None:
    await user_with_balance(storage, 0)
    fresh = await storage.users.get(USER)

    await storage.users.set_blocked(USER, True)
    blocked = await storage.users.get(USER)
    await cashier.ensure_user(storage, UserRef(id=USER, language_code="en"), welcome_amount=0, now=at(1))
    await storage.users.set_language(USER, "en")
    still_blocked = await storage.users.get(USER)
    await storage.users.set_blocked(USER, True)  # a repeat changes nothing
    await storage.users.set_blocked(USER, False)
    back = await storage.users.get(USER)

    assert fresh is not None and fresh.blocked is False
    assert blocked is not None and blocked.blocked is True
    assert still_blocked is not None and still_blocked.blocked is True
    assert back is not None and back.blocked is False and back.language == "en"


async def test_set_blocked_of_an_unknown_user_is_a_no_op(storage: Storage) -> None:
    await storage.users.set_blocked(USER, True)

    assert await storage.users.get(USER) is None
    user, created = await cashier.ensure_user(storage, UserRef(id=USER), welcome_amount=0, now=NOW)
    assert created and user.blocked is False


# --- ledger -------------------------------------------------------------------------------------


async def test_credit_then_debit_gives_the_balance_and_entries_newest_first(storage: Storage) -> None:
    await user_with_balance(storage, 10)

    await cashier.credit(storage, USER, 100, "pay:1", "payment", at(1))
    debit = await cashier.debit(storage, USER, 30, "spend:1", "launch", at(2))

    assert await storage.ledger.balance(USER) == 80
    assert debit.amount == -30 and debit.balance_after == 80
    entries = await storage.ledger.entries(USER)
    assert [(e.key, e.amount, e.balance_after) for e in entries] == [
        ("spend:1", -30, 80),
        ("pay:1", 100, 110),
        (f"welcome:{USER}", 10, 10),
    ]
    assert [e.created_at for e in entries] == [at(2), at(1), NOW]
    assert [e.key for e in await storage.ledger.entries(USER, limit=2)] == ["spend:1", "pay:1"]


async def test_a_repeated_key_is_a_no_op_returning_the_first_entry(storage: Storage) -> None:
    await user_with_balance(storage, 0)

    first = await cashier.credit(storage, USER, 100, "pay:1", "payment", at(1))
    again = await cashier.credit(storage, USER, 100, "pay:1", "payment", at(99))
    spent = await cashier.debit(storage, USER, 40, "spend:1", "launch", at(2))
    spent_again = await cashier.debit(storage, USER, 40, "spend:1", "launch", at(98))

    assert (again, spent_again) == (first, spent)
    assert await storage.ledger.balance(USER) == 60
    assert len(await storage.ledger.entries(USER)) == 2


async def test_a_key_reused_for_another_movement_raises_idempotency_conflict(storage: Storage) -> None:
    await user_with_balance(storage, 100)
    await user_with_balance(storage, 100, user_id=OTHER_USER)
    await cashier.credit(storage, USER, 10, "pay:1", "payment", at(1))

    with pytest.raises(IdempotencyConflictError):
        await cashier.credit(storage, USER, 11, "pay:1", "payment", at(2))
    with pytest.raises(IdempotencyConflictError):
        await cashier.debit(storage, USER, 10, "pay:1", "payment", at(2))
    with pytest.raises(IdempotencyConflictError):
        await cashier.credit(storage, OTHER_USER, 10, "pay:1", "payment", at(2))

    assert await storage.ledger.balance(USER) == 110
    assert await storage.ledger.balance(OTHER_USER) == 100


async def test_a_debit_beyond_the_balance_raises_and_leaves_the_balance_unchanged(storage: Storage) -> None:
    await user_with_balance(storage, 20)

    with pytest.raises(InsufficientBalanceError) as raised:
        await cashier.debit(storage, USER, 21, "spend:1", "launch", at(1))

    assert (raised.value.balance, raised.value.needed) == (20, 21)
    assert await storage.ledger.balance(USER) == 20
    assert len(await storage.ledger.entries(USER)) == 1
    assert (await cashier.debit(storage, USER, 20, "spend:1", "launch", at(2))).balance_after == 0


async def test_ten_concurrent_debits_of_one_against_five_succeed_exactly_five_times(storage: Storage) -> None:
    await user_with_balance(storage, 5)

    results = await asyncio.gather(
        *(cashier.debit(storage, USER, 1, f"spend:{i}", "launch", at(i)) for i in range(10)),
        return_exceptions=True,
    )

    assert sum(1 for r in results if isinstance(r, InsufficientBalanceError)) == 5
    assert sum(1 for r in results if not isinstance(r, BaseException)) == 5
    assert await storage.ledger.balance(USER) == 0
    assert await ledger_total(storage) == 0


async def test_the_ledger_sums_to_the_balance_after_a_mixed_sequence(storage: Storage) -> None:
    await user_with_balance(storage, 7)
    for i in range(30):
        if i % 3 == 0:
            await cashier.credit(storage, USER, 5 + i, f"c:{i}", "payment", at(i))
            await cashier.credit(storage, USER, 5, "c:0", "payment", at(i))  # a repeat: a no-op
        elif i % 7 == 0:
            with pytest.raises(InsufficientBalanceError):
                await cashier.debit(storage, USER, 10_000, f"d:{i}", "launch", at(i))
        else:
            await cashier.debit(storage, USER, 3, f"d:{i}", "launch", at(i))

    balance = await storage.ledger.balance(USER)
    assert balance == await ledger_total(storage)
    entries = await storage.ledger.entries(USER, limit=10_000)
    assert entries[0].balance_after == balance
    assert all(newer.balance_after == older.balance_after + newer.amount for newer, older in zip(entries, entries[1:]))


async def test_amounts_must_be_positive(storage: Storage) -> None:
    await user_with_balance(storage, 10)

    for amount in (0, -5):
        with pytest.raises(ValueError):
            await cashier.credit(storage, USER, amount, f"c:{amount}", "payment", NOW)
        with pytest.raises(ValueError):
            await cashier.debit(storage, USER, amount, f"d:{amount}", "launch", NOW)

    assert await storage.ledger.balance(USER) == 10


async def test_the_ledger_rejects_an_unknown_user(storage: Storage) -> None:
    with pytest.raises(UnknownUserError):
        await cashier.credit(storage, USER, 10, "pay:1", "payment", NOW)
    with pytest.raises(UnknownUserError):
        await cashier.debit(storage, USER, 10, "spend:1", "launch", NOW)
    with pytest.raises(UnknownUserError):
        await storage.ledger.balance(USER)


# --- jobs ---------------------------------------------------------------------------------------


async def test_launch_debits_the_price_and_stores_the_job_together(storage: Storage) -> None:
    await user_with_balance(storage, 100)
    job = make_job("j1", price=30)

    stored, created = await cashier.launch(storage, job)

    assert created and stored == job
    assert await storage.jobs.get("j1") == job
    assert await storage.ledger.balance(USER) == 70
    [charge, _] = await storage.ledger.entries(USER)
    assert (charge.key, charge.amount, charge.reason, charge.balance_after) == ("launch:j1", -30, "launch", 70)


async def test_returned_jobs_are_copies_that_callers_cannot_change_in_storage(storage: Storage) -> None:
    await user_with_balance(storage, 100)
    job = replace(make_job("j1"), input={"prompt": "a cat", "image_urls": ["https://x/a.png"], "extra": {"n": 1}})
    stored, _ = await cashier.launch(storage, job)

    stored.input["image_urls"].append("https://x/b.png")
    loaded = await storage.jobs.get("j1")
    assert loaded is not None
    loaded.input["extra"]["n"] = 2

    assert await storage.jobs.get("j1") == job


async def test_a_double_launch_charges_once_and_returns_the_same_job(storage: Storage) -> None:
    await user_with_balance(storage, 100)
    job = make_job("j1", price=30)

    first = await cashier.launch(storage, job)
    second = await cashier.launch(storage, replace(job, price=99, created_at=at(5)))

    assert first == (job, True)
    assert second == (job, False)
    assert await storage.ledger.balance(USER) == 70


async def test_a_concurrent_double_launch_charges_once(storage: Storage) -> None:
    await user_with_balance(storage, 100)
    job = make_job("j1", price=30)

    results = await asyncio.gather(*(cashier.launch(storage, job) for _ in range(5)))

    assert all(stored == job for stored, _ in results)
    assert sorted(created for _, created in results) == [False] * 4 + [True]
    assert await storage.ledger.balance(USER) == 70
    assert len(await storage.ledger.entries(USER)) == 2


async def test_a_launch_with_insufficient_balance_stores_no_job_and_charges_nothing(storage: Storage) -> None:
    await user_with_balance(storage, 10)

    with pytest.raises(InsufficientBalanceError):
        await cashier.launch(storage, make_job("j1", price=30))

    assert await storage.jobs.get("j1") is None
    assert await storage.jobs.for_user(USER) == []
    assert await storage.ledger.balance(USER) == 10
    assert len(await storage.ledger.entries(USER)) == 1


async def test_a_transition_from_an_allowed_state_sets_the_state_and_fields(storage: Storage) -> None:
    await user_with_balance(storage, 100)
    await cashier.launch(storage, make_job("j1"))

    moved = await storage.jobs.transition(
        "j1", {JobState.CREATED}, JobState.SUBMITTED, task_id="task-1", updated_at=at(3), progress_message_id=7
    )
    done = await storage.jobs.transition(
        "j1", ACTIVE_JOB_STATES, JobState.SUCCEEDED, result_urls=("https://x/1.png", "https://x/2.png")
    )

    assert moved is not None and (moved.state, moved.task_id, moved.updated_at) == (JobState.SUBMITTED, "task-1", at(3))
    assert moved.progress_message_id == 7
    assert done is not None and done.state is JobState.SUCCEEDED
    assert done.result_urls == ("https://x/1.png", "https://x/2.png") and done.task_id == "task-1"
    assert await storage.jobs.get("j1") == done


async def test_a_transition_from_a_disallowed_state_returns_none(storage: Storage) -> None:
    await user_with_balance(storage, 100)
    await cashier.launch(storage, make_job("j1"))

    assert await storage.jobs.transition("j1", {JobState.RUNNING}, JobState.SUCCEEDED, result_text="x") is None
    job = await storage.jobs.get("j1")
    assert job is not None and job.state is JobState.CREATED and job.result_text is None


async def test_a_duplicate_transition_returns_none(storage: Storage) -> None:
    await user_with_balance(storage, 100)
    await cashier.launch(storage, make_job("j1"))

    first = await storage.jobs.transition("j1", {JobState.CREATED}, JobState.SUBMITTED, task_id="t1")
    duplicate = await storage.jobs.transition("j1", {JobState.CREATED}, JobState.SUBMITTED, task_id="t2")

    assert first is not None and duplicate is None
    assert await storage.jobs.get("j1") == first


async def test_a_transition_changing_an_immutable_field_raises_value_error(storage: Storage) -> None:
    await user_with_balance(storage, 100)
    await cashier.launch(storage, make_job("j1", price=30))

    with pytest.raises(ValueError):
        await storage.jobs.transition("j1", {JobState.CREATED}, JobState.SUBMITTED, price=0)

    job = await storage.jobs.get("j1")
    assert job is not None and job.state is JobState.CREATED and job.price == 30


async def test_a_transition_of_an_unknown_job_returns_none(storage: Storage) -> None:
    assert await storage.jobs.transition("nope", {JobState.CREATED}, JobState.SUBMITTED) is None


async def test_a_refund_credits_once_even_when_called_twice_concurrently(storage: Storage) -> None:
    await user_with_balance(storage, 100)
    await cashier.launch(storage, make_job("j1", price=30))
    await storage.jobs.transition("j1", ACTIVE_JOB_STATES, JobState.FAILED, error="rejected")

    results = await asyncio.gather(cashier.refund_job(storage, "j1", at(9)), cashier.refund_job(storage, "j1", at(9)))

    refunded = [job for job in results if job is not None]
    assert len(refunded) == 1 and refunded[0].state is JobState.REFUNDED and refunded[0].updated_at == at(9)
    assert refunded[0].error == "rejected"
    assert await storage.ledger.balance(USER) == 100
    refund = (await storage.ledger.entries(USER))[0]
    assert (refund.key, refund.amount, refund.reason) == ("refund:j1", 30, "refund")
    assert await cashier.refund_job(storage, "j1", at(10)) is None


async def test_a_timed_out_job_is_refundable(storage: Storage) -> None:
    await user_with_balance(storage, 100)
    await cashier.launch(storage, make_job("j1", price=30))
    await storage.jobs.transition("j1", ACTIVE_JOB_STATES, JobState.TIMED_OUT, error="timeout")

    refunded = await cashier.refund_job(storage, "j1", at(9))

    assert refunded is not None and refunded.state is JobState.REFUNDED
    assert await storage.ledger.balance(USER) == 100


async def test_the_refund_of_a_job_that_never_failed_returns_none(storage: Storage) -> None:
    await user_with_balance(storage, 100)
    await cashier.launch(storage, make_job("j1", price=30))
    await storage.jobs.transition("j1", ACTIVE_JOB_STATES, JobState.DELIVERED)

    assert await cashier.refund_job(storage, "j1", at(1)) is None
    assert await cashier.refund_job(storage, "unknown", at(1)) is None
    assert await storage.ledger.balance(USER) == 70


async def test_a_zero_price_launch_and_refund_leave_no_ledger_entries(storage: Storage) -> None:
    await user_with_balance(storage, 0)

    _, created = await cashier.launch(storage, make_job("free", price=0))
    await storage.jobs.transition("free", ACTIVE_JOB_STATES, JobState.FAILED)
    refunded = await cashier.refund_job(storage, "free", at(1))

    assert created and refunded is not None and refunded.state is JobState.REFUNDED
    assert await storage.ledger.entries(USER) == []
    assert await storage.ledger.balance(USER) == 0


async def test_find_by_task_returns_the_job_carrying_that_task_id(storage: Storage) -> None:
    await user_with_balance(storage, 100)
    await cashier.launch(storage, make_job("j1"))
    await cashier.launch(storage, make_job("j2"))
    await storage.jobs.transition("j2", {JobState.CREATED}, JobState.SUBMITTED, task_id="task-2")

    found = await storage.jobs.find_by_task("task-2")

    assert found is not None and found.id == "j2"
    assert await storage.jobs.find_by_task("task-1") is None


async def test_in_states_returns_matching_jobs_oldest_first(storage: Storage) -> None:
    await user_with_balance(storage, 100)
    for job_id, created in (("late", 30), ("early", 10), ("middle", 20), ("done", 5)):
        await cashier.launch(storage, make_job(job_id, price=1, created=created))
    await storage.jobs.transition("done", ACTIVE_JOB_STATES, JobState.DELIVERED)
    await storage.jobs.transition("middle", ACTIVE_JOB_STATES, JobState.RUNNING)

    active = await storage.jobs.in_states(ACTIVE_JOB_STATES)

    assert [job.id for job in active] == ["early", "middle", "late"]
    assert [job.id for job in await storage.jobs.in_states(ACTIVE_JOB_STATES, limit=2)] == ["early", "middle"]
    assert [job.id for job in await storage.jobs.in_states({JobState.DELIVERED})] == ["done"]


async def test_for_user_returns_the_users_jobs_newest_first_with_paging(storage: Storage) -> None:
    await user_with_balance(storage, 100)
    await user_with_balance(storage, 100, user_id=OTHER_USER)
    for i in (3, 1, 4, 0, 2):
        await cashier.launch(storage, make_job(f"j{i}", price=1, created=i))
    await cashier.launch(storage, make_job("theirs", price=1, user_id=OTHER_USER, created=9))

    first_page = await storage.jobs.for_user(USER, limit=2)
    second_page = await storage.jobs.for_user(USER, limit=2, offset=2)
    last_page = await storage.jobs.for_user(USER, limit=2, offset=4)

    assert [job.id for job in first_page + second_page + last_page] == ["j4", "j3", "j2", "j1", "j0"]
    assert [job.id for job in await storage.jobs.for_user(OTHER_USER)] == ["theirs"]
    assert await storage.jobs.for_user(7) == []


# --- drafts -------------------------------------------------------------------------------------


async def test_a_draft_round_trips_with_media_tuples_and_mixed_options(storage: Storage) -> None:
    draft = Draft(
        id="d1",
        user_id=USER,
        chat_id=USER,
        model_id="flux-kontext",
        created_at=NOW,
        media={"image_urls": ("https://x/a.png", "https://x/b.png"), "mask_url": ()},
        prompt="a cat in a hat",
        options={"aspect_ratio": "16:9", "enhance": True, "steps": 30, "guidance": 2.5, "strength": 1.0},
        message_id=555,
    )

    await storage.drafts.put(draft)
    loaded = await storage.drafts.get("d1")

    assert loaded == draft
    assert loaded is not None
    assert {name: type(value) for name, value in loaded.options.items()} == {
        "aspect_ratio": str,
        "enhance": bool,
        "steps": int,
        "guidance": float,
        "strength": float,
    }
    assert isinstance(loaded.media["image_urls"], tuple)


async def test_putting_a_draft_again_replaces_it(storage: Storage) -> None:
    draft = Draft(id="d1", user_id=USER, chat_id=USER, model_id="m", created_at=NOW)
    await storage.drafts.put(draft)

    changed = replace(draft, prompt="new", options={"n": 2})
    await storage.drafts.put(changed)

    assert await storage.drafts.get("d1") == changed
    assert await storage.drafts.get("missing") is None


async def test_a_draft_put_active_is_stored_and_becomes_the_users_active_draft(storage: Storage) -> None:
    await cashier.ensure_user(storage, UserRef(USER), 0, NOW)
    draft = Draft(id="d1", user_id=USER, chat_id=USER, model_id="m", created_at=NOW)
    await storage.drafts.put_active(draft)
    changed = replace(draft, prompt="again")
    await storage.drafts.put_active(changed)

    assert await storage.drafts.get("d1") == changed
    assert (await storage.users.get(USER)).active_draft_id == "d1"
    with pytest.raises(UnknownUserError):
        await storage.drafts.put_active(replace(draft, id="d2", user_id=USER + 1))


async def test_a_draft_is_read_with_the_job_launched_from_it(storage: Storage) -> None:
    await cashier.ensure_user(storage, UserRef(USER), 100, NOW)
    draft = Draft(id="j1", user_id=USER, chat_id=USER, model_id="m", created_at=NOW, options={"n": 1})
    await storage.drafts.put(draft)
    assert await storage.drafts.get_with_job("j1") == (draft, None)
    job, _ = await cashier.launch(storage, make_job("j1"))
    assert await storage.drafts.get_with_job("j1") == (draft, job)
    await cashier.launch(storage, make_job("j2"))
    assert await storage.drafts.get_with_job("j2") == (None, None)  # a job without a draft: no draft, no job


# --- inbox --------------------------------------------------------------------------------------


def update(update_id: int, chat_id: int | None = USER, **payload: object) -> InboxUpdate:
    body = payload or {"message": {"message_id": update_id, "chat": {"id": chat_id}, "text": f"hi {update_id}"}}
    return InboxUpdate(
        update_id=update_id,
        payload={"update_id": update_id, **body},
        received_at=at(update_id % 1000),
        chat_id=chat_id,
        cid=f"cid-{update_id}",
    )


async def test_an_update_is_taken_in_once_while_pending_and_after_done(storage: Storage) -> None:
    first = update(100)

    assert await storage.inbox.put(first) is True
    assert await storage.inbox.put(first) is False
    assert await storage.inbox.put(update(100, text="another body, same id")) is False
    assert await storage.inbox.pending() == [first]

    await storage.inbox.done(100, at(5))

    assert await storage.inbox.put(first) is False
    assert await storage.inbox.pending() == []
    assert await storage.inbox.depth() == 0


async def test_pending_is_ordered_by_update_id_and_respects_the_limit(storage: Storage) -> None:
    for update_id in (105, 101, 109, 103, 102):
        assert await storage.inbox.put(update(update_id)) is True

    assert [u.update_id for u in await storage.inbox.pending()] == [101, 102, 103, 105, 109]
    assert [u.update_id for u in await storage.inbox.pending(limit=2)] == [101, 102]
    assert await storage.inbox.pending(limit=0) == []


async def test_done_removes_from_pending_and_is_idempotent(storage: Storage) -> None:
    for update_id in (1, 2, 3):
        await storage.inbox.put(update(update_id))

    await storage.inbox.done(2, at(10))
    await storage.inbox.done(2, at(11))

    assert [u.update_id for u in await storage.inbox.pending()] == [1, 3]
    assert await storage.inbox.depth() == 2
    assert await storage.inbox.put(update(2)) is False


async def test_depth_counts_pending_updates(storage: Storage) -> None:
    assert await storage.inbox.depth() == 0
    for update_id in range(1, 6):
        await storage.inbox.put(update(update_id))
    await storage.inbox.put(update(3))  # a duplicate adds nothing
    await storage.inbox.done(1, at(1))

    assert await storage.inbox.depth() == 4


async def test_concurrent_puts_of_one_update_take_it_in_exactly_once(storage: Storage) -> None:
    results = await asyncio.gather(*(storage.inbox.put(update(7)) for _ in range(10)))

    assert sorted(results) == [False] * 9 + [True]
    assert await storage.inbox.depth() == 1


async def test_concurrent_puts_of_distinct_updates_are_all_kept(storage: Storage) -> None:
    results = await asyncio.gather(*(storage.inbox.put(update(i)) for i in range(20, 0, -1)))

    assert all(results)
    assert [u.update_id for u in await storage.inbox.pending()] == list(range(1, 21))


async def test_an_update_round_trips_with_nested_json_and_unicode(storage: Storage) -> None:
    payload = {
        "update_id": 5,
        "message": {
            "message_id": 9,
            "from": {"id": USER, "is_bot": False, "first_name": "Алиса 🐱", "language_code": "ru"},
            "chat": {"id": -100123, "type": "supergroup", "title": "日本語 \"quoted\" \\ back\nslash"},
            "photo": [{"file_id": "a", "width": 90, "height": 90}, {"file_id": "b", "width": 1280, "height": 960}],
            "entities": [],
            "caption": None,
            "ratio": 1.5,
        },
    }
    sent = InboxUpdate(update_id=5, payload=payload, received_at=NOW, chat_id=-100123, cid="c-5")
    no_chat = InboxUpdate(update_id=6, payload={"update_id": 6, "poll": {"id": "p"}}, received_at=at(1))

    await storage.inbox.put(sent)
    await storage.inbox.put(no_chat)
    loaded, loaded_no_chat = await storage.inbox.pending()

    assert loaded == sent and loaded.payload == payload
    assert loaded.received_at == NOW and (loaded.chat_id, loaded.cid) == (-100123, "c-5")
    assert loaded_no_chat == no_chat and (loaded_no_chat.chat_id, loaded_no_chat.cid) == (None, "")


async def test_an_update_with_u0000_round_trips_given_as_text_or_as_payload(storage: Storage) -> None:
    text = '{"update_id": 31, "message": {"text": "a\\u0000b", "chat": {"id": 1, "title": "\\u0000"}}}'
    payload = json.loads(text)
    as_text = InboxUpdate(update_id=31, payload=payload, received_at=NOW, chat_id=1, text=text)
    polled = InboxUpdate(update_id=32, payload={"update_id": 32, "poll": {"\x00": "x\x00"}}, received_at=NOW)

    assert await storage.inbox.put(as_text) is True
    assert await storage.inbox.put(polled) is True

    loaded, loaded_polled = await storage.inbox.pending()
    assert loaded == as_text and loaded.payload["message"]["text"] == "a\x00b"
    assert loaded_polled == polled


async def test_pending_updates_are_copies_that_callers_cannot_change_in_storage(storage: Storage) -> None:
    sent = update(1)
    await storage.inbox.put(sent)

    [loaded] = await storage.inbox.pending()
    loaded.payload["message"]["text"] = "changed"

    assert await storage.inbox.pending() == [sent]
