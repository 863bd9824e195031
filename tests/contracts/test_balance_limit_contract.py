"""No storage holds a balance beyond 64 bits, and both refuse it the same way (issue 13 item 6): the JSON
storage used to accept any Python int, where PostgreSQL's BIGINT failed with a driver error (a generic
apology to the admin)."""

from __future__ import annotations

from core import cashier
from datetime import datetime, timezone

import pytest

from ports.events import UserRef
from ports.storage import MAX_BALANCE, BalanceLimitError, InsufficientBalanceError, Storage

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
USER = 7123456789  # a realistic Telegram id (10 digits)


async def test_a_balance_can_reach_the_64_bit_maximum_but_not_pass_it(storage: Storage):
    await cashier.ensure_user(storage, UserRef(USER), 0, NOW)
    await cashier.credit(storage, USER, MAX_BALANCE - 5, "admin:a", "admin", NOW)
    await cashier.credit(storage, USER, 5, "admin:b", "admin", NOW)
    with pytest.raises(BalanceLimitError) as raised:
        await cashier.credit(storage, USER, 1, "admin:c", "admin", NOW)
    assert raised.value.balance == MAX_BALANCE and raised.value.amount == 1
    assert await storage.ledger.balance(USER) == MAX_BALANCE
    assert [entry.key for entry in await storage.ledger.entries(USER)] == ["admin:b", "admin:a"]


@pytest.mark.parametrize("amount", [MAX_BALANCE + 1, 2**64, 10**4000], ids=["2^63", "2^64", "10^4000"])
async def test_an_amount_beyond_64_bits_is_refused_without_a_change(storage: Storage, amount: int):
    await cashier.ensure_user(storage, UserRef(USER), 100, NOW)
    with pytest.raises(BalanceLimitError) as raised:
        await cashier.credit(storage, USER, amount, "admin:huge", "admin", NOW)
    assert raised.value.balance == 100
    with pytest.raises(InsufficientBalanceError):
        await cashier.debit(storage, USER, amount, "admin:huge-debit", "admin", NOW)
    assert await storage.ledger.balance(USER) == 100
    assert [entry.key for entry in await storage.ledger.entries(USER)] == [f"welcome:{USER}"]
    await cashier.credit(storage, USER, 1, "admin:huge", "admin", NOW)  # the refused key was never taken
    assert await storage.ledger.balance(USER) == 101
