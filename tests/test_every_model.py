"""Every enabled model of the shipped catalog, end to end through the simulator's driver on the fake generator:
model card → inputs → confirmation with its price → launch → delivered (issue 18)."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.catalog.catalog_files import load_catalog_files
from adapters.kie.fake_server import FakeKieServer
from adapters.kie.fake_server.catalog_rules import rules_from_catalog
from adapters.system.clock import VirtualClock
from core.i18n import Fmt
from core.money import currency_for
from tests.catalog_walk import walk
from tests.harness import running_bot

CATALOG = load_catalog_files(Path(__file__).parents[1] / "catalog" / "models.yaml")  # with families.yaml
# MJ is behind MJ_ENABLED; follow-ups are reached from a result, not a menu (tests/test_follow_ups*.py run them)
ENABLED = [model for model in CATALOG.models if model.enabled and model.api != "mj" and model.source_input is None]
RU = Fmt("ru", currency_for("RUB"))
BATCHES = 4  # a few bots, each walking a quarter of the catalog


@pytest.mark.parametrize("batch", range(BATCHES))
async def test_every_enabled_model_runs_end_to_end_on_the_fake_generator(tmp_path, batch):
    async with running_bot(tmp_path, balance="10000000") as bot:
        for model in ENABLED[batch::BATCHES]:
            await walk(bot, model, RU)


def sample_per_billing_unit() -> list:
    """The first enabled market model of every billing unit, and of every output kind, in catalog order (the
    dedicated families have their own HTTP tests: tests/test_kie_families_http.py)."""
    chosen: dict[str, object] = {}
    for model in [m for m in ENABLED if m.api == "market"]:
        chosen.setdefault(f"unit:{model.billing_unit}", model)
        chosen.setdefault(f"output:{model.output.value}", model)
    return list({model.id: model for model in chosen.values()}.values())


async def test_a_sample_of_every_billing_unit_runs_over_http_against_the_fake_kie_server(tmp_path):
    clock = VirtualClock()
    sample = sample_per_billing_unit()
    assert {m.billing_unit for m in sample} == {m.billing_unit for m in ENABLED if m.api == "market"}
    rules = rules_from_catalog(CATALOG)
    async with FakeKieServer(clock=clock, files_dir=tmp_path / "kie", models=rules) as kie, running_bot(
        tmp_path, balance="10000000", clock=clock, KIE_API_KEY=kie.api_key, KIE_API_BASE_URL=kie.api_base_url,
        KIE_UPLOAD_BASE_URL=kie.upload_base_url,
    ) as bot:  # fmt: skip
        assert bot.app.settings.KIE_MODE == "real"
        for model in sample:
            await walk(bot, model, RU)
        created = [r for r in kie.requests if r.endpoint == "createTask"]
        assert [r.body["model"] for r in created] == [m.id for m in sample]
