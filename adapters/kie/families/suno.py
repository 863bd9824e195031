"""Suno music (kie-openapi /api/v1/generate, /api/v1/generate/record-info; KIE_API.md §6).

Simple mode: ``prompt`` is a description (≤ 500 characters) and Suno writes the lyrics. Custom mode
(``custom_mode: true``): ``prompt`` is the lyrics, ``style`` and ``title`` are required; a missing title is
taken from the first line of the lyrics. ``model`` (V5_5, V5, V4_5PLUS, …) is the variant; ``callBackUrl``
is mandatory. Status: PENDING → TEXT_SUCCESS (lyrics) → FIRST_SUCCESS (first track) → SUCCESS (both tracks,
``response.sunoData[]``); stages may be skipped. An unknown task id is answered with code 200 and
``data: null``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.kie.envelope import unexpected
from adapters.kie.families.common import Family, dig, record_of, text, top_level, variant
from ports.generation import GenerationRequest, Stage, TaskState, TaskStatus

ENDPOINT = "suno/record-info"
TITLE_LIMIT = 80
RUNNING = {
    "PENDING": (TaskState.WAITING, None),
    "TEXT_SUCCESS": (TaskState.GENERATING, Stage.LYRICS),
    "FIRST_SUCCESS": (TaskState.GENERATING, Stage.FIRST_TRACK),
}
FAILED = frozenset({"CREATE_TASK_FAILED", "GENERATE_AUDIO_FAILED", "CALLBACK_EXCEPTION", "SENSITIVE_WORD_ERROR"})


def build(request: GenerationRequest) -> dict[str, Any]:
    body = top_level(request.input)
    body["model"] = variant(request)
    body.setdefault("customMode", False)
    body.setdefault("instrumental", False)
    if body["customMode"]:
        if not text(body.get("title")):
            first_line = next((line.strip() for line in str(body.get("prompt") or "").splitlines() if line.strip()), "")
            body["title"] = (first_line or str(body.get("style") or "Song"))[:TITLE_LIMIT]
        if body["instrumental"]:
            body.pop("vocalGender", None)
    else:
        for custom_only in ("style", "title", "vocalGender"):  # ignored outside custom mode: not sent
            body.pop(custom_only, None)
    return body


def tracks(record: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(audio URLs, titles) of ``response.sunoData[]``; a track without ``audioUrl`` is not ready."""
    urls: list[str] = []
    titles: list[str] = []
    items = dig(record, "response", "sunoData")
    for item in items if isinstance(items, list) else []:
        if isinstance(item, Mapping) and isinstance(item.get("audioUrl"), str) and item["audioUrl"]:
            urls.append(item["audioUrl"])
            titles.append(text(item.get("title")) or "")
    return tuple(urls), tuple(titles)


def read(task_id: str, data: Any) -> TaskStatus:
    record = record_of(ENDPOINT, task_id, data)
    task = text(record.get("taskId")) or task_id
    status = str(record.get("status") or "").strip().upper()
    urls, titles = tracks(record)
    if status in RUNNING:
        state, stage = RUNNING[status]
        return TaskStatus(task, state, stage=stage)
    # CALLBACK_EXCEPTION only says KIE could not deliver its callback: with the tracks present the song exists.
    if status == "SUCCESS" or (status == "CALLBACK_EXCEPTION" and urls):
        if not urls:
            raise unexpected(ENDPOINT, "a successful task without sunoData audio URLs")
        return TaskStatus(task, TaskState.SUCCESS, result_urls=urls, result_titles=titles, progress=100)
    if status in FAILED:
        return TaskStatus(
            task, TaskState.FAIL, fail_code=text(record.get("errorCode")) or status,
            fail_message=text(record.get("errorMessage")) or status.replace("_", " ").lower(),
        )
    raise unexpected(ENDPOINT, f"unknown status {status[:40]!r}")


FAMILY = Family("suno", "/api/v1/generate", "/api/v1/generate/record-info", build, read, callback_required=True)
