"""Veo 3.1's 1080p version of a finished video (kie-openapi GET /api/v1/veo/get-1080p-video?taskId=&index=).

It has no task of its own: the first call starts the work, and the same call answers the file's URL
(``data.resultUrl``) once it is ready, ~1–3 min later. Until then KIE answers a non-200 code ("wait a bit and
retry, every 20–30 s"): a message saying the work is still going on is read as "generating", never as a
failure. Other refusals ("record status is not success", "record is null" for an unknown or expired source,
501) fail the job. The job's task id is made here, unique per job (the jobs table keeps task ids unique):
``<source task id>|1080p|<index>|<job id>``."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from adapters.kie.families.common import dig, text, urls_of
from ports.generation import GatewayError, GenerationRequest, TaskState, TaskStatus, UnknownTaskError

log = logging.getLogger(__name__)

API = "veo_1080p"
Get = Callable[[Mapping[str, str]], Awaitable[Any]]  # one GET of get-1080p-video (the gateway's retries, breaker)
ENDPOINT = "veo/get-1080p-video"
PATH = "/api/v1/veo/get-1080p-video"
_MARK = "1080p"
_STILL_WORKING = ("processing", "not ready", "in progress", "generating", "please wait", "check back")


def task_id_for(request: GenerationRequest) -> str:
    source, index = source_of(request)
    return "|".join((source, _MARK, str(index), request.job_id or uuid.uuid4().hex))


def source_of(request: GenerationRequest) -> tuple[str, int]:
    source = text(request.input.get("task_id") or request.input.get("taskId"))
    if source is None:
        raise UnknownTaskError("a 1080p request needs the source Veo task id (input task_id)")
    try:
        index = int(request.input.get("index", 0) or 0)
    except (TypeError, ValueError):
        index = 0
    return source, index


def parse(task_id: str) -> tuple[str, int]:
    """(source task id, index) of a task id made by ``task_id_for``."""
    parts = task_id.rsplit("|", 3)
    if len(parts) != 4 or parts[1] != _MARK or not parts[2].isdigit():
        raise UnknownTaskError(f"{task_id!r} is not a 1080p task id")
    return parts[0], int(parts[2])


def params(source: str, index: int) -> dict[str, str]:
    return {"taskId": source, "index": str(index)}


def still_working(error: GatewayError) -> bool:
    said = str(error).lower()
    return any(word in said for word in _STILL_WORKING)


def read(task_id: str, data: Any) -> TaskStatus:
    """A 200 answer: the URL when there is one; a 200 without it is read as not ready yet."""
    urls = urls_of(dig(data, "resultUrl")) or urls_of(dig(data, "resultUrls"))
    if urls:
        return TaskStatus(task_id, TaskState.SUCCESS, result_urls=urls, progress=100)
    return TaskStatus(task_id, TaskState.GENERATING)


def answer_to(task_id: str, error: GatewayError) -> TaskStatus:
    """A refusal of the status call: still generating, or the job's failure (a retryable error is raised
    by the caller instead: the next poll tries again)."""
    if still_working(error):
        return TaskStatus(task_id, TaskState.GENERATING)
    return TaskStatus(task_id, TaskState.FAIL, fail_code=error.code, fail_message=str(error))


async def submit(get: Get, request: GenerationRequest) -> str:
    """The first GET starts the work; "still processing" is an accepted start."""
    source, index = source_of(request)
    try:
        await get(params(source, index))
    except GatewayError as error:
        if not still_working(error):
            raise
    log.info("KIE_SUBMIT job=%s api=%s source=%s", request.job_id or "-", API, source)
    return task_id_for(request)


async def status(get: Get, task_id: str) -> TaskStatus:
    source, index = parse(task_id)
    try:
        data = await get(params(source, index))
    except GatewayError as error:
        if error.retryable and not still_working(error):
            raise
        return answer_to(task_id, error)
    return read(task_id, data)
