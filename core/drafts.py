"""Pure rules of a draft generation: which input comes next, prompt checks, option changes, and the KIE
``input`` object built at launch (every field sent explicitly: KIE applies no defaults)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

from core.pricing import default_options
from ports.catalog import InputKind, InputSpec, ModelSpec, OptionValue
from ports.model import Draft

# Telegram's own message limit bounds any prompt, whatever the catalog says.
PROMPT_HARD_LIMIT = 4000


@dataclass(frozen=True)
class NeedMedia:
    spec: InputSpec
    have: int


@dataclass(frozen=True)
class NeedPrompt:
    spec: InputSpec


@dataclass(frozen=True)
class Ready:
    pass


Step = NeedMedia | NeedPrompt | Ready


def required_count(spec: InputSpec) -> int:
    return max(spec.min_items, 1) if spec.required else spec.min_items


def next_step(model: ModelSpec, draft: Draft) -> Step:
    """Files first (in catalog order), then the prompt, then the confirmation."""
    for spec in model.media_inputs:
        have = len(draft.media.get(spec.name, ()))
        if have < required_count(spec):
            return NeedMedia(spec, have)
    prompt = model.prompt
    if prompt is not None and draft.prompt is None:
        return NeedPrompt(prompt)
    return Ready()


def media_slot(model: ModelSpec, draft: Draft, kind: InputKind) -> InputSpec | None:
    """Where a file of this kind goes now: the first unfilled required input of that kind, else the
    first input of that kind with room left (extra reference photos)."""
    step = next_step(model, draft)
    if isinstance(step, NeedMedia):
        return step.spec if step.spec.kind is kind else None
    for spec in model.media_inputs:
        if spec.kind is kind and len(draft.media.get(spec.name, ())) < spec.max_items:
            return spec
    return None


def add_media(draft: Draft, spec: InputSpec, url: str) -> Draft:
    media = dict(draft.media)
    media[spec.name] = (*media.get(spec.name, ()), url)
    return replace(draft, media=media)


def prompt_limit(spec: InputSpec) -> int:
    return min(spec.max_length or PROMPT_HARD_LIMIT, PROMPT_HARD_LIMIT)


class PromptError(ValueError):
    def __init__(self, key: str, **fields: object) -> None:
        super().__init__(key)
        self.key = key
        self.fields = fields


def clean_prompt(spec: InputSpec, text: str) -> str:
    prompt = text.strip()
    if not prompt:
        raise PromptError("input.prompt_empty")
    limit = prompt_limit(spec)
    if len(prompt) > limit:
        raise PromptError("input.prompt_too_long", length=len(prompt), max=limit)
    return prompt


def current_options(model: ModelSpec, draft: Draft) -> dict[str, OptionValue]:
    options = default_options(model)
    options.update({k: v for k, v in draft.options.items() if model.input(k) is not None})
    return options


def option_at(model: ModelSpec, index: int) -> InputSpec | None:
    options = model.options
    return options[index] if 0 <= index < len(options) else None


def choices(spec: InputSpec) -> tuple[OptionValue, ...]:
    if spec.kind is InputKind.BOOL:
        return (True, False)
    return spec.values


def set_option(model: ModelSpec, draft: Draft, index: int, value_index: int) -> Draft | None:
    """The draft with option ``index`` set to its ``value_index``-th choice; None when stale."""
    spec = option_at(model, index)
    if spec is None:
        return None
    values = choices(spec)
    if not 0 <= value_index < len(values):
        return None
    return replace(draft, options={**draft.options, spec.name: values[value_index]})


def text_length(draft: Draft) -> int | None:
    """The typed text's length (what text-to-speech is billed by), None before it is typed."""
    return len(draft.prompt) if draft.prompt is not None else None


def dialogue_turns(spec: InputSpec, text: str, options: Mapping[str, OptionValue]) -> dict[str, Any]:
    """A typed dialogue as KIE's fields: one turn per non-empty line, the voices taking the lines in turn."""
    shape = spec.dialogue
    assert shape is not None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    voices = [options.get(name) for name in shape.voices]
    if shape.speakers_field is None:
        turns = [{shape.text_key: line, shape.voice_key: voices[i % len(voices)]} for i, line in enumerate(lines)]
        return {spec.name: turns}
    speakers = [f"Speaker {n + 1}" for n in range(len(voices))]
    turns = [{shape.speaker_key: speakers[i % len(voices)], shape.text_key: line} for i, line in enumerate(lines)]
    used = speakers[: min(len(lines), len(voices))] or speakers[:1]
    cast = [{shape.speaker_key: speaker, shape.voice_key: voices[speakers.index(speaker)]} for speaker in used]
    return {spec.name: turns, shape.speakers_field: cast}


def dialogue_text(spec: InputSpec, value: Any) -> str:
    """The typed text back from a dialogue's turns (🔁 again, captions)."""
    if spec.dialogue is None or not isinstance(value, list):
        return str(value)
    return "\n".join(str(turn.get(spec.dialogue.text_key, "")) for turn in value if isinstance(turn, Mapping))


def build_input(model: ModelSpec, draft: Draft) -> dict[str, Any]:
    """The KIE ``input`` object: prompt, file URLs, every option with its value, fixed fields."""
    options = current_options(model, draft)
    payload: dict[str, Any] = {}
    for spec in model.inputs:
        if not spec.send:
            continue
        if spec.kind is InputKind.PROMPT:
            if draft.prompt is not None and spec.dialogue is not None:
                payload.update(dialogue_turns(spec, draft.prompt, options))
            elif draft.prompt is not None:
                payload[spec.name] = draft.prompt
        elif spec.is_media:
            urls = list(draft.media.get(spec.name, ()))
            if spec.multiple:
                if urls or spec.required:
                    payload[spec.name] = urls
            elif urls:
                payload[spec.name] = urls[0]
        elif spec.name in options:
            value = options[spec.name]
            payload[spec.name] = int(value) if spec.kind is InputKind.INTEGER else value
    return payload


def draft_from_input(model: ModelSpec, draft: Draft, job_input: dict[str, Any]) -> Draft:
    """A new draft filled from an earlier job's input (🔁 again / repeat)."""
    media: dict[str, tuple[str, ...]] = {}
    options: dict[str, OptionValue] = {}
    prompt = None
    for spec in model.inputs:
        if spec.name not in job_input:
            continue
        value = job_input[spec.name]
        if spec.kind is InputKind.PROMPT:
            prompt = dialogue_text(spec, value)
            if spec.dialogue is not None:
                options.update(_dialogue_voices(spec, job_input))
        elif spec.is_media:
            media[spec.name] = tuple(value) if isinstance(value, list) else (str(value),)
        elif spec.is_option:
            options[spec.name] = value
    return replace(draft, media=media, prompt=prompt, options=options)


def prompt_of(model: ModelSpec | None, job_input: Mapping[str, Any]) -> str | None:
    """The prompt a job was run with (for captions), if the model has one."""
    spec = model.prompt if model else None
    return dialogue_text(spec, job_input[spec.name]) if spec is not None and spec.name in job_input else None


def _dialogue_voices(spec: InputSpec, job_input: Mapping[str, Any]) -> dict[str, OptionValue]:
    """The voice options a dialogue was run with, read back from its turns (or its speakers list)."""
    shape = spec.dialogue
    assert shape is not None
    rows = job_input.get(shape.speakers_field or spec.name)
    voices = [row.get(shape.voice_key) for row in rows if isinstance(row, Mapping)] if isinstance(rows, list) else []
    return {name: voice for name, voice in zip(shape.voices, voices) if isinstance(voice, str)}
