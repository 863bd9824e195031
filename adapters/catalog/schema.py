"""The shape of catalog/models.yaml: a YAML loader that keeps "1:1" and "yes" as text, and the pydantic schema
(unknown keys are errors). yaml_catalog.py runs the cross-field rules and converts to ports.catalog types."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from ports.catalog import InputKind, OutputKind

LANGUAGES = ("ru", "en")
MAX_DESCRIPTION = 120
BillingUnit = Literal[
    "image", "video", "second", "minute", "request", "generation", "removal", "megapixel", "characters",
    "output_second",
]


# ---- YAML: booleans are only true/false, numbers only decimal, so "1:1" or "yes" stay strings ----
class Loader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


_REPLACED = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _REPLACED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$")
_FLOAT = re.compile(r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$")
Loader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL, list("tTfF"))
Loader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))
Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


# ---- Pydantic schema of the file (the edge); converted to ports.catalog dataclasses once valid ----
def _enum_value(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"{value!r} is not a text value; quote it, e.g. \"5\"")
    return str(value)


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{value!r} is not a number")
    return value


def _credits(value: Any) -> Decimal:
    try:
        credits = None if isinstance(value, bool) else Decimal(str(value).strip())
    except InvalidOperation:
        credits = None
    if not isinstance(value, (str, int, float)) or credits is None or not credits.is_finite() or credits < 0:
        raise ValueError(f"{value!r} is not a non-negative number of credits")
    return credits


EnumValue = Annotated[str, BeforeValidator(_enum_value)]
Number = Annotated[Any, BeforeValidator(_number)]
Credits = Annotated[Decimal, BeforeValidator(_credits)]
Name = Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputBase(Schema):
    name: Name
    required: StrictBool = False


class Dialogue(Schema):
    text_key: StrictStr
    voice_key: StrictStr
    voices: list[Name] = Field(min_length=1)
    speakers_field: Name | None = None
    speaker_key: StrictStr = "speaker_id"


class PromptInput(InputBase):
    kind: Literal["prompt"]
    max_length: StrictInt = Field(gt=0)
    dialogue: Dialogue | None = None


class TextInput(InputBase):
    kind: Literal["text"]
    max_length: StrictInt | None = Field(default=None, gt=0)
    default: StrictStr | None = None


class MediaInput(InputBase):
    kind: Literal["image", "video", "audio"]
    multiple: StrictBool = False
    min_items: StrictInt | None = Field(default=None, ge=0)
    max_items: StrictInt | None = Field(default=None, ge=0)


class EnumInput(InputBase):
    kind: Literal["enum"]
    values: list[EnumValue] = Field(min_length=1)
    default: EnumValue | None = None
    fixed: StrictBool = False
    labels: dict[EnumValue, StrictStr] = {}
    values_subset: StrictBool = False
    send: StrictBool = True


class BoolInput(InputBase):
    kind: Literal["bool"]
    default: StrictBool | None = None
    fixed: StrictBool = False
    safety: StrictBool = False


class NumberInput(InputBase):
    kind: Literal["number", "integer"]
    minimum: Number = None
    maximum: Number = None
    default: Number = None
    values: list[Number] = []
    fixed: StrictBool = False


AnyInput = Annotated[
    Union[PromptInput, TextInput, MediaInput, EnumInput, BoolInput, NumberInput], Field(discriminator="kind")
]
KINDS = [kind.value for kind in InputKind]


class Billing(Schema):
    unit: BillingUnit
    units: StrictInt = Field(default=1, ge=1)


class Price(Schema):
    when: dict[StrictStr, Any] = {}
    credits: Credits


class Model(Schema):
    id: StrictStr = Field(min_length=1)
    category: StrictStr
    names: dict[StrictStr, StrictStr]
    descriptions: dict[StrictStr, StrictStr]
    output: OutputKind
    billing: Billing
    quantity_field: StrictStr | None = None
    free: StrictBool = False
    enabled: StrictBool = True
    api: Literal["market", "veo", "suno", "runway", "aleph", "kontext", "gpt4o", "mj", "veo_1080p", "veo_extend",
                 "suno_wav", "suno_extend", "mj_upscale", "mj_vary"] = "market"  # KIE API family
    disabled_reason: StrictStr | None = None
    family: Name | None = None
    popular: StrictBool = False
    price_source: StrictStr = ""
    estimate: StrictStr | None = None
    results: StrictInt = Field(default=1, ge=1)
    not_sent: dict[StrictStr, StrictStr] = {}
    typical_seconds: StrictInt | None = Field(default=None, gt=0)
    inputs: list[AnyInput] = Field(min_length=1)
    prices: list[Price] = []  # empty only on a disabled model awaiting its price


class Category(Schema):
    id: StrictStr = Field(pattern=r"^[a-z0-9_]+$")
    names: dict[StrictStr, StrictStr]
    order: StrictInt = 0


class Family(Schema):
    id: Name
    names: dict[StrictStr, StrictStr]


class Exclusion(Schema):
    id: StrictStr = Field(min_length=1)
    reason: StrictStr = Field(min_length=1)


class Document(Schema):
    categories: list[Category] = Field(min_length=1)
    families: list[Family] = []
    excluded: list[Exclusion] = []
    models: list[Any] = Field(min_length=1)

