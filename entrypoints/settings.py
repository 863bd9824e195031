"""Settings from the environment, validated once at start (pydantic), failing with one readable line
that names the variable. Secrets are never part of an error message."""

from __future__ import annotations

import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Literal, Mapping

from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, ValidationInfo, field_validator

PROJECT_ROOT = Path(__file__).resolve().parents[1]


SECRET_PATTERNS = {
    "TELEGRAM_BOT_TOKEN": r"\d+:[A-Za-z0-9_-]{5,}",
    "WEBHOOK_SECRET_TOKEN": r"[A-Za-z0-9_-]{1,256}",
    "KIE_CALLBACK_TOKEN": r"[A-Za-z0-9_-]{8,256}",
    "METRICS_TOKEN": r"[A-Za-z0-9_-]{16,256}",
}
SECRET_SHAPES = {
    "TELEGRAM_BOT_TOKEN": "must look like 123456789:ABC... (from @BotFather)",
    "WEBHOOK_SECRET_TOKEN": "must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)",
    "KIE_CALLBACK_TOKEN": "must be 8-256 characters of A-Z, a-z, 0-9, _ and -",
    "METRICS_TOKEN": "must be 16-256 characters of A-Z, a-z, 0-9, _ and - (e.g. openssl rand -hex 24)",
}


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
    KIE_MODE: Literal["fake", "real"] = "fake"  # default: real when KIE_API_KEY is set
    KIE_API_BASE_URL: str = Field(default="https://api.kie.ai", pattern=r"^https?://[^\s/]+(/[^\s]*)?$")
    KIE_UPLOAD_BASE_URL: str = Field(default="https://kieai.redpandaai.co", pattern=r"^https?://[^\s/]+(/[^\s]*)?$")
    KIE_TIMEOUT_S: float = Field(default=30.0, gt=0)
    # KIE's rate for new generation requests, for the account (every instance together): 20 per 10 s.
    KIE_SUBMIT_LIMIT: int = Field(default=20, ge=1)
    KIE_SUBMIT_WINDOW_S: float = Field(default=10.0, gt=0)
    FAKE_KIE_SPEED: float = Field(default=1.0, gt=0)  # divides the fake generator's durations
    JOB_TIMEOUT_IMAGE_S: float = Field(default=900, gt=0)
    JOB_TIMEOUT_AUDIO_S: float = Field(default=900, gt=0)
    JOB_TIMEOUT_VIDEO_S: float = Field(default=1800, gt=0)
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    LOG_FORMAT: Literal["text", "json"] = "text"

    # Telegram deployment (the runbook's variables)
    TELEGRAM_BOT_TOKEN: SecretStr | None = None
    TELEGRAM_API_BASE_URL: str = Field(default="https://api.telegram.org", pattern=r"^https?://[^\s/]+(/[^\s]*)?$")
    BOT_MODE: Literal["webhook", "polling"] = "polling"
    PORT: int = Field(default=8000, ge=0, le=65535)  # 0 = any free port (tests, smoke runs)
    WEBHOOK_BASE_URL: str | None = Field(default=None, pattern=r"^https?://[^\s/]+(/[^\s]*)?$")
    WEBHOOK_SECRET_PATH: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{8,128}$")
    WEBHOOK_SECRET_TOKEN: SecretStr | None = None
    KIE_API_KEY: SecretStr | None = None
    KIE_CALLBACK_PATH: str = Field(default="callbacks/kie", pattern=r"^/?[A-Za-z0-9_/-]{1,128}$")
    KIE_CALLBACK_TOKEN: SecretStr | None = None
    DATABASE_URL: SecretStr | None = None
    # /metrics asks for "Authorization: Bearer <METRICS_TOKEN>" when set; unset, it is open like /health.
    METRICS_TOKEN: SecretStr | None = None
    ADMIN_ID: tuple[int, ...] = ()
    STARS_PACKAGES: tuple[int, ...] = (100, 250, 500, 1000)  # Stars per top-up package, comma-separated
    STARS_RATE: Decimal = Field(default=Decimal("1.5"), gt=0)  # CURRENCY major units credited per Star
    MANUAL_TOPUP_AMOUNTS: tuple[Decimal, ...] = ()  # major units offered for bank transfers; empty = off
    MANUAL_TOPUP_DETAILS: str = Field(default="", max_length=1000)  # bank details shown to the user
    FREE_DAILY_LIMIT: int = Field(default=3, ge=0)  # free-tier runs per user per day
    FREE_TZ: str = "UTC"  # the free tier's day boundary: UTC or a fixed offset like +03:00
    REFERRAL_BONUS_INVITER: Decimal = Field(default=Decimal("50"), ge=0)  # major units
    REFERRAL_BONUS_INVITEE: Decimal = Field(default=Decimal("25"), ge=0)
    # The most one /credit or /debit moves, major units (larger amounts are refused with a clear answer).
    # Midjourney (KIE's /api/v1/mj, no longer in KIE's 2026-08 docs): its models are offered only when true.
    MJ_ENABLED: bool = False
    ADMIN_MAX_AMOUNT: Decimal = Field(default=Decimal("1000000"), gt=0, le=Decimal("1000000000000"))
    DB_POOL_MAX: int = Field(default=10, ge=1, le=100)  # PostgreSQL connections per instance (runbook: 10)
    LOCK_RETRY_SECONDS: float = Field(default=3.0, gt=0)  # a passive instance tries the leader lock this often
    LOCK_STALE_SECONDS: float = Field(default=60.0, gt=0)  # a leader silent this long is evicted
    SHUTDOWN_GRACE_S: float = Field(default=20.0, ge=0)  # SIGTERM: time for running handlers to finish
    INSTANCE_ID: str = Field(default="", max_length=64)  # logs, the lock table, /metrics; default RENDER_INSTANCE_ID or host-pid
    WORKERS: int = Field(default=8, ge=1, le=256)  # chats processed concurrently
    RATE_LIMIT_BURST: int = Field(default=10, ge=1)  # updates a user may send at once
    RATE_LIMIT_PER_SECOND: float = Field(default=2.0, gt=0)  # sustained updates per user per second
    # Result links and real costs (issues 13.2, 18.4)
    KIE_TRUSTED_RESULT_ORIGINS: str = ""  # exact origins the bot may fetch results from without the address check
    PRICE_DRIFT_STOP: bool = False  # stop selling a model whose real KIE cost exceeded its price, until confirmed

    @field_validator("KIE_TRUSTED_RESULT_ORIGINS")
    @classmethod
    def _origins(cls, value: str) -> str:
        from adapters.telegram.result_links import parse_origins

        parse_origins(value)  # ValueError names the bad item: "an origin is scheme://host[:port] only"
        return value
    # Fairness (entrypoints/intake_limit.py, inbox_gauge.py): a chat's admitted-and-waiting updates beyond this
    # are shed at intake; /health's inbox_depth is read from storage this often.
    CHAT_BACKLOG_MAX: int = Field(default=10, ge=1)
    INBOX_DEPTH_EVERY_S: float = Field(default=5.0, gt=0)
    # Where users reach a person about payments (/paysupport, receipts): @username or an https:// link.
    SUPPORT_CONTACT: str | None = None

    @field_validator("TELEGRAM_BOT_TOKEN", "WEBHOOK_SECRET_TOKEN", "KIE_CALLBACK_TOKEN", "METRICS_TOKEN")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        # The message describes the expected shape and never echoes the value.
        if value is not None and not re.fullmatch(SECRET_PATTERNS[info.field_name], value.get_secret_value()):
            raise ValueError(SECRET_SHAPES[info.field_name])
        return value

    @field_validator("ADMIN_ID", mode="before")
    @classmethod
    def _admin_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",") if part.strip()]
            if not all(part.lstrip("-").isdigit() for part in parts):
                raise ValueError("must be Telegram user ids separated by commas")
            return tuple(int(part) for part in parts)
        return value

    @field_validator("STARS_PACKAGES", "MANUAL_TOPUP_AMOUNTS", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("STARS_PACKAGES")
    @classmethod
    def _positive_packages(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(stars < 1 or stars > 10000 for stars in value):
            raise ValueError("must be 1-10000 Stars each, comma-separated")
        return value

    @field_validator("SUPPORT_CONTACT")
    @classmethod
    def _support_contact(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if re.fullmatch(r"@[A-Za-z][A-Za-z0-9_]{3,31}", value) or re.fullmatch(r"https://[^\s/]+\.[^\s/]+(/\S*)?", value):
            return value
        raise ValueError("must be a Telegram @username (5-32 letters, digits, _) or an https:// link")

    @field_validator("FREE_TZ")
    @classmethod
    def _utc_offset(cls, value: str) -> str:
        if value.upper() != "UTC" and not re.fullmatch(r"[+-](0\d|1[0-4]):[0-5]\d", value):
            raise ValueError("must be UTC or an offset like +03:00")
        return value

    def free_utc_offset_minutes(self) -> int:
        if self.FREE_TZ.upper() == "UTC":
            return 0
        sign = -1 if self.FREE_TZ.startswith("-") else 1
        hours, minutes = self.FREE_TZ[1:].split(":")
        return sign * (int(hours) * 60 + int(minutes))

    @field_validator("WEBHOOK_BASE_URL")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @field_validator("DATABASE_URL")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        # Checked here, before any connection or Bot API call; the message never echoes the value.
        if value is not None and not value.get_secret_value().startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a PostgreSQL URL: postgresql://user:password@host:5432/dbname")
        return value

    @field_validator("KIE_CALLBACK_PATH")
    @classmethod
    def _relative_path(cls, value: str) -> str:
        return value.strip("/")

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


    def webhook_url(self) -> str:
        return f"{self.WEBHOOK_BASE_URL}/webhook/{self.WEBHOOK_SECRET_PATH}"

    def kie_callback_url(self) -> str | None:
        """Where KIE posts results, when a public URL and a callback token are configured."""
        if not self.WEBHOOK_BASE_URL or self.KIE_CALLBACK_TOKEN is None:
            return None
        return f"{self.WEBHOOK_BASE_URL}/{self.KIE_CALLBACK_PATH}?token={self.KIE_CALLBACK_TOKEN.get_secret_value()}"

    def secrets(self) -> list[str]:
        """Values never to be printed (masked in every log line)."""
        values = [self.TELEGRAM_BOT_TOKEN, self.WEBHOOK_SECRET_TOKEN, self.KIE_API_KEY, self.KIE_CALLBACK_TOKEN, self.DATABASE_URL,
                  self.METRICS_TOKEN]
        found = [value.get_secret_value() for value in values if value is not None]
        if self.WEBHOOK_SECRET_PATH:
            found.append(self.WEBHOOK_SECRET_PATH)
        return found


def read_environment(directory: Path | None = None) -> dict[str, str]:
    """The process environment over a ``.env`` file in the working directory (the environment wins)."""
    dotenv_file = (directory or Path.cwd()) / ".env"
    from_file = {k: v for k, v in dotenv_values(dotenv_file).items() if v is not None} if dotenv_file.is_file() else {}
    return {**from_file, **os.environ}


def require_telegram(settings: Settings) -> None:
    """What running on Telegram needs beyond the simulator's defaults; one line naming what is missing."""
    needed = ["TELEGRAM_BOT_TOKEN"]
    if settings.BOT_MODE == "webhook":
        needed += ["WEBHOOK_BASE_URL", "WEBHOOK_SECRET_PATH", "WEBHOOK_SECRET_TOKEN"]
    for name in needed:
        if getattr(settings, name) is None:
            raise SettingsError(f"missing setting {name}: required when BOT_MODE={settings.BOT_MODE}")
    if settings.KIE_API_KEY is None and "KIE_MODE" not in settings.model_fields_set:
        # Without a key the fake generator would answer real users, who would pay for fake pictures.
        raise SettingsError(
            f"missing setting KIE_API_KEY: required when BOT_MODE={settings.BOT_MODE} "
            "(set KIE_MODE=fake to run on the fake generator on purpose)"
        )


def load_settings(env: Mapping[str, str], **overrides: object) -> Settings:
    """Settings from an environment mapping (empty strings count as unset), then explicit overrides."""
    values: dict[str, object] = {key: value for key, value in env.items() if key in Settings.model_fields and value != ""}
    if "WEBHOOK_BASE_URL" not in values and env.get("RENDER_EXTERNAL_URL"):
        values["WEBHOOK_BASE_URL"] = env["RENDER_EXTERNAL_URL"]  # Render sets it to https://<service>.onrender.com
    if "INSTANCE_ID" not in values and env.get("RENDER_INSTANCE_ID"):
        values["INSTANCE_ID"] = env["RENDER_INSTANCE_ID"][:64]  # Render names each instance of a scaled service
    values.update({key: value for key, value in overrides.items() if value is not None})
    if "KIE_MODE" not in values and values.get("KIE_API_KEY"):
        values["KIE_MODE"] = "real"
    try:
        settings = Settings(**values)
    except ValidationError as error:
        first = error.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or "settings"
        raise SettingsError(f"invalid setting {name}: {first['msg']}") from None
    if settings.KIE_MODE == "real" and settings.KIE_API_KEY is None:
        raise SettingsError("missing setting KIE_API_KEY: required when KIE_MODE=real")
    return settings
