"""Small catalog entries and settings for unit tests that must not depend on the shipped catalog."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from core.i18n import Fmt
from core.money import currency_for
from core.pricing import PriceSettings
from ports.catalog import Category, InputKind, InputSpec, ModelSpec, OutputKind, PriceRule
from ports.storage import Draft

RUB = currency_for("RUB")
PRICES = PriceSettings(RUB, Decimal("0.005"), Decimal("100"), Decimal("2"))
RU = Fmt("ru", RUB)
EN = Fmt("en", RUB)
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)

IMAGE = Category("image", {"ru": "🎨 Картинки и дизайн", "en": "🎨 Images & design"}, 1)
VIDEO = Category("video", {"ru": "🎬 Видео", "en": "🎬 Video"}, 2)

TEXT_TO_IMAGE = ModelSpec(
    id="test/text-to-image",
    category="image",
    names={"ru": "Тест-картинка", "en": "Test image"},
    descriptions={"ru": "Картинка по описанию", "en": "A picture from a description"},
    inputs=(
        InputSpec("prompt", InputKind.PROMPT, required=True, max_length=100),
        InputSpec("aspect_ratio", InputKind.ENUM, required=True, values=("1:1", "16:9"), default="1:1"),
        InputSpec("resolution", InputKind.ENUM, values=("1K", "2K"), default="1K"),
        InputSpec("enable_safety_checker", InputKind.BOOL, default=True, fixed=True),
    ),
    prices=(PriceRule({"resolution": "1K"}, Decimal("4")), PriceRule({"resolution": "2K"}, Decimal("8"))),
    output=OutputKind.IMAGE,
)

IMAGE_TO_VIDEO = ModelSpec(
    id="test/image-to-video",
    category="video",
    names={"ru": "Тест-видео", "en": "Test video"},
    descriptions={"ru": "Оживляет фото", "en": "Brings a photo to life"},
    inputs=(
        InputSpec("image_url", InputKind.IMAGE, required=True, min_items=1, max_items=1),
        InputSpec("prompt", InputKind.PROMPT, required=True, max_length=500),
        InputSpec("duration", InputKind.ENUM, values=("5", "10"), default="5"),
        InputSpec("sound", InputKind.BOOL, default=False),
    ),
    prices=(
        PriceRule({"duration": "5", "sound": False}, Decimal("50")),
        PriceRule({"duration": "10", "sound": False}, Decimal("100")),
        PriceRule({"duration": "5", "sound": True}, Decimal("100")),
        PriceRule({"duration": "10", "sound": True}, Decimal("200")),
    ),
    output=OutputKind.VIDEO,
)


def draft(model: ModelSpec = TEXT_TO_IMAGE, **fields) -> Draft:
    values = dict(id="d1", user_id=1, chat_id=1, model_id=model.id, created_at=NOW)
    values.update(fields)
    return Draft(**values)
