"""The market API (KIE_API.md §3): {model, input} to /api/v1/jobs/createTask, state in recordInfo."""

from __future__ import annotations

from typing import Any

from adapters.kie import envelope
from adapters.kie.families.common import Family
from ports.generation import GenerationRequest


def build(request: GenerationRequest) -> dict[str, Any]:
    return {"model": request.model, "input": dict(request.input)}


FAMILY = Family("market", "/api/v1/jobs/createTask", "/api/v1/jobs/recordInfo", build, envelope.status_of)
