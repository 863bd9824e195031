"""The model catalog as boundary types. Loaded and validated by an adapter (catalog/models.yaml);
the core reads it to build menus, drafts, prices and KIE payloads."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Mapping

OptionValue = str | bool | int | float


class InputKind(str, Enum):
    PROMPT = "prompt"  # the main text the user types
    TEXT = "text"  # another string, never asked; sent as its default when it has one
    IMAGE = "image"  # URL input(s) filled from a photo the user sends
    VIDEO = "video"
    AUDIO = "audio"
    ENUM = "enum"
    BOOL = "bool"
    NUMBER = "number"
    INTEGER = "integer"


MEDIA_KINDS = frozenset({InputKind.IMAGE, InputKind.VIDEO, InputKind.AUDIO})
OPTION_KINDS = frozenset({InputKind.ENUM, InputKind.BOOL, InputKind.NUMBER, InputKind.INTEGER})


class OutputKind(str, Enum):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    TEXT = "text"


@dataclass(frozen=True)
class DialogueSpec:
    """How a typed dialogue becomes KIE's list of turns: each non-empty line is one turn, the lines take the
    voices named by ``voices`` (options) in turn. ``speakers_field``: KIE also wants the list of speakers
    (Gemini TTS) as ``[{speaker_key: "Speaker N", voice_key: voice}]``; turns then carry the speaker id."""

    text_key: str  # the key of a turn's text, e.g. "text"
    voice_key: str  # the key of a turn's voice (ElevenLabs) or a speaker's voice (Gemini), e.g. "voice"
    voices: tuple[str, ...]  # the option names holding each speaker's voice
    speakers_field: str | None = None
    speaker_key: str = "speaker_id"


@dataclass(frozen=True)
class InputSpec:
    """One field of the KIE ``input`` object, named exactly as KIE names it."""

    name: str
    kind: InputKind
    required: bool = False
    # PROMPT / TEXT
    max_length: int | None = None
    # IMAGE / VIDEO / AUDIO: a list of URLs when ``multiple``, else one URL string
    multiple: bool = False
    min_items: int = 0
    max_items: int = 1
    # ENUM values exactly as sent; NUMBER/INTEGER presets offered as buttons
    values: tuple[OptionValue, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    default: OptionValue | None = None
    # Sent with its default, never offered to the user (e.g. enable_safety_checker).
    fixed: bool = False
    # A content-safety switch (nsfw_checker, enable_safety_checker): its default is the value the bot sends.
    safety: bool = False
    # Human names for some values (voice ids), shown on buttons instead of the raw value.
    labels: Mapping[str, str] = field(default_factory=dict, compare=False)
    # The catalog offers only some of the values KIE documents (the docs diff accepts the subset).
    values_subset: bool = False
    # False: an option only the bot uses (a dialogue's voices), never sent to KIE as its own field.
    send: bool = True
    # A prompt typed as a dialogue (one line per turn), sent as a list of turns (see DialogueSpec).
    dialogue: "DialogueSpec | None" = None

    @property
    def is_media(self) -> bool:
        return self.kind in MEDIA_KINDS

    @property
    def is_option(self) -> bool:
        return self.kind in OPTION_KINDS and not self.fixed


@dataclass(frozen=True)
class PriceRule:
    """KIE credits for one option combination; ``when`` names only the options that change the price."""

    when: Mapping[str, OptionValue]
    credits: Decimal


@dataclass(frozen=True)
class ModelSpec:
    id: str  # KIE model id, sent as "model"
    category: str
    names: Mapping[str, str]  # language -> display name
    descriptions: Mapping[str, str]  # language -> one line
    inputs: tuple[InputSpec, ...]
    prices: tuple[PriceRule, ...]
    output: OutputKind
    # image, video, second, minute, request, generation, removal, megapixel, or characters (credits per 1,000
    # characters of the prompt: the price follows the text's length) or output_second (credits per second of
    # output; quantity_field names the duration option). "second"/"minute" bill the input media's length.
    billing_unit: str = "image"
    # How many units one job is billed for (per-second models: the longest input accepted).
    billed_units: int = 1
    # An option whose value multiplies the price (e.g. num_images on a per-image price).
    quantity_field: str | None = None
    free: bool = False
    enabled: bool = True
    # Menus: a family id (Kling, Seedance, ...) and whether the model is in its category's short "popular" list.
    family: str | None = None
    popular: bool = False
    # Where the price comes from (a URL or a named table) and, when no source states it, the estimate's reasoning.
    price_source: str = ""
    estimate: str | None = None
    disabled_reason: str | None = None
    # Files one successful task returns (grok-imagine: 6), unless quantity_field says how many were asked for.
    results: int = 1
    # Typical generation time in seconds, shown on the model card.
    typical_seconds: int = 60
    # Documented KIE fields the bot deliberately never sends, with the reason (the docs diff accepts them).
    not_sent: Mapping[str, str] = field(default_factory=dict, compare=False)
    # KIE's API family that serves the model (ports.generation.API_FAMILIES); ids of the dedicated families
    # read "<api>/<variant>", e.g. "veo/veo3_fast", "suno/V5".
    api: str = "market"
    # Follow-ups (catalog/families.yaml): the ids of the models a delivered result of this one offers as
    # buttons (Veo → 1080p); a follow-up model names the input that receives the source job's task id
    # (``source_input``) and is reached only from a result, never from a menu; ``source_unless`` lists source
    # options for which it does not apply (no 1080p button on a video already made in 1080p).
    follow_ups: tuple[str, ...] = ()
    source_input: str | None = None
    source_unless: Mapping[str, OptionValue] = field(default_factory=dict)

    def input(self, name: str) -> InputSpec | None:
        return next((spec for spec in self.inputs if spec.name == name), None)

    @property
    def media_inputs(self) -> tuple[InputSpec, ...]:
        return tuple(spec for spec in self.inputs if spec.is_media)

    @property
    def options(self) -> tuple[InputSpec, ...]:
        return tuple(spec for spec in self.inputs if spec.is_option)

    @property
    def prompt(self) -> InputSpec | None:
        return next((spec for spec in self.inputs if spec.kind is InputKind.PROMPT), None)


@dataclass(frozen=True)
class Category:
    id: str  # used in callback data: cat:<id>
    names: Mapping[str, str]
    order: int = 0


@dataclass(frozen=True)
class Family:
    id: str  # used in callback data: fam:<category>:<id>
    names: Mapping[str, str]


@dataclass(frozen=True)
class Exclusion:
    """A documented KIE id the catalog deliberately does not offer, and why."""

    id: str
    reason: str


@dataclass(frozen=True)
class Catalog:
    categories: tuple[Category, ...]
    models: tuple[ModelSpec, ...]
    families: tuple[Family, ...] = ()
    excluded: tuple[Exclusion, ...] = ()
    _by_id: Mapping[str, ModelSpec] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {model.id: model for model in self.models})

    def model(self, model_id: str) -> ModelSpec | None:
        return self._by_id.get(model_id)

    def category(self, category_id: str) -> Category | None:
        return next((c for c in self.categories if c.id == category_id), None)

    def in_category(self, category_id: str) -> tuple[ModelSpec, ...]:
        return tuple(
            m for m in self.models if m.category == category_id and m.enabled and m.source_input is None
        )

    def family(self, family_id: str) -> Family | None:
        return next((f for f in self.families if f.id == family_id), None)


class CatalogError(ValueError):
    """The catalog file is invalid; the message names the model and the field."""
