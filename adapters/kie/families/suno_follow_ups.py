"""Suno's follow-ups on one track of a finished song (kie-openapi 2026-08):

* lossless WAV: POST /api/v1/wav/generate ``{taskId, audioId, callBackUrl}`` → a task read at
  GET /api/v1/wav/record-info (``successFlag`` PENDING | SUCCESS | CREATE_TASK_FAILED | GENERATE_WAV_FAILED |
  CALLBACK_EXCEPTION; result ``response.audioWavUrl``);
* extend: POST /api/v1/generate/extend ``{audioId, defaultParamFlag: false, model, callBackUrl}`` (the original
  song's parameters) → a Suno task read at /api/v1/generate/record-info like any song.

Both need the track's ``audioId``, which only the source song's record holds (``response.sunoData[i].id``):
the gateway reads it from the source (catalog inputs ``task_id`` and ``index``) just before creating the task
(``source_request``); the extension keeps the source song's model version."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from adapters.kie.envelope import unexpected
from adapters.kie.families import suno
from adapters.kie.families.common import Family, dig, record_of, text, top_level
from ports.generation import GatewayRejectedError, GenerationRequest, TaskState, TaskStatus

WAV_ENDPOINT = "suno_wav/record-info"
NEEDS_AUDIO_ID = frozenset({"suno_wav", "suno_extend"})
DEFAULT_MODEL = "V5"


def source_task(request: GenerationRequest) -> tuple[str, int]:
    source = text(request.input.get("task_id"))
    if source is None:
        raise GatewayRejectedError("a Suno follow-up needs the source song's task id (input task_id)")
    try:
        return source, int(request.input.get("index", 0) or 0)
    except (TypeError, ValueError):
        return source, 0


def with_audio_id(request: GenerationRequest, source_data: Any) -> GenerationRequest:
    """The request with ``audio_id`` (and, for an extension, the source's ``model``) taken from the source
    song's record-info ``data``."""
    source, index = source_task(request)
    record = record_of(suno.ENDPOINT, source, source_data)
    items = dig(record, "response", "sunoData")
    if not isinstance(items, list) or not 0 <= index < len(items) or not isinstance(items[index], Mapping):
        raise GatewayRejectedError(f"the source song has no track {index + 1}")
    audio_id = text(items[index].get("id"))
    if audio_id is None:
        raise unexpected(suno.ENDPOINT, "a track without id")
    extra: dict[str, Any] = {"audio_id": audio_id}
    if request.api == "suno_extend":
        extra["model"] = _model_of(record)
    return GenerationRequest(request.model, {**request.input, **extra}, request.callback_url, request.job_id,
                             api=request.api)


def _model_of(record: Mapping[str, Any]) -> str:
    """The source song's model version, from its ``param`` JSON (or the track's ``modelName``)."""
    try:
        param = json.loads(record.get("param") or "{}")
    except (TypeError, ValueError):
        param = {}
    model = text(param.get("model")) if isinstance(param, Mapping) else None
    return model or DEFAULT_MODEL


def build_wav(request: GenerationRequest) -> dict[str, Any]:
    return top_level(request.input, drop=("index",))


def build_extend(request: GenerationRequest) -> dict[str, Any]:
    body = top_level(request.input, drop=("index", "task_id"))
    body["defaultParamFlag"] = False
    return body


_WAV_RUNNING = frozenset({"PENDING", ""})
_WAV_FAILED = frozenset({"CREATE_TASK_FAILED", "GENERATE_WAV_FAILED"})


def read_wav(task_id: str, data: Any) -> TaskStatus:
    record = record_of(WAV_ENDPOINT, task_id, data)
    task = text(record.get("taskId")) or task_id
    flag = str(record.get("successFlag") or "").strip().upper()
    url = text(dig(record, "response", "audioWavUrl"))
    if flag == "SUCCESS" or (flag == "CALLBACK_EXCEPTION" and url):
        if url is None:
            raise unexpected(WAV_ENDPOINT, "a successful WAV task without audioWavUrl")
        return TaskStatus(task, TaskState.SUCCESS, result_urls=(url,), progress=100)
    if flag in _WAV_FAILED or flag == "CALLBACK_EXCEPTION":
        return TaskStatus(task, TaskState.FAIL, fail_code=text(record.get("errorCode")) or flag,
                          fail_message=text(record.get("errorMessage")) or flag.replace("_", " ").lower())
    if flag in _WAV_RUNNING:
        return TaskStatus(task, TaskState.GENERATING)
    raise unexpected(WAV_ENDPOINT, f"unknown successFlag {flag[:40]!r}")


WAV = Family("suno_wav", "/api/v1/wav/generate", "/api/v1/wav/record-info", build_wav, read_wav,
             callback_required=True)
EXTEND = Family("suno_extend", "/api/v1/generate/extend", "/api/v1/generate/record-info", build_extend, suno.read,
                callback_required=True)
