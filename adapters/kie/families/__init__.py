"""KIE's API families (KIE_API.md §6, kie-openapi-2026-08.yaml): per family, how a request body is built, which
endpoints create and read a task, and how the family's status answer maps onto ``TaskStatus``. One small
module per family; ``http_gateway`` only dispatches on ``GenerationRequest.api``."""

from __future__ import annotations

from adapters.kie.families import aleph, gpt4o, kontext, market, mj, runway, suno, suno_follow_ups, veo
from adapters.kie.families.common import UNREACHABLE_CALLBACK, Family

FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (market.FAMILY, veo.FAMILY, suno.FAMILY, runway.FAMILY, aleph.FAMILY, kontext.FAMILY,
                   gpt4o.FAMILY, mj.FAMILY, veo.EXTEND,
                   suno_follow_ups.WAV, suno_follow_ups.EXTEND, mj.UPSCALE, mj.VARY)
}
STATUS_ENDPOINTS = frozenset(family.status_endpoint for family in FAMILIES.values())


def family_of(api: str) -> Family:
    family = FAMILIES.get(api)
    if family is None:
        raise ValueError(f"unknown KIE API family {api!r}; one of {sorted(FAMILIES)}")
    return family


__all__ = ["FAMILIES", "STATUS_ENDPOINTS", "UNREACHABLE_CALLBACK", "Family", "family_of"]
