"""Rows <-> port entities, and the argument checks every role shares.

Entities are validated with the JSON storage's converter (adapters/storage/entity_codec.py) before anything
is sent, so both implementations refuse the same values with the same TypeError/ValueError: exact scalar
types, timezone-aware datetimes, JSON data only in free-form mappings. JSONB columns are sent as JSON text
and parsed on the way out, so every entity returned is a fresh copy a caller may change freely.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from adapters.storage.entity_codec import encode, encode_field, utc_text
from ports.storage import Draft, InboxUpdate, Job, JobState, LedgerEntry, User

USER_COLUMNS = (
    "id, created_at, language, language_code, username, first_name, active_draft_id, blocked, last_seen_at, banned"
)
ENTRY_COLUMNS = "key, user_id, amount, balance_after, reason, created_at"
DRAFT_COLUMNS = "id, user_id, chat_id, model_id, created_at, media, prompt, options, message_id, source_job_id"
JOB_COLUMNS = (
    "id, user_id, chat_id, model_id, input, price, state, created_at, updated_at, deadline_at, language, options, "
    "progress_message_id, task_id, result_urls, result_text, error, error_message, cid, free, cost_credits, "
    "source_job_id"
)
UPDATE_COLUMNS = "update_id, payload, received_at, chat_id, cid"

Row = Mapping[str, Any]


# --- arguments ----------------------------------------------------------------------------------


def positive(amount: int) -> int:
    if type(amount) is not int:
        raise TypeError(f"an amount must be an int of the smallest unit, got {type(amount).__name__}")
    if amount <= 0:
        raise ValueError(f"an amount must be > 0, got {amount}")
    return amount


def count(value: int) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(f"expected an int >= 0, got {value!r}")
    return value


def idempotency_key(key: str) -> str:
    if not isinstance(key, str) or not key:
        raise ValueError(f"an idempotency key must be a non-empty string, got {key!r}")
    return key


def validated(entity: Any) -> dict[str, Any]:
    """The JSON-ready form of a port entity; TypeError/ValueError for a value the JSON storage refuses too."""
    return encode(entity)


def validated_field(cls: type, name: str, value: Any) -> Any:
    return encode_field(cls, name, value)


def user_id(value: int) -> int:
    return encode_field(User, "id", value)  # an exact int (a bool is refused)


def aware(moment: datetime) -> datetime:
    utc_text(moment)  # TypeError for a non-datetime, ValueError for a naive one
    return moment


def dump(value: Any) -> str:
    """JSON text for a JSONB parameter (already validated as JSON data by ``encode``)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


# --- rows ---------------------------------------------------------------------------------------


def user(row: Row) -> User:
    return User(
        id=row["id"],
        created_at=utc(row["created_at"]),
        language=row["language"],
        language_code=row["language_code"],
        username=row["username"],
        first_name=row["first_name"],
        active_draft_id=row["active_draft_id"],
        blocked=row["blocked"],
        last_seen_at=utc_or_none(row["last_seen_at"]),
        banned=row["banned"],
    )


def entry(row: Row) -> LedgerEntry:
    return LedgerEntry(
        key=row["key"],
        user_id=row["user_id"],
        amount=row["amount"],
        balance_after=row["balance_after"],
        reason=row["reason"],
        created_at=utc(row["created_at"]),
    )


def draft(row: Row) -> Draft:
    media = json.loads(row["media"])
    return Draft(
        id=row["id"],
        user_id=row["user_id"],
        chat_id=row["chat_id"],
        model_id=row["model_id"],
        created_at=utc(row["created_at"]),
        media={name: tuple(urls) for name, urls in media.items()},
        prompt=row["prompt"],
        options=json.loads(row["options"]),
        message_id=row["message_id"],
        source_job_id=row["source_job_id"],
    )


def job(row: Row) -> Job:
    return Job(
        id=row["id"],
        user_id=row["user_id"],
        chat_id=row["chat_id"],
        model_id=row["model_id"],
        input=json.loads(row["input"]),
        price=row["price"],
        state=JobState(row["state"]),
        created_at=utc(row["created_at"]),
        updated_at=utc(row["updated_at"]),
        deadline_at=utc(row["deadline_at"]),
        language=row["language"],
        options=json.loads(row["options"]),
        progress_message_id=row["progress_message_id"],
        task_id=row["task_id"],
        result_urls=tuple(row["result_urls"]),
        result_text=row["result_text"],
        error=row["error"],
        error_message=row["error_message"],
        cid=row["cid"],
        free=row["free"],
        cost_credits=row["cost_credits"],
        source_job_id=row["source_job_id"],
    )


def update(row: Row) -> InboxUpdate:
    return InboxUpdate(
        update_id=row["update_id"],
        payload=json.loads(row["payload"]),
        received_at=utc(row["received_at"]),
        chat_id=row["chat_id"],
        cid=row["cid"],
    )


def utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc)  # asyncpg already returns UTC; this states it


def utc_or_none(moment: datetime | None) -> datetime | None:
    return None if moment is None else utc(moment)
