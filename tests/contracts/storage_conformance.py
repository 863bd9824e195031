"""Static half of the storage contract: both storages satisfy the ports, checked by mypy, not run by pytest.

The contract suites (test_*_contract.py) check behaviour at run time; this module checks shape. Each function
below assigns an implementation to the port it must satisfy, so a method that drifts from its port (a renamed
role, a changed parameter or return type, a missing method) fails ``mypy`` in CI (.ci/run; pyproject.toml
[tool.mypy] lists this file). ``Storage``'s roles are read-only properties, so an implementation may expose
its own class for each role as long as that class satisfies the role's Protocol.
"""

from __future__ import annotations

from adapters.storage.file_leader_lock import FileLeaderLock
from adapters.storage.json_storage import JsonStorage
from adapters.storage.pg_leader_lock import PostgresLeaderLock
from adapters.storage.postgres.storage import PostgresStorage
from ports.leader import LeaderLock
from ports.storage import Storage


def json_storage_is_a_storage(storage: JsonStorage) -> Storage:
    return storage


def postgres_storage_is_a_storage(storage: PostgresStorage) -> Storage:
    return storage


def file_lock_is_a_leader_lock(lock: FileLeaderLock) -> LeaderLock:
    return lock


def postgres_lock_is_a_leader_lock(lock: PostgresLeaderLock) -> LeaderLock:
    return lock
