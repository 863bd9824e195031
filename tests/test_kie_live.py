"""An opt-in check against the real KIE API: runs the cheapest text-only model of the catalog once and
prints what it cost. Skipped unless KIE_API_KEY is set and KIE_LIVE=1 (it spends real credits):

    KIE_LIVE=1 KIE_API_KEY=... pytest tests/test_kie_live.py -s
"""

from __future__ import annotations

import asyncio
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from adapters.catalog.yaml_catalog import load_catalog
from adapters.kie.http_gateway import KieHttpGateway
from adapters.system.clock import SystemClock
from core.drafts import build_input
from core.pricing import credits_for, default_options
from ports.generation import GenerationRequest, TaskState
from ports.storage import Draft

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    not (os.environ.get("KIE_API_KEY") and os.environ.get("KIE_LIVE") == "1"),
    reason="live KIE check: set KIE_API_KEY and KIE_LIVE=1 (spends real credits)",
)


def cheapest_text_model():
    catalog = load_catalog(ROOT / "catalog" / "models.yaml")
    candidates = [m for m in catalog.models if m.enabled and not m.media_inputs and m.prompt is not None]
    return min(candidates, key=lambda m: credits_for(m, default_options(m)))


async def test_the_cheapest_model_runs_once_on_real_kie():
    model = cheapest_text_model()
    draft = Draft("live", 0, 0, model.id, datetime.now(timezone.utc), prompt="a red apple on a wooden table")
    async with KieHttpGateway(
        os.environ.get("KIE_API_BASE_URL", "https://api.kie.ai"),
        os.environ.get("KIE_UPLOAD_BASE_URL", "https://kieai.redpandaai.co"),
        os.environ["KIE_API_KEY"], clock=SystemClock(),
    ) as gateway:
        before = await gateway.credits()
        task_id = await gateway.submit(GenerationRequest(model.id, build_input(model, draft)))
        async with asyncio.timeout(600):
            while not (status := await gateway.status(task_id)).state.terminal:
                await asyncio.sleep(3)
        after = await gateway.credits()
    print(f"\n{model.id}: task {task_id} {status.state.value}; cost {before - after} credits "
          f"(catalog says {credits_for(model, default_options(model))}); results {status.result_urls}")
    assert status.state is TaskState.SUCCESS and status.result_urls
