"""Veo 3.1 (kie-openapi /api/v1/veo/generate, /api/v1/veo/record-info; KIE_API.md §6).

``model`` picks the variant (veo3 = Quality, veo3_fast, veo3_lite). The mode follows the photos unless the
catalog fixes ``generation_type``: none → TEXT_2_VIDEO, 1–2 → FIRST_AND_LAST_FRAMES_2_VIDEO (one frame, or
first + last), 3 → REFERENCE_2_VIDEO (Fast and Lite only, 8 s only). The 3.1 page spells ``aspect_ratio``
in snake_case; the rest is camelCase. Status: successFlag; result ``response.resultUrls``."""

from __future__ import annotations

from typing import Any

from adapters.kie.families.common import Family, dig, flag_status, record_of, top_level, urls_of, variant
from ports.generation import GatewayRejectedError, GenerationRequest, TaskStatus

ENDPOINT = "veo/record-info"
TEXT = "TEXT_2_VIDEO"
FRAMES = "FIRST_AND_LAST_FRAMES_2_VIDEO"
REFERENCE = "REFERENCE_2_VIDEO"
REFERENCE_VARIANTS = frozenset({"veo3_fast", "veo3_lite"})


def generation_type(images: list[Any], model: str) -> str:
    if not images:
        return TEXT
    if len(images) <= 2:
        return FRAMES
    if len(images) == 3 and model in REFERENCE_VARIANTS:
        return REFERENCE
    raise GatewayRejectedError(f"Veo {model} takes 1–2 frames" + (" or 3 references" if model in REFERENCE_VARIANTS else ""))


def build(request: GenerationRequest) -> dict[str, Any]:
    body = top_level(request.input, keep=("aspect_ratio",), ints=("duration",))
    model = variant(request)
    images = list(body.get("imageUrls") or [])
    body["model"] = model
    body.setdefault("generationType", generation_type(images, model))
    if body["generationType"] == REFERENCE:
        body["duration"] = 8  # the only duration REFERENCE_2_VIDEO takes
    return body


def read(task_id: str, data: Any) -> TaskStatus:
    record = record_of(ENDPOINT, task_id, data)
    return flag_status(ENDPOINT, task_id, record, urls_of(dig(record, "response", "resultUrls")))


def build_extend(request: GenerationRequest) -> dict[str, Any]:
    """POST /api/v1/veo/extend: ``taskId`` of the source video, ``prompt``, ``model`` fast | quality (the
    catalog id's variant: veo_extend/fast). The new task is read at veo/record-info like any Veo task."""
    body = top_level(request.input)
    body["model"] = variant(request)
    return body


FAMILY = Family("veo", "/api/v1/veo/generate", "/api/v1/veo/record-info", build, read)
EXTEND = Family("veo_extend", "/api/v1/veo/extend", "/api/v1/veo/record-info", build_extend, read)
