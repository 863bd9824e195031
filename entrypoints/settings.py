"""Settings from the environment, validated once at start (pydantic), failing with one readable line
that names the variable. Secrets are never part of an error message."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class SettingsError(ValueError):
    """One readable line naming the variable that is missing or invalid."""


class Settings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    DATA_DIR: Path = Path("data")
    CATALOG_PATH: Path = PROJECT_ROOT / "catalog" / "models.yaml"
    CURRENCY: str = "RUB"
    WELCOME_BALANCE: Decimal = Field(default=Decimal("0"), ge=0)  # major units
    KIE_CREDIT_USD: Decimal = Field(default=Decimal("0.005"), gt=0)
    USD_RATE: Decimal = Field(default=Decimal("100"), gt=0)  # currency units per USD
    PRICE_MARKUP: Decimal = Field(default=Decimal("2"), gt=0)
    DEFAULT_LANGUAGE: Literal["ru", "en"] = "ru"
    KIE_MODE: Literal["fake", "real"] = "fake"
    FAKE_KIE_SPEED: float = Field(default=1.0, gt=0)  # divides the fake generator's durations
    JOB_TIMEOUT_IMAGE_S: float = Field(default=900, gt=0)
    JOB_TIMEOUT_AUDIO_S: float = Field(default=900, gt=0)
    JOB_TIMEOUT_VIDEO_S: float = Field(default=1800, gt=0)
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("CURRENCY")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        from core.money import currency_for

        return currency_for(value).code

    def job_timeouts(self) -> dict[str, float]:
        return {
            "image": self.JOB_TIMEOUT_IMAGE_S,
            "tools": self.JOB_TIMEOUT_IMAGE_S,
            "audio": self.JOB_TIMEOUT_AUDIO_S,
            "video": self.JOB_TIMEOUT_VIDEO_S,
        }


def load_settings(env: Mapping[str, str], **overrides: object) -> Settings:
    """Settings from an environment mapping (empty strings count as unset), then explicit overrides."""
    values: dict[str, object] = {key: value for key, value in env.items() if key in Settings.model_fields and value != ""}
    values.update({key: value for key, value in overrides.items() if value is not None})
    try:
        return Settings(**values)
    except ValidationError as error:
        first = error.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or "settings"
        raise SettingsError(f"invalid setting {name}: {first['msg']}") from None
