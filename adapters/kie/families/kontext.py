"""Flux Kontext (kie-openapi /api/v1/flux/kontext/generate, /api/v1/flux/kontext/record-info).

``model`` flux-kontext-pro | flux-kontext-max; text-to-image, or an edit when ``inputImage`` is sent. The
prompt must be English, so ``enableTranslation`` defaults to true. Status: successFlag; result
``response.resultImageUrl`` (``originImageUrl`` lives only 10 minutes and is not used)."""

from __future__ import annotations

from typing import Any

from adapters.kie.families.common import Family, dig, flag_status, record_of, top_level, urls_of, variant
from ports.generation import GenerationRequest, TaskStatus

ENDPOINT = "kontext/record-info"


def build(request: GenerationRequest) -> dict[str, Any]:
    body = top_level(request.input)
    body["model"] = variant(request)
    body.setdefault("enableTranslation", True)
    return body


def read(task_id: str, data: Any) -> TaskStatus:
    record = record_of(ENDPOINT, task_id, data)
    return flag_status(ENDPOINT, task_id, record, urls_of(dig(record, "response", "resultImageUrl")))


FAMILY = Family("kontext", "/api/v1/flux/kontext/generate", "/api/v1/flux/kontext/record-info", build, read)
