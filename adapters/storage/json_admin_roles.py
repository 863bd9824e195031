"""ports.admin's AuditLog, RuntimeSettings and Broadcasts over ``<data_dir>/admin.json``.

``admin.json`` is a json_file.DurableFile of its own (json_admin.AdminDocument): its own lock and durable
writes, so operators' changes never rewrite the balances, and a broadcast batch never waits on a payment.
Only ``Broadcasts.recipients`` reads the state document (its users), through the state file's read path:
under that file's lock, changing nothing. JsonStorage loads the file with ``load_admin_file`` and attaches
the roles.
"""

from __future__ import annotations

import heapq
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from adapters.storage.json_admin import AdminDocument, count
from adapters.storage.entity_codec import encode
from adapters.storage.json_file import DurableFile
from adapters.storage.json_ops import JsonData
from adapters.storage.json_state import State
from ports.admin import AuditEntry, Broadcast, BroadcastState, Overrides, PriceDrift

ADMIN_FILE = "admin.json"

AdminFile = DurableFile[AdminDocument]
StateFile = DurableFile[State]


def load_admin_file(data_dir: Path) -> AdminFile:
    """Load ``<data_dir>/admin.json`` (blocking: call from a worker thread, with the directory locked)."""
    return DurableFile.load(
        Path(data_dir) / ADMIN_FILE,
        AdminDocument.parse,
        AdminDocument.empty,
        "the audit log, the models switched off, the markup and the broadcasts in progress",
    )


class JsonAudit:
    """Entries are recorded in the state document (so that a unit of work commits an audit entry with the
    money movement it explains: json_rows.py); those admin.json holds from before are read alongside."""

    def __init__(self, file: AdminFile, state: StateFile) -> None:
        self._file, self._state = file, state

    async def record(self, entry: AuditEntry) -> None:
        await self._state.change("apply", [["audit", "add", JsonData(list(encode(entry).values()))]])

    async def recent(self, limit: int = 20) -> list[AuditEntry]:
        limit = count(limit)
        newer = await self._state.read(lambda state: state.audit_recent(limit))
        older = await self._file.read(lambda admin: admin.recent(limit))
        return sorted(newer + older, key=lambda entry: entry.at, reverse=True)[:limit]  # stable: ties keep order


class JsonRuntime:
    def __init__(self, file: AdminFile) -> None:
        self._file = file

    async def overrides(self) -> Overrides:
        return await self._file.read(lambda admin: admin.overrides())

    async def set_model_enabled(self, model_id: str, enabled: bool) -> None:
        await self._file.change("set_model_enabled", model_id, enabled)

    async def set_markup(self, markup: Decimal | None) -> None:
        await self._file.change("set_markup", markup)

    async def set_price(self, model_id: str, credits: Decimal | None) -> None:
        await self._file.change("set_price", model_id, credits)

    async def note_drift(self, drift: PriceDrift) -> bool:
        return await self._file.change("note_drift", drift)


class JsonBroadcasts:
    def __init__(self, file: AdminFile, state: StateFile) -> None:
        self._file = file
        self._state = state  # read only: the users to send to

    async def create(self, broadcast: Broadcast) -> None:
        await self._file.change("create_broadcast", broadcast)

    async def get(self, broadcast_id: str) -> Broadcast | None:
        return await self._file.read(lambda admin: admin.broadcast(broadcast_id))

    async def start(self, broadcast_id: str, now: datetime) -> Broadcast | None:
        return await self._file.change("start_broadcast", broadcast_id, now)

    async def recipients(self, after_user_id: int, limit: int) -> list[int]:
        if type(after_user_id) is not int:
            raise TypeError(f"after_user_id is an int, got {type(after_user_id).__name__}")
        limit = count(limit)
        return await self._state.read(lambda state: recipients(state, after_user_id, limit))

    async def advance(
        self, broadcast_id: str, cursor: int, delivered: int, failed: int, blocked: int, now: datetime
    ) -> None:
        await self._file.change("advance_broadcast", broadcast_id, cursor, delivered, failed, blocked, now)

    async def finish(self, broadcast_id: str, state: BroadcastState, now: datetime) -> None:
        await self._file.change("finish_broadcast", broadcast_id, state, now)

    async def sending(self) -> list[Broadcast]:
        return await self._file.read(lambda admin: admin.sending())


def recipients(state: State, after_user_id: int, limit: int) -> list[int]:
    """Ids of the users greater than ``after_user_id`` who have not blocked the bot, ascending."""
    wanted = (
        user_id
        for user_id, record in ((int(key), record) for key, record in _user_records(state).items())
        if user_id > after_user_id and not record.get("blocked", False)  # older documents lack "blocked"
    )
    return heapq.nsmallest(limit, wanted)


def _user_records(state: State) -> dict[str, dict[str, Any]]:
    # json_state.State has no public way to list its users yet; read its user records (never change them).
    return state._users
