"""Midjourney (KIE_API.md §6: /api/v1/mj/generate, /api/v1/mj/record-info; no longer in KIE's 2026-08 docs, so
the bot offers it only with MJ_ENABLED). The variant is ``taskType`` (mj_txt2img, mj_img2img);
``speed`` relaxed | fast | turbo; status successFlag; result ``resultInfoJson.resultUrls[{resultUrl}]`` (a
grid of 4)."""

from __future__ import annotations

import json
from typing import Any

from adapters.kie.families.common import Family, dig, flag_status, record_of, top_level, urls_of, variant
from ports.generation import GenerationRequest, TaskStatus

ENDPOINT = "mj/record-info"


def build(request: GenerationRequest) -> dict[str, Any]:
    body = top_level(request.input)
    body["taskType"] = variant(request)
    body.setdefault("speed", "fast")
    return body


def read(task_id: str, data: Any) -> TaskStatus:
    record = record_of(ENDPOINT, task_id, data)
    info = record.get("resultInfoJson")
    if isinstance(info, str) and info.strip():
        try:
            info = json.loads(info)
        except json.JSONDecodeError:
            info = None
    return flag_status(ENDPOINT, task_id, record, urls_of(dig(info, "resultUrls")))


def build_follow_up(request: GenerationRequest) -> dict[str, Any]:
    """U1–U4 / V1–V4 on a grid: ``taskId`` of the grid and ``imageIndex``. Upscale counts 0–3
    (docs.kie.ai/mj-api/upscale); vary is sent 1–4 as the catalog says (the 2026-08 reference has no MJ page
    left to confirm it)."""
    return top_level(request.input)


FAMILY = Family("mj", "/api/v1/mj/generate", "/api/v1/mj/record-info", build, read)
UPSCALE = Family("mj_upscale", "/api/v1/mj/generateUpscale", "/api/v1/mj/record-info", build_follow_up, read)
VARY = Family("mj_vary", "/api/v1/mj/generateVary", "/api/v1/mj/record-info", build_follow_up, read)
