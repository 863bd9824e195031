"""4o Image (kie-openapi /api/v1/gpt4o-image/generate, /api/v1/gpt4o-image/record-info; KIE_API.md §6).

``prompt``, ``size`` 1:1 | 3:2 | 2:3, ``nVariants`` 1 | 2 | 4, ``filesUrl[]`` (up to 5 photos to edit).
Status ``status`` GENERATING | SUCCESS | CREATE_TASK_FAILED | GENERATE_FAILED with ``progress`` "0.00"–"1.00";
result ``response.resultUrls``."""

from __future__ import annotations

from typing import Any

from adapters.kie.envelope import unexpected
from adapters.kie.families.common import Family, dig, fraction_progress, record_of, text, top_level, urls_of
from ports.generation import GenerationRequest, TaskState, TaskStatus

ENDPOINT = "gpt4o/record-info"


def build(request: GenerationRequest) -> dict[str, Any]:
    body = top_level(request.input, ints=("n_variants",))
    body.setdefault("size", "1:1")
    return body


def read(task_id: str, data: Any) -> TaskStatus:
    record = record_of(ENDPOINT, task_id, data)
    task = text(record.get("taskId")) or task_id
    status = str(record.get("status") or "").strip().upper()
    progress = fraction_progress(record.get("progress"))
    if status == "GENERATING":
        return TaskStatus(task, TaskState.GENERATING, progress=progress)
    if status == "SUCCESS":
        urls = urls_of(dig(record, "response", "resultUrls"))
        if not urls:
            raise unexpected(ENDPOINT, "a successful task without response.resultUrls")
        return TaskStatus(task, TaskState.SUCCESS, result_urls=urls, progress=100)
    if status.endswith("_FAILED"):
        return TaskStatus(
            task, TaskState.FAIL, fail_code=text(record.get("errorCode")) or status,
            fail_message=text(record.get("errorMessage")) or status.replace("_", " ").lower(),
        )
    raise unexpected(ENDPOINT, f"unknown status {status[:40]!r}")


FAMILY = Family("gpt4o", "/api/v1/gpt4o-image/generate", "/api/v1/gpt4o-image/record-info", build, read)
