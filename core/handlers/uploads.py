"""Files users send for a draft: checked, uploaded to the generator, attached to the right input."""

from __future__ import annotations

import contextlib
import math
from dataclasses import replace

from core.context import Reply, Services, Turn
from core.drafts import NeedMedia, NeedPrompt, PromptError, add_media, clean_prompt, media_slot, next_step
from core.files import MAX_BYTES, FileType, input_kind, sniff
from core.handlers.drafting import active_draft, apply_prompt, message_screen, next_screen, no_draft
from ports.catalog import InputKind, InputSpec, ModelSpec
from ports.generation import GatewayError
from ports.media import MediaRef, MediaTooLargeError, MediaUnavailableError
from ports.model import Draft

FORMATS = {InputKind.IMAGE: "JPEG, PNG, WEBP", InputKind.VIDEO: "MP4, MOV, WEBM", InputKind.AUDIO: "MP3, OGG, WAV, M4A"}
SECONDS_PER_UNIT = {"second": 1, "minute": 60}


def _max_seconds(model: ModelSpec) -> int | None:
    per_unit = SECONDS_PER_UNIT.get(model.billing_unit)
    return model.billed_units * per_unit if per_unit else None


def _problem(
    turn: Turn, model: ModelSpec, draft: Draft, ref: MediaRef, kind: InputKind | None, slot: InputSpec | None
) -> str | None:
    """Why this file cannot be taken now, as a text for the user; None when it can."""
    fmt = turn.fmt
    step = next_step(model, draft)
    if kind is None or slot is None:
        if isinstance(step, NeedMedia):
            return fmt.t("input.wrong_media", what=fmt.t(f"media.{step.spec.kind.value}"))
        if isinstance(step, NeedPrompt):
            return fmt.t("input.not_expected_media")
        return fmt.t("input.all_received")
    limit = MAX_BYTES[kind]
    if ref.size is not None and ref.size > limit:
        return fmt.t("input.file_too_large", size=round(ref.size / 2**20, 1), max=limit // 2**20)
    return _too_long(turn, model, kind, ref.duration_s)


def _too_long(turn: Turn, model: ModelSpec, kind: InputKind, duration: float | None) -> str | None:
    """The refusal of a file longer than the model takes (per-second/per-minute billing)."""
    max_seconds = _max_seconds(model)
    if max_seconds and duration and duration > max_seconds and kind is not InputKind.IMAGE:
        return turn.fmt.t("input.media_too_long", max=max_seconds, duration=math.ceil(duration))
    return None


async def _measured_too_long(services: Services, turn: Turn, model: ModelSpec, ref: MediaRef, kind: InputKind, data: bytes) -> str | None:
    """When Telegram did not report the length (a file sent as a document, the simulator), read it from the bytes."""
    if ref.duration_s is not None or services.probe is None or kind is InputKind.IMAGE or not _max_seconds(model):
        return None
    return _too_long(turn, model, kind, await services.probe.duration_s(data))


async def _fetch(services: Services, turn: Turn, ref: MediaRef, kind: InputKind) -> tuple[bytes, FileType] | str:
    """The file's bytes and real type, or a text for the user saying why they could not be had."""
    limit = MAX_BYTES[kind]
    try:
        data = await services.media.read(ref, limit)
    except MediaTooLargeError:
        return turn.fmt.t("input.file_too_large", size=f"> {limit // 2**20}", max=limit // 2**20)
    except MediaUnavailableError:
        return turn.fmt.t("input.file_unavailable")
    detected = sniff(data)
    if detected is None or detected.kind is not kind:
        return turn.fmt.t("input.file_unreadable", formats=FORMATS[kind])
    return data, detected


async def on_media(services: Services, turn: Turn, ref: MediaRef, caption: str = "") -> Reply:
    found = await active_draft(services, turn)
    if found is None:
        return await no_draft(services, turn)
    draft, model = found
    kind = input_kind(ref)
    slot = media_slot(model, draft, kind) if kind is not None else None
    problem = _problem(turn, model, draft, ref, kind, slot)
    if problem is not None or kind is None or slot is None:
        return Reply([turn.send(message_screen(turn, problem or "", model, draft))], rejected="VALIDATION_FAIL")
    fetched = await _fetch(services, turn, ref, kind)
    if isinstance(fetched, str):
        return Reply([turn.send(message_screen(turn, fetched, model, draft))], rejected="VALIDATION_FAIL")
    data, detected = fetched
    too_long = await _measured_too_long(services, turn, model, ref, kind, data)
    if too_long is not None:
        return Reply([turn.send(message_screen(turn, too_long, model, draft))], rejected="VALIDATION_FAIL")
    count = sum(len(urls) for urls in draft.media.values()) + 1
    try:
        url = await services.gateway.upload(data, f"{draft.id}-{count}.{detected.extension}", detected.mime_type)
    except GatewayError:
        return Reply([turn.send(message_screen(turn, turn.fmt.t("input.upload_failed"), model, draft))], rejected="UPLOAD_FAILED")
    draft = add_media(draft, slot, url)
    await services.storage.drafts.put(draft)
    if caption.strip() and model.prompt is not None:
        if isinstance(next_step(model, draft), NeedPrompt):
            return await apply_prompt(services, turn, model, draft, caption)
        with contextlib.suppress(PromptError):  # a caption with a file still to come: kept as the description
            draft = replace(draft, prompt=clean_prompt(model.prompt, caption))
            await services.storage.drafts.put(draft)
    screen = await next_screen(services, turn, model, draft, received=received_line(turn, model, draft, kind))
    return Reply([turn.send(screen)])


def received_line(turn: Turn, model: ModelSpec, draft: Draft, kind: InputKind) -> str:
    """"File received": how many files the order has and how many more of this kind it may take."""
    count = sum(len(urls) for urls in draft.media.values())
    more = sum(max(s.max_items - len(draft.media.get(s.name, ())), 0) for s in model.media_inputs if s.kind is kind)
    if more:
        return turn.fmt.t("input.media_received_more", count=count, more=more)
    return turn.fmt.t("input.media_received_count", count=count)
