"""The shipped model catalog (catalog/models.yaml) and the YAML catalog adapter's error messages."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.catalog.yaml_catalog import load_catalog, parse_catalog
from core.money import currency_for
from core.pricing import PriceSettings, default_options, option_combinations, price_for
from ports.catalog import Catalog, CatalogError, InputKind

CATALOG_PATH = Path(__file__).parents[1] / "catalog" / "models.yaml"
RUB = PriceSettings(currency=currency_for("RUB"))  # 0.005 USD per credit, 100 RUB per USD, markup 2

DEAD_IDS = [
    "google/veo-3",
    "google/veo-3.1",
    "openai/4o-image",
    "flux/kontext",
    "runway/gen-4",
    "suno/v5",
    "midjourney/api",
    "grok/imagine",
    "kling/v2-5-turbo",
    "hailuo/2.3",
    "google/nanobanana-gemini-2.5-flash",
    "elevenlabs/sound-effect",
    "elevenlabs/text-to-speech",
]
MASKED_EDIT_IDS = ["ideogram/v3-edit", "ideogram/character-edit"]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(CATALOG_PATH)


def all_inputs(catalog: Catalog):
    return [(model, spec) for model in catalog.models for spec in model.inputs]


def inputs_where(catalog: Catalog, wanted) -> list:
    """The (model, input) pairs a check is about; never empty, so the check cannot pass by checking nothing."""
    found = [(model, spec) for model, spec in all_inputs(catalog) if wanted(spec)]
    assert found, "the catalog has no such input: the check below would check nothing"
    return found


# ---------------------------------------------------------------------------------------------------
# The shipped catalog


def test_the_shipped_catalog_loads(catalog: Catalog) -> None:
    assert catalog.models


def test_it_offers_at_least_110_enabled_models(catalog: Catalog) -> None:
    assert len([m for m in catalog.models if m.enabled]) >= 110


def test_the_four_categories_come_in_menu_order(catalog: Catalog) -> None:
    assert [c.id for c in catalog.categories] == ["image", "video", "audio", "tools"]
    assert catalog.category("tools").names == {"ru": "🛠 Инструменты", "en": "🛠 Tools"}


@pytest.mark.parametrize("category_id", ["image", "video", "audio", "tools"])
def test_every_category_has_enabled_models(catalog: Catalog, category_id: str) -> None:
    assert catalog.in_category(category_id)


def test_model_ids_are_unique(catalog: Catalog) -> None:
    ids = [m.id for m in catalog.models]
    assert len(ids) == len(set(ids))


def test_every_model_belongs_to_a_known_category(catalog: Catalog) -> None:
    known = {c.id for c in catalog.categories}
    assert {m.category for m in catalog.models} <= known


@pytest.mark.parametrize("model_id", DEAD_IDS)
def test_known_dead_or_non_market_ids_are_absent(catalog: Catalog, model_id: str) -> None:
    assert catalog.model(model_id) is None


@pytest.mark.parametrize("model_id", MASKED_EDIT_IDS)
def test_models_that_need_a_drawn_mask_are_absent(catalog: Catalog, model_id: str) -> None:
    assert catalog.model(model_id) is None


def test_every_model_has_ru_and_en_names_and_one_line_descriptions(catalog: Catalog) -> None:
    for model in catalog.models:
        for language in ("ru", "en"):
            assert model.names[language].strip(), model.id
            assert 0 < len(model.descriptions[language]) <= 120, model.id
            assert "\n" not in model.descriptions[language], model.id


def test_every_enum_has_a_default_among_its_values(catalog: Catalog) -> None:
    for model, spec in inputs_where(catalog, lambda spec: spec.kind is InputKind.ENUM):
        assert spec.values and all(isinstance(v, str) for v in spec.values), (model.id, spec.name)
        assert spec.default in spec.values, (model.id, spec.name)


def test_every_bool_has_a_true_or_false_default(catalog: Catalog) -> None:
    for model, spec in inputs_where(catalog, lambda spec: spec.kind is InputKind.BOOL):
        assert isinstance(spec.default, bool), (model.id, spec.name)


def test_every_offered_number_has_presets_within_its_range_including_the_default(catalog: Catalog) -> None:
    numbers = inputs_where(catalog, lambda spec: spec.kind in (InputKind.NUMBER, InputKind.INTEGER))
    assert any(not spec.fixed for _, spec in numbers), "no offered number: the preset check would check nothing"
    for model, spec in numbers:
        assert spec.minimum <= spec.default <= spec.maximum, (model.id, spec.name)
        if not spec.fixed:
            assert 3 <= len(spec.values) <= 5 and spec.default in spec.values, (model.id, spec.name)
            assert all(spec.minimum <= v <= spec.maximum for v in spec.values), (model.id, spec.name)


def test_every_model_has_at_most_one_prompt_and_it_has_a_max_length(catalog: Catalog) -> None:
    for model in catalog.models:
        prompts = [spec for spec in model.inputs if spec.kind is InputKind.PROMPT]
        assert len(prompts) <= 1, model.id
        if prompts:
            assert prompts[0].max_length and prompts[0].max_length > 0, model.id


def test_media_inputs_take_a_sensible_number_of_files(catalog: Catalog) -> None:
    for model, spec in inputs_where(catalog, lambda spec: spec.is_media):
        assert 0 <= spec.min_items <= spec.max_items, (model.id, spec.name)
        assert spec.multiple or spec.max_items == 1, (model.id, spec.name)
        assert spec.required == (spec.min_items >= 1), (model.id, spec.name)


def test_every_model_needs_something_from_the_user(catalog: Catalog) -> None:
    for model in catalog.models:
        assert model.prompt is not None or model.media_inputs, model.id


def test_the_safety_checker_is_always_sent_as_true_and_never_offered(catalog: Catalog) -> None:
    for model, spec in inputs_where(catalog, lambda spec: spec.name == "enable_safety_checker"):
        assert spec.fixed and spec.default is True, model.id


def test_only_z_image_is_free(catalog: Catalog) -> None:
    assert [m.id for m in catalog.models if m.free] == ["z-image"]


def test_credits_are_exact_decimals(catalog: Catalog) -> None:
    for model in catalog.models:
        assert all(isinstance(rule.credits, Decimal) for rule in model.prices), model.id


def test_quantity_fields_name_an_offered_option(catalog: Catalog) -> None:
    with_quantity = [model for model in catalog.models if model.quantity_field]
    assert with_quantity, "no model has a quantity field: the check would check nothing"
    for model in with_quantity:
        spec = model.input(model.quantity_field)
        assert spec is not None and spec.is_option, model.id


def test_per_request_imagen_models_do_not_multiply_by_the_number_of_images(catalog: Catalog) -> None:
    for model_id in ("google/imagen4", "google/imagen4-fast"):
        assert catalog.model(model_id).quantity_field is None


def test_every_model_prices_its_default_options(catalog: Catalog) -> None:
    for model in [m for m in catalog.models if m.enabled]:  # a disabled one may await its price
        assert price_for(model, default_options(model), RUB) > 0, model.id


def test_every_price_affecting_combination_has_a_price(catalog: Catalog) -> None:
    for model in [m for m in catalog.models if m.enabled]:
        for options in option_combinations(model):
            assert price_for(model, options, RUB) > 0, (model.id, options)


def test_a_sound_option_is_priced_both_with_and_without_sound(catalog: Catalog) -> None:
    model = catalog.model("kling-2.6/image-to-video")
    combos = option_combinations(model)
    assert {(c["sound"], c["duration"]) for c in combos} == {(False, "5"), (False, "10"), (True, "5"), (True, "10")}


@pytest.mark.parametrize(
    ("model_id", "changes", "minor_units"),
    [
        ("z-image", {}, 80),  # 0.8 credits x 0.005 USD x 100 RUB x 2 = 0.80 RUB
        ("google/nano-banana", {}, 400),
        ("nano-banana-pro", {"resolution": "4K"}, 2400),
        ("kling-2.6/image-to-video", {"sound": True, "duration": "10"}, 22000),  # the gap filled from TRT
        ("hailuo/02-image-to-video-standard", {"duration": "6", "resolution": "768P"}, 3000),  # the gap filled
        ("google/imagen4", {"num_images": "4"}, 800),  # per request
        ("google/imagen4-ultra", {}, 1200),
        ("ideogram/v3-text-to-image", {"rendering_speed": "QUALITY"}, 1000),  # KIE documents no num_images here
        ("bytedance/seedream-v4-text-to-image", {"max_images": 6}, 3000),  # 5 x 6
        ("elevenlabs/speech-to-text", {}, 1750),  # 3.5 per minute x 5 minutes
        ("infinitalk/from-audio", {"resolution": "720p"}, 18000),  # 12 per second x 15 s
        ("sora-watermark-remover", {}, 1570),
        ("recraft/crisp-upscale", {}, 50),
    ],
)
def test_a_few_concrete_prices_in_rubles(catalog: Catalog, model_id: str, changes: dict, minor_units: int) -> None:
    model = catalog.model(model_id)
    assert price_for(model, {**default_options(model), **changes}, RUB) == minor_units


# ---------------------------------------------------------------------------------------------------
# Error messages of the loader


def valid_document() -> dict[str, Any]:
    return {
        "categories": [{"id": "video", "names": {"ru": "Видео", "en": "Video"}, "order": 1}],
        "models": [
            {
                "id": "test/model",
                "category": "video",
                "names": {"ru": "Тест", "en": "Test"},
                "descriptions": {"ru": "Видео по описанию", "en": "Video from a description"},
                "output": "video",
                "billing": {"unit": "video", "units": 1},
                "enabled": True,
                "price_source": "https://kie.ai/pricing",
                "inputs": [
                    {"name": "prompt", "kind": "prompt", "required": True, "max_length": 500},
                    {"name": "duration", "kind": "enum", "values": ["5", "10"], "default": "5"},
                    {"name": "sound", "kind": "bool", "default": False},
                ],
                "prices": [
                    {"when": {"duration": "5"}, "credits": 10},
                    {"when": {"duration": "10"}, "credits": "20.5"},
                ],
            }
        ],
    }


def write(tmp_path: Path, document: dict[str, Any] | str) -> Path:
    path = tmp_path / "models.yaml"
    text = document if isinstance(document, str) else yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, document: dict[str, Any] | str) -> str:
    path = write(tmp_path, document)
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    return message


def broken(change) -> dict[str, Any]:
    document = copy.deepcopy(valid_document())
    change(document["models"][0])
    return document


def test_the_small_valid_document_loads_with_decimal_credits(tmp_path: Path) -> None:
    model = load_catalog(write(tmp_path, valid_document())).model("test/model")
    assert [rule.credits for rule in model.prices] == [Decimal("10"), Decimal("20.5")]
    assert model.input("sound").values == (False, True)


def test_a_bad_enum_default_names_the_model_the_field_and_the_allowed_values(tmp_path: Path) -> None:
    path = write(tmp_path, broken(lambda m: m["inputs"][1].update(default="7")))
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    assert str(caught.value) == f"{path}: model 'test/model': inputs[1].default: '7' is not one of ['5', '10']"


def test_an_enum_without_a_default_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, broken(lambda m: m["inputs"][1].pop("default")))
    assert "model 'test/model': inputs[1].default: every enum needs a default" in message


def test_a_bool_without_a_default_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, broken(lambda m: m["inputs"][2].pop("default")))
    assert "model 'test/model': inputs[2].default: every bool needs a default" in message


def test_an_unknown_key_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, broken(lambda m: m["inputs"][1].update(colour="red")))
    assert "model 'test/model': inputs[1]: unknown key 'colour'" in message


def test_an_unknown_model_key_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, broken(lambda m: m.update(price=5)))
    assert "model 'test/model': unknown key 'price'" in message


def test_a_missing_english_name_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, broken(lambda m: m["names"].pop("en")))
    assert "model 'test/model': names.en: missing" in message


def test_a_too_long_description_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, broken(lambda m: m["descriptions"].update(ru="д" * 121)))
    assert "model 'test/model': descriptions.ru: 121 characters, at most 120" in message


def test_a_price_rule_naming_an_unknown_option_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, broken(lambda m: m["prices"][0]["when"].update(speed="fast")))
    assert "model 'test/model': prices[0].when.speed: 'speed' is not an input of this model" in message


def test_a_price_rule_with_an_impossible_value_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, broken(lambda m: m["prices"][1]["when"].update(duration="15")))
    assert "model 'test/model': prices[1].when.duration: '15' is not one of ['5', '10']" in message


def test_a_price_rule_on_a_bool_needs_true_or_false(tmp_path: Path) -> None:
    message = load_error(tmp_path, broken(lambda m: m["prices"][0]["when"].update(sound="yes")))
    assert "model 'test/model': prices[0].when.sound: 'yes' must be true or false" in message


def test_an_uncovered_price_combination_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, broken(lambda m: m["prices"].pop(1)))
    assert "model 'test/model': prices: no rule matches duration='10'" in message


def test_a_price_that_depends_on_sound_must_cover_both_sound_values(tmp_path: Path) -> None:
    message = load_error(tmp_path, broken(lambda m: m["prices"][1]["when"].update(sound=True)))
    assert "model 'test/model': prices: no rule matches duration='10', sound=False" in message


def test_two_equally_specific_rules_with_different_credits_are_refused(tmp_path: Path) -> None:
    def change(model: dict[str, Any]) -> None:
        model["prices"].append({"when": {"sound": False}, "credits": 99})

    message = load_error(tmp_path, broken(change))
    assert "model 'test/model': prices: prices[0] and prices[2] both match" in message


def test_an_unknown_category_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, broken(lambda m: m.update(category="music")))
    assert "model 'test/model': category: 'music' is not one of ['video']" in message


def test_a_second_prompt_is_refused(tmp_path: Path) -> None:
    lyrics = {"name": "lyrics", "kind": "prompt", "max_length": 9}
    message = load_error(tmp_path, broken(lambda m: m["inputs"].append(lyrics)))
    assert "model 'test/model': inputs[3].kind: a model has at most one prompt input" in message


def test_a_prompt_without_max_length_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, broken(lambda m: m["inputs"][0].pop("max_length")))
    assert "model 'test/model': inputs[0].max_length: missing" in message


def test_an_unknown_input_kind_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, broken(lambda m: m["inputs"][1].update(kind="choice")))
    assert "model 'test/model': inputs[1].kind: 'choice' is not one of" in message


def test_a_quantity_field_must_name_an_existing_option(tmp_path: Path) -> None:
    message = load_error(tmp_path, broken(lambda m: m.update(quantity_field="num_images")))
    assert "model 'test/model': quantity_field: 'num_images' is not an input of this model" in message


def test_a_number_default_outside_its_range_is_refused(tmp_path: Path) -> None:
    steps = {"name": "steps", "kind": "integer", "minimum": 2, "maximum": 49, "default": 50, "fixed": True}
    message = load_error(tmp_path, broken(lambda m: m["inputs"].append(steps)))
    assert "model 'test/model': inputs[3].default: 50 is outside [2, 49]" in message


def test_an_offered_number_needs_presets(tmp_path: Path) -> None:
    strength = {"name": "strength", "kind": "number", "minimum": 0, "maximum": 1, "default": 0.5}
    message = load_error(tmp_path, broken(lambda m: m["inputs"].append(strength)))
    assert "model 'test/model': inputs[3].values: give 3-5 distinct presets including the default 0.5" in message


def test_media_max_items_below_min_items_is_refused(tmp_path: Path) -> None:
    photos = {"name": "image_urls", "kind": "image", "required": True, "multiple": True, "min_items": 2, "max_items": 1}
    message = load_error(tmp_path, broken(lambda m: m["inputs"].append(photos)))
    assert "model 'test/model': inputs[3].max_items: 1 is less than min_items 2" in message


def test_a_duplicate_model_id_is_refused(tmp_path: Path) -> None:
    document = valid_document()
    document["models"].append(copy.deepcopy(document["models"][0]))
    message = load_error(tmp_path, document)
    assert "model 'test/model': id: duplicate, already used by models[0]" in message


def test_a_wrongly_typed_field_names_the_model_and_the_field(tmp_path: Path) -> None:
    message = load_error(tmp_path, broken(lambda m: m["billing"].update(unit="frame")))
    assert "model 'test/model': billing.unit:" in message and "'frame'" in message


def test_malformed_yaml_is_reported_with_its_line(tmp_path: Path) -> None:
    message = load_error(tmp_path, "categories:\n  - id: video\n    names: {ru: Видео, en: Video\nmodels: []\n")
    assert "invalid YAML: line" in message


def test_a_duplicate_yaml_key_is_refused(tmp_path: Path) -> None:
    text = yaml.safe_dump(valid_document(), allow_unicode=True, sort_keys=False)
    message = load_error(tmp_path, text.replace("  order: 1\n", "  order: 1\n  order: 2\n", 1))
    assert "invalid YAML" in message and "duplicate key 'order'" in message


def test_unquoted_ratios_and_yes_stay_text(tmp_path: Path) -> None:
    text = yaml.safe_dump(valid_document(), allow_unicode=True, sort_keys=False)
    ratio = "  - name: aspect_ratio\n    kind: enum\n    values: [1:1, 16:9, yes]\n    default: 1:1\n"
    text = text.replace("  - name: sound\n", ratio + "  - name: sound\n")
    model = load_catalog(write(tmp_path, text)).model("test/model")
    assert model.input("aspect_ratio").values == ("1:1", "16:9", "yes")


def test_a_missing_file_is_a_catalog_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read the catalog"):
        load_catalog(tmp_path / "absent.yaml")


def test_parse_catalog_names_its_source_in_messages() -> None:
    document = broken(lambda m: m["inputs"][1].update(default="7"))
    with pytest.raises(CatalogError, match=r"^catalog: model 'test/model': inputs\[1\]\.default"):
        parse_catalog(document)
    with pytest.raises(CatalogError, match="^catalog: the top level must be a mapping"):
        parse_catalog(["not", "a", "mapping"])
