"""Static half of the contracts: every adapter satisfies its port, checked by mypy, not run by pytest.

The contract suites (test_*_contract.py) check behaviour at run time; this module checks shape. Each function
below assigns an implementation to the port it must satisfy, so a method that drifts from its port (a renamed
role, a changed parameter or return type, a missing method) fails ``mypy`` in CI (.ci/run; pyproject.toml
[tool.mypy] lists this file). ``Storage``'s roles are read-only properties, so a storage may expose its own
class for each role as long as that class satisfies the role's Protocol.
"""

from __future__ import annotations

from adapters.kie.fake import FakeKieGateway
from adapters.kie.http_gateway import KieHttpGateway
from adapters.media.mutagen_probe import MutagenProbe
from adapters.storage.file_leader_lock import FileLeaderLock
from adapters.storage.json_storage import JsonStorage
from adapters.storage.pg_leader_lock import PostgresLeaderLock
from adapters.storage.postgres.claims import PostgresInboxClaims, PostgresJobLeases, PostgresWakeups
from adapters.storage.postgres.storage import PostgresStorage
from adapters.system.clock import SystemClock, VirtualClock
from adapters.system.files import LocalFileReader
from adapters.telegram.files import TelegramMediaReader
from adapters.telegram.messenger import TelegramMessenger
from adapters.telegram.stars import TelegramStars
from ports.billing import StarsGateway
from ports.claims import InboxClaims, JobLeases, Wakeups
from ports.clock import Clock
from ports.effects import Messenger
from ports.generation import GenerationGateway
from ports.leader import LeaderLock
from ports.media import MediaProbe, MediaReader
from ports.storage import Storage

# --- storage ---------------------------------------------------------------------------------------


def json_storage_is_a_storage(storage: JsonStorage) -> Storage:
    return storage


def postgres_storage_is_a_storage(storage: PostgresStorage) -> Storage:
    return storage


def file_lock_is_a_leader_lock(lock: FileLeaderLock) -> LeaderLock:
    return lock


def postgres_lock_is_a_leader_lock(lock: PostgresLeaderLock) -> LeaderLock:
    return lock


def postgres_inbox_claims_are_inbox_claims(claims: PostgresInboxClaims) -> InboxClaims:
    return claims


def postgres_job_leases_are_job_leases(leases: PostgresJobLeases) -> JobLeases:
    return leases


def postgres_wakeups_are_wakeups(wakeups: PostgresWakeups) -> Wakeups:
    return wakeups


# --- the other ports -------------------------------------------------------------------------------


def fake_generator_is_a_generation_gateway(gateway: FakeKieGateway) -> GenerationGateway:
    return gateway


def kie_client_is_a_generation_gateway(gateway: KieHttpGateway) -> GenerationGateway:
    return gateway


def telegram_messenger_is_a_messenger(messenger: TelegramMessenger) -> Messenger:
    return messenger


def telegram_stars_is_a_stars_gateway(stars: TelegramStars) -> StarsGateway:
    return stars


def telegram_files_are_a_media_reader(reader: TelegramMediaReader) -> MediaReader:
    return reader


def local_files_are_a_media_reader(reader: LocalFileReader) -> MediaReader:
    return reader


def mutagen_is_a_media_probe(probe: MutagenProbe) -> MediaProbe:
    return probe


def system_clock_is_a_clock(clock: SystemClock) -> Clock:
    return clock


def virtual_clock_is_a_clock(clock: VirtualClock) -> Clock:
    return clock
