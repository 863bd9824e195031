"""What operators change, as one JSON document held in memory: the audit log, the runtime overrides
(disabled models, markup) and the broadcasts (ports.admin).

Pure and synchronous, like json_state and json_inbox (json_admin_roles.py adds the file, the lock and the
roles). Kept apart from the state document so that an audit entry or a broadcast batch never rewrites the
balances. Mutating operations validate first and return ``(result, changed)``; a repeat reports no change
and costs no write.

Document layout (format version 1)::

    {"format": "trt-bot-admin", "version": 1,
     "runtime":    {"disabled_models": [model id, ... sorted], "markup": "2.35" | null,
                    "prices": {model id: "12.5"}, "drifts": {model id: PriceDrift}},  (both optional)
     "broadcasts": {"<broadcast id>": Broadcast},
     "audit":      [AuditEntry, ... oldest first (by ``at``, then by recording order)]}

The markup is kept as its plain decimal text (``format(markup, "f")``), so it round-trips exactly and comes
back with the same digits the PostgreSQL ``NUMERIC`` column gives. The audit log keeps the newest
AUDIT_CAP entries; each entry is held pre-serialised, so ``dump`` only joins them.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.storage.checks import (
    FINISHED,
    count,
    counts,
    finished_state,
    flag,
    markup_text,
    model_id_of,
    price_text,
    user_cursor,
)
from adapters.storage.entity_codec import decode, encode, utc_text
from ports.admin import AuditEntry, Broadcast, BroadcastState, Overrides, PriceDrift

FORMAT = "trt-bot-admin"
VERSION = 1
AUDIT_CAP = 10_000  # the newest entries kept; older ones are dropped by the write that goes past it

Record = dict[str, Any]


class CorruptAdminError(ValueError):
    """The bytes are not an admin document this code can read."""


class AdminDocument:
    def __init__(self, audit_cap: int = AUDIT_CAP) -> None:
        self.audit_cap = audit_cap
        self._disabled: set[str] = set()
        self._markup: str | None = None
        self._prices: dict[str, str] = {}  # model id -> KIE credits as plain decimal text
        self._drifts: dict[str, Record] = {}
        self._broadcasts: dict[str, Record] = {}
        self._audit_at: list[str] = []  # the entries' ``at`` (fixed-width UTC text: sorts chronologically)
        self._audit_bytes: list[bytes] = []  # the entries as JSON, in the same order

    # --- document ---------------------------------------------------------------------------

    @classmethod
    def empty(cls) -> AdminDocument:
        return cls()

    @classmethod
    def parse(cls, raw: bytes) -> AdminDocument:
        try:
            doc = json.loads(raw)
        except ValueError as error:
            raise CorruptAdminError(f"not valid JSON ({error})") from error
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise CorruptAdminError(f"not a {FORMAT} document")
        if doc.get("version") != VERSION:
            raise CorruptAdminError(f"unknown format version {doc.get('version')!r} (this code reads {VERSION})")
        admin = cls()
        try:
            runtime = doc["runtime"]
            for model_id in runtime["disabled_models"]:
                admin._disabled.add(model_id_of(model_id))
            if runtime["markup"] is not None:
                _expect_text(runtime["markup"])
                admin._markup = markup_text(Decimal(runtime["markup"]))
            for model_id, credits in runtime.get("prices", {}).items():  # documents older than prices lack them
                _expect_text(credits)
                admin._prices[model_id_of(model_id)] = price_text(Decimal(credits))
            for model_id, record in runtime.get("drifts", {}).items():
                drift = decode(PriceDrift, record)
                if model_id != drift.model_id:
                    raise ValueError(f"drift of {drift.model_id!r} is stored under {model_id!r}")
                admin._drifts[model_id] = encode(drift)
            for key, record in doc["broadcasts"].items():
                broadcast = decode(Broadcast, record)
                if key != broadcast.id:
                    raise ValueError(f"broadcast {broadcast.id!r} is stored under {key!r}")
                admin._broadcasts[key] = encode(broadcast)
            for record in doc["audit"]:
                admin._add_audit(encode(decode(AuditEntry, record)))
        except (KeyError, TypeError, ValueError, AttributeError, InvalidOperation) as error:
            raise CorruptAdminError(f"invalid content: {error!r}") from error
        return admin

    def dump(self) -> bytes:
        head = {
            "format": FORMAT,
            "version": VERSION,
            "runtime": self._runtime(),
            "broadcasts": self._broadcasts,
        }
        text = _json(head)
        return b"".join((text[:-1], b',"audit":[', b",".join(self._audit_bytes), b"]}"))

    def _runtime(self) -> Record:
        runtime: Record = {"disabled_models": sorted(self._disabled), "markup": self._markup}
        if self._prices:  # written only when used: documents stay readable by code older than prices
            runtime["prices"] = dict(sorted(self._prices.items()))
        if self._drifts:
            runtime["drifts"] = dict(sorted(self._drifts.items()))
        return runtime

    # --- audit ------------------------------------------------------------------------------

    def record(self, entry: AuditEntry) -> tuple[None, bool]:
        self._add_audit(encode(entry))  # validates (actor is an int, details are JSON data, at is aware)
        return None, True

    def recent(self, limit: int) -> list[AuditEntry]:
        limit = count(limit)
        newest = self._audit_bytes[max(len(self._audit_bytes) - limit, 0) :] if limit else []
        return [decode(AuditEntry, json.loads(data)) for data in reversed(newest)]

    def _add_audit(self, record: Record) -> None:
        position = bisect_right(self._audit_at, record["at"])  # after its equals: ties keep recording order
        self._audit_at.insert(position, record["at"])
        self._audit_bytes.insert(position, _json(record))
        excess = len(self._audit_at) - self.audit_cap
        if excess > 0:
            del self._audit_at[:excess], self._audit_bytes[:excess]

    # --- runtime settings -------------------------------------------------------------------

    def overrides(self) -> Overrides:
        markup = None if self._markup is None else Decimal(self._markup)
        return Overrides(
            disabled_models=frozenset(self._disabled), markup=markup,
            prices={model_id: Decimal(text) for model_id, text in self._prices.items()},
            drifts={model_id: decode(PriceDrift, record) for model_id, record in self._drifts.items()},
        )

    def set_price(self, model_id: str, credits: Decimal | None) -> tuple[None, bool]:
        model_id = model_id_of(model_id)
        text = None if credits is None else price_text(credits)
        changed = self._prices.get(model_id) != text or model_id in self._drifts
        if text is None:
            self._prices.pop(model_id, None)
        else:
            self._prices[model_id] = text
        self._drifts.pop(model_id, None)
        return None, changed

    def note_drift(self, drift: PriceDrift) -> tuple[bool, bool]:
        record = encode(drift)
        model_id_of(drift.model_id)
        if drift.model_id in self._drifts:
            return False, False  # alerted once already: nothing changes until a price is confirmed
        self._drifts[drift.model_id] = record
        return True, True

    def set_model_enabled(self, model_id: str, enabled: bool) -> tuple[None, bool]:
        model_id, enabled = model_id_of(model_id), flag(enabled)
        if enabled == (model_id not in self._disabled):
            return None, False
        if enabled:
            self._disabled.discard(model_id)
        else:
            self._disabled.add(model_id)
        return None, True

    def set_markup(self, markup: Decimal | None) -> tuple[None, bool]:
        text = None if markup is None else markup_text(markup)
        if text == self._markup:
            return None, False
        self._markup = text
        return None, True

    # --- broadcasts -------------------------------------------------------------------------

    def create_broadcast(self, broadcast: Broadcast) -> tuple[None, bool]:
        record = encode(broadcast)
        if broadcast.id in self._broadcasts:
            return None, False  # the first one stays: a repeated create changes nothing
        self._broadcasts[broadcast.id] = record
        return None, True

    def broadcast(self, broadcast_id: str) -> Broadcast | None:
        record = self._broadcasts.get(broadcast_id)
        return None if record is None else decode(Broadcast, record)

    def start_broadcast(self, broadcast_id: str, now: datetime) -> tuple[Broadcast | None, bool]:
        updated_at = utc_text(now)
        record = self._broadcasts.get(broadcast_id)
        if record is None or record["state"] != BroadcastState.DRAFT.value:
            return None, False
        record.update(state=BroadcastState.SENDING.value, updated_at=updated_at)
        return decode(Broadcast, record), True

    def advance_broadcast(
        self, broadcast_id: str, cursor: int, delivered: int, failed: int, blocked: int, now: datetime
    ) -> tuple[None, bool]:
        cursor, added = user_cursor(cursor), counts(delivered, failed, blocked)
        updated_at = utc_text(now)
        record = self._broadcasts.get(broadcast_id)
        if record is None or cursor <= record["cursor"]:
            return None, False  # unknown, or a batch already counted (the cursor only moves forward)
        record.update(
            cursor=cursor,
            delivered=record["delivered"] + added[0],
            failed=record["failed"] + added[1],
            blocked=record["blocked"] + added[2],
            updated_at=updated_at,
        )
        return None, True

    def finish_broadcast(self, broadcast_id: str, state: BroadcastState, now: datetime) -> tuple[None, bool]:
        state, updated_at = finished_state(state), utc_text(now)
        record = self._broadcasts.get(broadcast_id)
        if record is None or record["state"] in FINISHED:
            return None, False  # the first finish stays (a cancel racing the last batch)
        record.update(state=state.value, updated_at=updated_at)
        return None, True

    def sending(self) -> list[Broadcast]:
        records = [record for record in self._broadcasts.values() if record["state"] == BroadcastState.SENDING.value]
        records.sort(key=lambda record: (record["created_at"], record["id"]))
        return [decode(Broadcast, record) for record in records]


def _expect_text(value: Any) -> None:
    if not isinstance(value, str):
        raise TypeError(f"markup: expected text, got {type(value).__name__}")


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
