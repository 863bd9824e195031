"""Small pure pieces of a KIE call: the JSON body, the prompt length logged instead of the prompt, a fresh upload
name, and the short cause logged for a failed call."""

from __future__ import annotations

import json
import mimetypes
import re
import uuid
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

import httpx

from adapters.kie.envelope import CallFailure
from ports.generation import GatewayRejectedError

_PROMPT_FIELDS = ("prompt", "text", "negative_prompt")
_SAFE_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}")


def json_body(payload: Mapping[str, Any]) -> bytes:
    try:
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as error:
        raise GatewayRejectedError(f"The request cannot be sent to KIE: {type(error).__name__} in the input") from error


def prompt_length(inputs: Mapping[str, Any]) -> int:
    return sum(len(value) for name in _PROMPT_FIELDS if isinstance(value := inputs.get(name), str))


def unique_name(file_name: str, mime_type: str) -> str:
    """KIE overwrites a file uploaded under a reused name: every upload gets a fresh one (keeping a safe suffix)."""
    suffix = PurePosixPath((file_name or "").replace("\\", "/")).suffix
    if not _SAFE_SUFFIX.fullmatch(suffix):
        suffix = mimetypes.guess_extension(mime_type or "") or ".bin"
    return f"{uuid.uuid4().hex}{suffix.lower()}"


def cause(failure: CallFailure) -> str:
    if failure.kie_code is not None:
        return f"code_{failure.kie_code}"
    if isinstance(failure.original, httpx.RequestError):
        return type(failure.original).__name__
    return "invalid_body"
