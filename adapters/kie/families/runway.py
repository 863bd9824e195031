"""Runway (kie-openapi /api/v1/runway/generate, /api/v1/runway/record-detail; KIE_API.md §6).

``duration`` 5 | 10 and ``quality`` 720p | 1080p, but 1080p only at 5 s: a 10 s request asking 1080p is sent
as 720p (the catalog prices 10 s at the 720p/10 s rate). ``aspectRatio`` only without ``imageUrl``; no
watermark (``waterMark: ""``). Status ``state`` wait | queueing | generating | success | fail; result
``videoInfo.videoUrl``."""

from __future__ import annotations

from typing import Any

from adapters.kie.envelope import unexpected
from adapters.kie.families.common import Family, dig, fraction_progress, record_of, text, top_level, urls_of
from ports.generation import GenerationRequest, TaskState, TaskStatus

ENDPOINT = "runway/record-info"
STATES = {
    "wait": TaskState.WAITING,
    "queueing": TaskState.QUEUING,
    "generating": TaskState.GENERATING,
    "success": TaskState.SUCCESS,
    "fail": TaskState.FAIL,
}


def build(request: GenerationRequest) -> dict[str, Any]:
    body = top_level(request.input, ints=("duration",))
    body.setdefault("duration", 5)
    body.setdefault("quality", "720p")
    if int(body["duration"]) != 5 and body["quality"] == "1080p":
        body["quality"] = "720p"
    if body.get("imageUrl"):
        body.pop("aspectRatio", None)
    body.setdefault("waterMark", "")
    return body


def read(task_id: str, data: Any) -> TaskStatus:
    record = record_of(ENDPOINT, task_id, data)
    task = text(record.get("taskId")) or task_id
    state = STATES.get(str(record.get("state") or "").strip().lower())
    if state is None:
        raise unexpected(ENDPOINT, f"unknown state {str(record.get('state'))[:40]!r}")
    if state is TaskState.FAIL:
        return TaskStatus(
            task, state, fail_code=text(record.get("failCode")) or "fail",
            fail_message=text(record.get("failMsg")) or "generation failed",
        )
    if state is TaskState.SUCCESS:
        urls = urls_of(dig(record, "videoInfo", "videoUrl"))
        if not urls:
            raise unexpected(ENDPOINT, "a successful task without videoInfo.videoUrl")
        return TaskStatus(task, state, result_urls=urls, progress=100)
    return TaskStatus(task, state, progress=fraction_progress(record.get("progress")))


FAMILY = Family("runway", "/api/v1/runway/generate", "/api/v1/runway/record-detail", build, read)
