"""The unit of work: one atomic change of the storage, made of row reads and row writes the core decides.

    async with storage.unit_of_work() as uow:
        account = await uow.accounts.get_for_update(user_id)   # locked until the unit ends
        ...decide with plain core functions (core/accounts.py)...
        await uow.ledger.add(entry)
        await uow.accounts.put(replace(account, balance=entry.balance_after))
        await uow.commit()                                     # everything, once, or nothing

Leaving the block without ``commit()`` rolls back; so does an exception. A unit is used once: after
``commit()`` it accepts no more writes. The storage decides nothing here: a repository reads and writes
rows; the rules (balances, idempotency keys, job transitions, ...) live in the core, which uses these
repositories (core/cashier.py). Constraints stay in the storage as a backstop only: a ledger key is
unique, a balance is never negative (both raise a StorageError at the write or at commit).

Locking. ``get_for_update`` locks the row (PostgreSQL ``SELECT ... FOR UPDATE``; the JSON storage an
in-process lock per row) until the unit ends, so units touching the same row run one after the other.
``add`` of a keyed row also holds its key: a concurrent ``add`` of the same key waits, then sees it and
returns False. Lock in this order to never deadlock: the job / payment / top-up row, then the referral
row, then accounts in ascending user id, then ledger keys.

Durability. PostgreSQL: one transaction. JSON: the unit's writes become one journal record of the state
document (one line, one fsync shared with concurrent units), applied all or nothing; ``commit()`` returns
once it is durable. So on JSON every repository of a unit must keep its rows in ``state.json`` (inbox.json
and admin.json are files of their own, each with its own journal: a unit cannot span them).

Adding a repository (e.g. an outbox): declare its Protocol here and an attribute on UnitOfWork; in
PostgreSQL add a class over the unit's connection in adapters/storage/postgres/uow.py; in JSON add a
table to adapters/storage/json_uow.py and to json_rows.py (rows are buffered and written at commit by
State.apply, which stores them in a section of the state document). Keep methods row-shaped: get / get_for_update /
add / put / compare-and-set, never a rule.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Protocol

from ports.model import (
    Account,
    AuditEntry,
    Draft,
    FreeTry,
    Job,
    JobState,
    LedgerEntry,
    ManualTopup,
    Referral,
    StarsPayment,
    User,
)


class UserRows(Protocol):
    async def get(self, user_id: int) -> User | None: ...

    async def get_for_update(self, user_id: int) -> User | None: ...

    async def get_with_account(self, user_id: int) -> tuple[User, Account] | None:
        """The user and their account, unlocked, in one read (what a screen shows; money moves under
        ``accounts.get_for_update``)."""
        ...

    async def add(self, user: User) -> bool:
        """Create the user and its empty account (balance 0, debt 0). False (nothing added) when the id exists."""
        ...

    async def put(self, user: User) -> None:
        """Replace an existing user's fields (not its account). UnknownUserError when there is none."""
        ...


class AccountRows(Protocol):
    async def get(self, user_id: int) -> Account | None: ...

    async def get_for_update(self, user_id: int) -> Account | None:
        """The account, locked (money moves under this lock); None for an unknown user."""
        ...

    async def put(self, account: Account) -> None:
        """Store balance and debt. The storage refuses a negative balance or debt (StorageError)."""
        ...


class LedgerRows(Protocol):
    async def get(self, key: str) -> LedgerEntry | None: ...

    async def add(self, entry: LedgerEntry) -> bool:
        """Insert the entry. False (nothing added) when its key exists: the key is unique, forever."""
        ...


class DraftRows(Protocol):
    async def get(self, draft_id: str) -> Draft | None: ...

    async def put(self, draft: Draft) -> None: ...


class JobRows(Protocol):
    async def get(self, job_id: str) -> Job | None: ...

    async def get_for_update(self, job_id: str) -> Job | None: ...

    async def add(self, job: Job) -> bool:
        """False (nothing added) when a job with this id exists (a double tap)."""
        ...

    async def compare_and_set(
        self, job_id: str, allowed_from: Collection[JobState], to: JobState, changes: dict[str, Any]
    ) -> Job | None:
        """Move to ``to`` only from ``allowed_from``, changing ``changes`` (JOB_MUTABLE_FIELDS); the new job,
        or None when the job is in another state. The core's transition table decides ``allowed_from``."""
        ...


class PaymentRows(Protocol):
    async def get(self, charge_id: str) -> StarsPayment | None: ...

    async def get_for_update(self, charge_id: str) -> StarsPayment | None: ...

    async def add(self, payment: StarsPayment) -> bool:
        """False (nothing added) when the charge id exists."""
        ...

    async def put(self, payment: StarsPayment) -> None: ...


class TopupRows(Protocol):
    async def get(self, topup_id: str) -> ManualTopup | None: ...

    async def get_for_update(self, topup_id: str) -> ManualTopup | None: ...

    async def add(self, topup: ManualTopup) -> bool: ...

    async def put(self, topup: ManualTopup) -> None: ...


class FreeTryRows(Protocol):
    async def get(self, job_id: str) -> FreeTry | None: ...

    async def get_for_update(self, job_id: str) -> FreeTry | None: ...

    async def add(self, free_try: FreeTry) -> bool: ...

    async def put(self, free_try: FreeTry) -> None: ...

    async def lock_day(self, user_id: int, day: str) -> None:
        """Hold the user's tries of ``day`` until the unit ends (whether or not the user or any try exists):
        units counting the same day then run one after the other."""
        ...

    async def used(self, user_id: int, day: str) -> int:
        """Tries of ``day`` taken and not released (hold ``lock_day`` to rely on it)."""
        ...


class ReferralRows(Protocol):
    async def get(self, invitee_id: int) -> Referral | None: ...

    async def get_for_update(self, invitee_id: int) -> Referral | None: ...

    async def add(self, referral: Referral) -> bool:
        """False (nothing added) when the invitee is linked already."""
        ...

    async def put(self, referral: Referral) -> None: ...


class AuditRows(Protocol):
    async def add(self, entry: AuditEntry) -> None: ...


class UnitOfWork(Protocol):
    """The repositories are read-only members: an implementation may expose a more specific type for each."""

    @property
    def users(self) -> UserRows: ...

    @property
    def accounts(self) -> AccountRows: ...

    @property
    def ledger(self) -> LedgerRows: ...

    @property
    def drafts(self) -> DraftRows: ...

    @property
    def jobs(self) -> JobRows: ...

    @property
    def payments(self) -> PaymentRows: ...

    @property
    def topups(self) -> TopupRows: ...

    @property
    def free_tries(self) -> FreeTryRows: ...

    @property
    def referrals(self) -> ReferralRows: ...

    @property
    def audit(self) -> AuditRows: ...

    async def commit(self) -> None:
        """Make every write of the unit durable at once. Raises StorageError (nothing written) when a
        constraint refuses a row, StorageUnavailableError when the store cannot be written now."""
        ...

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(self, *exc_info: object) -> None:
        """Roll back whatever was not committed, release the locks."""
        ...

