"""The inbox as one JSON document held in memory: pending updates and the ids already processed.

Pure and synchronous, like json_state (json_storage.py adds the file and the lock). Kept apart from the
state document so that taking in an update touches this small document, never the whole state. Mutating
operations validate first and return ``(result, changed)``; a repeat reports no change and costs no write.

Document layout (format version 1)::

    {"format": "trt-bot-inbox", "version": 1,
     "pending": {"<update id>": InboxUpdate, ...},
     "done":    {"<update id>": <done at, whole Unix seconds>, ...}}

A put is one journal line on the webhook's critical path (json_file.py); ``dump`` runs when the journal is
folded into a snapshot and is kept cheap to produce: every entry is held pre-serialised as UTF-8 bytes and
``dump`` only joins them, and done times are plain integers
(a processed id costs ~20 bytes). An update that comes with its JSON text (``InboxUpdate.text``, the webhook's
body) is spliced in as received, never serialised again; in memory a pending update is its other fields and
that text, parsed only when ``pending`` hands out a copy. Processed ids are remembered for more than
RETENTION after their done time (Telegram redelivers an update for at most 24 h), then forgotten by the next
write, oldest first.
"""

from __future__ import annotations

import heapq
import json
import math
from datetime import datetime, timedelta
from typing import Any

from adapters.storage.entity_codec import decode, encode_field, payload_text, utc_text
from ports.storage import InboxUpdate

FORMAT = "trt-bot-inbox"
VERSION = 1
RETENTION = timedelta(hours=24)

_HEAD = f'{{"format":"{FORMAT}","version":{VERSION},"pending":{{'.encode()
_MIDDLE = b'},"done":{'
_TAIL = b"}}"
_FIELDS = ("update_id", "received_at", "chat_id", "cid")  # an InboxUpdate's record, payload aside


class CorruptInboxError(ValueError):
    """The bytes are not an inbox document this code can read."""


class InboxDocument:
    def __init__(self) -> None:
        self._pending: dict[int, tuple[dict[str, Any], str]] = {}  # update id -> (record, payload JSON text)
        self._pending_bytes: dict[int, bytes] = {}  # update id -> b'"<id>":<record JSON>'
        self._done_bytes: dict[int, bytes] = {}  # update id -> b'"<id>":<done at>'
        self._done_order: list[tuple[int, int]] = []  # heap of (done at, update id): oldest first

    # --- document ---------------------------------------------------------------------------

    @classmethod
    def empty(cls) -> InboxDocument:
        return cls()

    @classmethod
    def parse(cls, raw: bytes) -> InboxDocument:
        try:
            doc = json.loads(raw)
        except ValueError as error:
            raise CorruptInboxError(f"not valid JSON ({error})") from error
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise CorruptInboxError(f"not a {FORMAT} document")
        if doc.get("version") != VERSION:
            raise CorruptInboxError(f"unknown format version {doc.get('version')!r} (this code reads {VERSION})")
        inbox = cls()
        try:
            for key, record in doc["pending"].items():
                update = decode(InboxUpdate, record)
                if key != str(update.update_id):
                    raise ValueError(f"update {update.update_id} is stored under {key!r}")
                fields, text = _record(update)
                inbox._add_pending(update.update_id, fields, text, _entry(update.update_id, fields, text))
            for key, done_at in doc["done"].items():
                update_id = int(key)
                if key != str(update_id) or update_id in inbox._pending:
                    raise ValueError(f"done id {key!r} is not a canonical id of an update no longer pending")
                if type(done_at) is not int:
                    raise TypeError(f"done id {key}: done time {done_at!r} is not whole Unix seconds")
                inbox._add_done(update_id, done_at)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise CorruptInboxError(f"invalid content: {error!r}") from error
        return inbox

    def dump(self) -> bytes:
        return b"".join(
            (_HEAD, b",".join(self._pending_bytes.values()), _MIDDLE, b",".join(self._done_bytes.values()), _TAIL)
        )

    # --- operations -------------------------------------------------------------------------

    def put(self, update: InboxUpdate) -> tuple[bool, bool]:
        record, text = _record(update)  # validates (payload is JSON data, times are aware) before any change
        if update.update_id in self._pending or update.update_id in self._done_bytes:
            return False, False
        data = _entry(update.update_id, record, text)
        self._prune(update.received_at)
        self._add_pending(update.update_id, record, text, data)
        return True, True

    def pending(self, limit: int) -> list[InboxUpdate]:
        if type(limit) is not int or limit < 0:
            raise ValueError(f"limit must be an int >= 0, got {limit!r}")
        return [self._update(update_id) for update_id in heapq.nsmallest(limit, self._pending)]

    def done(self, update_id: int, now: datetime) -> tuple[None, bool]:
        if type(update_id) is not int:
            raise TypeError(f"an update id is an int, got {type(update_id).__name__}")
        done_at = _seconds(now)
        if update_id not in self._pending:
            return None, False  # already done, or never taken in: nothing to remember it by
        self._prune(now)
        del self._pending[update_id], self._pending_bytes[update_id]
        self._add_done(update_id, done_at)
        return None, True

    def depth(self) -> int:
        return len(self._pending)

    # --- internals --------------------------------------------------------------------------

    def _add_pending(self, update_id: int, record: dict[str, Any], text: str, data: bytes) -> None:
        self._pending[update_id] = record, text
        self._pending_bytes[update_id] = data

    def _update(self, update_id: int) -> InboxUpdate:
        record, text = self._pending[update_id]
        return decode(InboxUpdate, {**record, "payload": json.loads(text)})  # a fresh copy every time

    def _add_done(self, update_id: int, done_at: int) -> None:
        self._done_bytes[update_id] = b'"%d":%d' % (update_id, done_at)
        heapq.heappush(self._done_order, (done_at, update_id))

    def _prune(self, now: datetime) -> None:
        """Forget processed ids done more than RETENTION before ``now``. Called only on the way to a write
        (a no-op repeat never writes), so what is forgotten is forgotten on disk too. Done times are rounded
        down, and so is the cutoff: an id is forgotten only once it is strictly older than RETENTION."""
        cutoff = _seconds(now - RETENTION)
        while self._done_order and self._done_order[0][0] < cutoff:
            _, update_id = heapq.heappop(self._done_order)
            del self._done_bytes[update_id]


def _record(update: InboxUpdate) -> tuple[dict[str, Any], str]:
    """The update's fields as JSON values, and its payload as JSON text (entity_codec.payload_text)."""
    record = {name: encode_field(InboxUpdate, name, getattr(update, name)) for name in _FIELDS}
    return record, payload_text(update)


def _entry(update_id: int, record: dict[str, Any], text: str) -> bytes:
    """``"<id>":{<record>,"payload":<text>}`` as UTF-8, the payload text spliced in as it is."""
    head = json.dumps(record, ensure_ascii=False, separators=(",", ":"))[:-1]  # the object, left open
    return b'"%d":%s,"payload":%s}' % (update_id, head.encode("utf-8"), text.encode("utf-8"))


def _seconds(moment: datetime) -> int:
    utc_text(moment)  # refuses a naive datetime, which .timestamp() would read as local time
    return math.floor(moment.timestamp())
