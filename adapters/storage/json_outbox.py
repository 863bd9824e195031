"""ports.outbox's rules on the state document: messages promised to users, kept in the same document (so in the
same journal line) as the change that made them, and the update ids whose processing was committed.

Mixed into json_state.State, same discipline: validate first, mutate once nothing can fail, return
``(result, changed)``. Sections (each optional: an older document reads as empty)::

    "outbox":  {"next_seq": int, "messages": {"<seq>": {"key", "chat_id", "effect", "created_at", "cid",
                                                       "attempts", "next_attempt_at"}},
                "sent": {"<key>": <sent at, whole Unix seconds>}},
    "applied": {"<update id>": <committed at, whole Unix seconds>}

``applied`` is how an update is marked done in the same durable change as its state and its messages: the
inbox (inbox.json, another file) learns it afterwards, and an update listed here is never processed again
(json_storage._Inbox.pending drops it). Ids are forgotten after RETENTION, like the inbox's.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from adapters.storage.entity_codec import utc_text
from ports.effect_codec import decode as decode_effect
from ports.effect_codec import encode as encode_effect
from ports.outbox import RETENTION, OutboxMessage

Record = dict[str, Any]


def message_record(message: OutboxMessage) -> Record:
    """What a message is journaled and kept as (ValueError/TypeError for a message that cannot be)."""
    if type(message.key) is not str or not message.key:
        raise ValueError("an outbox message needs a key")
    if type(message.chat_id) is not int:
        raise TypeError(f"chat_id: expected int, got {type(message.chat_id).__name__}")
    return {
        "key": message.key, "chat_id": message.chat_id, "effect": encode_effect(message.effect),
        "created_at": utc_text(message.created_at), "cid": str(message.cid), "attempts": 0,
        "next_attempt_at": None if message.next_attempt_at is None else utc_text(message.next_attempt_at),
    }


def _message(seq: str, record: Mapping[str, Any]) -> OutboxMessage:
    due = record["next_attempt_at"]
    return OutboxMessage(record["key"], record["chat_id"], decode_effect(record["effect"]),
                         datetime.fromisoformat(record["created_at"]), record["cid"], int(seq), record["attempts"],
                         None if due is None else datetime.fromisoformat(due))


class OutboxRules:
    if TYPE_CHECKING:
        _doc: Record

    def _init_outbox(self) -> None:
        box = self._doc.setdefault("outbox", {"next_seq": 1, "messages": {}, "sent": {}})
        self._outbox: dict[str, Record] = box["messages"]
        self._outbox_sent: dict[str, int] = box.setdefault("sent", {})
        self._applied: dict[str, int] = self._doc.setdefault("applied", {})
        self._outbox_keys = {record["key"]: seq for seq, record in self._outbox.items()}

    def _check_outbox(self) -> None:
        for seq, record in self._outbox.items():
            _message(seq, record)  # every stored message decodes
        if len(self._outbox_keys) != len(self._outbox):
            raise ValueError("duplicate outbox keys")

    # --- operations -------------------------------------------------------------------------

    def outbox_add(self, records: Sequence[Record], update_id: int | None = None,
                   now: datetime | None = None, sent: Sequence[str] = ()) -> tuple[None, bool]:
        """Store the records not stored yet; with ``update_id``, mark that update applied (needs ``now``); mark
        the ``sent`` keys sent (needs ``now``)."""
        for record in records:
            _message("0", record)  # validates before anything changes
        if update_id is not None or sent:
            if (update_id is not None and type(update_id) is not int) or now is None:
                raise ValueError("an applied update needs an int id and a time; sent keys need a time")
            applied_at = math.floor(now.timestamp())
        changed = False
        if sent:
            changed = self.outbox_sent(sent, now)[1]
        box = self._doc["outbox"]
        for record in records:
            if record["key"] in self._outbox_keys or record["key"] in self._outbox_sent:
                continue
            seq = str(box["next_seq"])
            self._outbox[seq] = dict(record)
            self._outbox_keys[record["key"]] = seq
            box["next_seq"] += 1
            changed = True
        if update_id is not None and str(update_id) not in self._applied:
            _forget(self._applied, applied_at)
            self._applied[str(update_id)] = applied_at
            changed = True
        return None, changed

    def outbox_sent(self, keys: Sequence[str], now: datetime) -> tuple[None, bool]:
        sent_at = math.floor(now.timestamp())
        changed = False
        for key in keys:
            seq = self._outbox_keys.pop(key, None)
            if seq is None:
                continue
            del self._outbox[seq]
            if not changed:
                _forget(self._outbox_sent, sent_at)
            self._outbox_sent[key] = sent_at
            changed = True
        return None, changed

    def outbox_retry(self, key: str, attempts: int, next_attempt_at: datetime) -> tuple[None, bool]:
        due = utc_text(next_attempt_at)
        seq = self._outbox_keys.get(key)
        if seq is None:
            return None, False
        record = self._outbox[seq]
        record["attempts"], record["next_attempt_at"] = int(attempts), due
        return None, True

    def outbox_drop_chat(self, chat_id: int, now: datetime) -> tuple[int, bool]:
        gone = [record["key"] for record in self._outbox.values() if record["chat_id"] == chat_id]
        self.outbox_sent(gone, now)
        return len(gone), bool(gone)

    # --- queries ----------------------------------------------------------------------------

    def outbox_pending(self, limit: int, chat_id: int | None = None) -> list[OutboxMessage]:
        found: list[OutboxMessage] = []
        for seq in sorted(self._outbox, key=int):  # insertion order is seq order; sorted guards replays
            record = self._outbox[seq]
            if chat_id is None or record["chat_id"] == chat_id:
                found.append(_message(seq, record))
                if len(found) >= limit:
                    break
        return found

    def outbox_depth(self) -> int:
        return len(self._outbox)

    def applied(self, update_ids: Sequence[int]) -> set[int]:
        """The ones among ``update_ids`` whose processing is committed here."""
        return {update_id for update_id in update_ids if str(update_id) in self._applied}



def _forget(remembered: dict[str, int], now_seconds: int) -> None:
    """Drop what is older than RETENTION (checked when the oldest, first inserted, is that old)."""
    cutoff = now_seconds - int(RETENTION.total_seconds())
    if remembered and next(iter(remembered.values())) < cutoff:
        for key in [key for key, at in remembered.items() if at < cutoff]:
            del remembered[key]
