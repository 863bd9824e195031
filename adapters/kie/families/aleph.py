"""Runway Aleph video-to-video (kie-openapi /api/v1/aleph/generate, /api/v1/aleph/record-info).

``prompt`` + ``videoUrl`` (+ optional ``aspectRatio``, ``referenceImage``). Status: successFlag; result
``response.resultVideoUrl``."""

from __future__ import annotations

from typing import Any

from adapters.kie.families.common import Family, dig, flag_status, record_of, top_level, urls_of
from ports.generation import GenerationRequest, TaskStatus

ENDPOINT = "aleph/record-info"


def build(request: GenerationRequest) -> dict[str, Any]:
    body = top_level(request.input)
    body.setdefault("waterMark", "")
    return body


def read(task_id: str, data: Any) -> TaskStatus:
    record = record_of(ENDPOINT, task_id, data)
    return flag_status(ENDPOINT, task_id, record, urls_of(dig(record, "response", "resultVideoUrl")))


FAMILY = Family("aleph", "/api/v1/aleph/generate", "/api/v1/aleph/record-info", build, read)
