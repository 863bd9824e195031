"""How FakeKieGateway answers for KIE's dedicated API families (KIE_API.md §6): what each family produces,
which of the market's states and progress it can show, Suno's stages, and the number of results.

The lifecycle stays FakeKieGateway's (waiting → queuing → generating → success | fail on the clock); this
module only narrows it to what each family's status endpoint can express, so the in-process fake and the HTTP
fake server tell the same story."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

from ports.catalog import OutputKind
from ports.generation import MARKET_API, Stage, TaskState, TaskStatus

OUTPUTS: Mapping[str, OutputKind] = {
    "veo": OutputKind.VIDEO,
    "runway": OutputKind.VIDEO,
    "aleph": OutputKind.VIDEO,
    "suno": OutputKind.AUDIO,
    "kontext": OutputKind.IMAGE,
    "gpt4o": OutputKind.IMAGE,
    "mj": OutputKind.IMAGE,
    "veo_1080p": OutputKind.VIDEO,
    "veo_extend": OutputKind.VIDEO,
    "suno_wav": OutputKind.AUDIO,
    "suno_extend": OutputKind.AUDIO,
    "mj_upscale": OutputKind.IMAGE,
    "mj_vary": OutputKind.IMAGE,
}
# Follow-up families: the family whose finished task (input ``task_id``) they work on.
SOURCES: Mapping[str, str] = {"veo_1080p": "veo", "veo_extend": "veo", "suno_wav": "suno", "suno_extend": "suno",
                               "mj_upscale": "mj", "mj_vary": "mj"}
SONG_APIS = frozenset({"suno", "suno_extend"})  # Suno's status values and callbacks
# Market follow-ups (their input ``task_id``): the market models whose finished task they accept.
SOURCE_MODELS: Mapping[str, frozenset[str]] = {
    "grok-imagine/upscale": frozenset({"grok-imagine/text-to-video"}),
    "grok-imagine/extend": frozenset({"grok-imagine/text-to-video"}),
}
# successFlag families and 4o report only "generating" before the end; Suno's PENDING is our waiting.
_ONLY_GENERATING = frozenset({"veo", "aleph", "kontext", "mj", "gpt4o", "veo_1080p", "veo_extend", "suno_wav",
                              "mj_upscale", "mj_vary"})
_WITH_PROGRESS = frozenset({MARKET_API, "gpt4o", "runway"})
# Seconds a family's task takes when the fake was not given a duration for its kind (a song takes long
# enough that polling at 2.5 s × 1.5 sees lyrics, then the first track, then the end).
DURATIONS: Mapping[str, float] = {"suno": 45.0, "veo_1080p": 20.0, "suno_extend": 30.0, "suno_wav": 10.0}
SUNO_TRACKS = 2
MJ_GRID = 4
# Share of the generating phase after which Suno reports lyrics, then the first track.
LYRICS_AT = 0.2
FIRST_TRACK_AT = 0.6


def stage_of(api: str, generated: float, *, skip_stages: bool, instrumental: bool) -> Stage | None:
    if api != "suno" or skip_stages:
        return None
    if generated >= FIRST_TRACK_AT:
        return Stage.FIRST_TRACK
    if generated >= LYRICS_AT and not instrumental:  # an instrumental has no lyrics stage
        return Stage.LYRICS
    return None


def visible(api: str, status: TaskStatus) -> TaskStatus:
    """The status as ``api``'s endpoint can express it."""
    if api == MARKET_API:
        return status
    if api in _ONLY_GENERATING and status.state in (TaskState.WAITING, TaskState.QUEUING):
        status = replace(status, state=TaskState.GENERATING)
    if api in SONG_APIS and status.state is TaskState.QUEUING:
        status = replace(status, state=TaskState.WAITING)
    if api not in _WITH_PROGRESS and not status.state.terminal:
        status = replace(status, progress=None)
    return status


def field(inputs: Mapping[str, Any], snake: str) -> Any:
    """An input by its catalog (snake_case) or KIE body (camelCase) name: the fake server passes bodies on."""
    head, *rest = snake.split("_")
    return inputs.get(snake, inputs.get(head + "".join(part.title() for part in rest)))


def result_count(api: str, inputs: Mapping[str, Any]) -> int | None:
    """How many files a family's success carries (None: the market's num_images rule)."""
    if api in SONG_APIS:
        return SUNO_TRACKS
    if api in ("mj", "mj_vary"):
        return MJ_GRID
    if api == "gpt4o":
        try:
            return max(1, min(4, int(field(inputs, "n_variants") or 1)))
        except (TypeError, ValueError):
            return 1
    if api in OUTPUTS:
        return 1
    return None


def titles(api: str, inputs: Mapping[str, Any], count: int) -> tuple[str, ...]:
    if api != "suno":
        return ()
    base = str(field(inputs, "title") or "").strip() or "Fake song"
    return tuple(f"{base} ({index})" for index in range(1, count + 1))


def instrumental(inputs: Mapping[str, Any]) -> bool:
    return field(inputs, "instrumental") is True


def source_task_id(inputs: Mapping[str, Any]) -> str:
    """The source task of a follow-up: its ``task_id``, or the song of a Suno track's ``audioId``
    ("<task id>-<index>", as the fake server names tracks)."""
    task_id = field(inputs, "task_id")
    if task_id:
        return str(task_id)
    return str(field(inputs, "audio_id") or "").rsplit("-", 1)[0]
