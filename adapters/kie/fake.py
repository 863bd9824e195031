"""An in-process, deterministic stand-in for KIE AI (``GenerationGateway``) for the terminal simulator and tests.

Behaves like KIE's market API (docs: /work/shared/kie/KIE_API.md §3, §5): a task goes
waiting → queuing → generating → success | fail as the injected clock advances, and a successful task points at
real, small files on disk (file:// URLs). Nothing here sleeps; time comes only from ``clock.now()``.

Scripting, for demos and tests:

* a prompt/text containing the word ``REJECT`` is refused at submit (content policy, ``GatewayRejectedError``);
* a prompt containing ``FAIL`` ends in state fail (failCode "500");
* a prompt containing ``HANG`` stays in generating forever;
* ``fail_next_submits(n, error)`` makes the next n submit calls raise ``error``;
* ``fail_next_tasks(n, message)`` / ``hang_next_tasks(n)`` script the outcome of the next n accepted tasks
  (a scripted outcome wins over prompt keywords);
* ``set_offline(True)`` makes every call raise ``GatewayUnavailableError``.

The keywords are matched as whole upper-case words, so ordinary prompts ("a failed soufflé") are unaffected.
"""

from __future__ import annotations

import asyncio
import mimetypes
import re
import secrets
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping

from adapters.kie import fake_families, fake_media
from ports.catalog import Catalog, OutputKind
from ports.clock import Clock
from ports.generation import (
    GatewayHealth,
    GatewayError,
    GatewayRejectedError,
    GatewayUnavailableError,
    MARKET_API,
    GenerationRequest,
    TaskState,
    TaskStatus,
    UnknownTaskError,
)

DEFAULT_DURATIONS: Mapping[OutputKind, float] = {
    OutputKind.IMAGE: 4.0,
    OutputKind.VIDEO: 8.0,
    OutputKind.AUDIO: 4.0,
    OutputKind.TEXT: 3.0,
}
# Share of the total duration spent in each non-terminal state (the rest is "generating").
WAITING_SHARE = 0.10
QUEUING_SHARE = 0.20

FAIL_CODE = "500"
MAX_IMAGES = 4  # num_images of a model the fake knows nothing about
MAX_FILES = 10  # a catalog model's count option (Telegram albums hold 10)

_TEXT_FIELDS = ("prompt", "text")
_VIDEO_HINTS = ("video", "avatar", "infinitalk", "animate", "sora", "kling", "hailuo", "veo", "runway")
_AUDIO_HINTS = ("audio", "elevenlabs", "suno", "sound", "speech", "music")
_SAFE_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}")


def guess_output(model: str) -> OutputKind:
    """The output kind a model id suggests when the catalog does not say."""
    name = model.lower()
    if "speech-to-text" in name:
        return OutputKind.TEXT
    if any(hint in name for hint in _VIDEO_HINTS):
        return OutputKind.VIDEO
    if any(hint in name for hint in _AUDIO_HINTS):
        return OutputKind.AUDIO
    return OutputKind.IMAGE


@dataclass(frozen=True)
class ResultShape:
    """What a model returns: its kind, how many files, or the input whose value says how many."""

    kind: OutputKind
    count: int = 1
    count_field: str | None = None


def shapes_from_catalog(catalog: Catalog) -> dict[str, ResultShape]:
    """Every catalog model's result shape: its output kind and its file count (a count option such as
    num_images / max_images / n when the model has one, else the catalog's ``results``)."""
    shapes = {}
    for model in catalog.models:
        counted = model.quantity_field if model.billing_unit != "output_second" else None
        shapes[model.id] = ResultShape(model.output, model.results, counted)
    return shapes


@dataclass(frozen=True)
class _Outcome:
    hang: bool = False
    fail_message: str | None = None
    fail_code: str = FAIL_CODE


_SUCCESS = _Outcome()


@dataclass(frozen=True)
class Upload:
    """One file stored by ``upload``, as recorded for tests."""

    url: str
    path: Path
    file_name: str
    mime_type: str
    size: int


@dataclass
class _Task:
    task_id: str
    request: GenerationRequest
    kind: OutputKind
    count: int
    created: datetime
    duration: float
    outcome: _Outcome
    skip_stages: bool = False
    result: TaskStatus | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class FakeKieGateway:
    def __init__(
        self,
        clock: Clock,
        files_dir: Path,
        *,
        outputs: Mapping[str, OutputKind] | None = None,
        shapes: Mapping[str, ResultShape] | None = None,
        durations: Mapping[OutputKind, float] | None = None,
        speed: float = 1.0,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        merged = {**DEFAULT_DURATIONS, **(durations or {})}
        if any(seconds <= 0 for seconds in merged.values()):
            raise ValueError("durations must be positive")
        self._clock = clock
        self._files_dir = Path(files_dir)
        self._outputs = dict(outputs or {})
        self._shapes = dict(shapes or {})
        self._durations = {kind: seconds / speed for kind, seconds in merged.items()}
        self._speed = speed
        self._explicit = frozenset(durations or {})  # kinds whose duration the caller set: no family default
        self._tasks: dict[str, _Task] = {}
        self._submit_errors: deque[GatewayError] = deque()
        self._outcomes: deque[_Outcome] = deque()
        self._skip_stages = 0
        self._offline = False
        self._credits = Decimal("1000")
        self._upload_count = 0
        # Ids and file names carry a per-instance prefix: a restarted process never reuses an earlier
        # run's task ids (its tasks are gone) nor overwrites that run's files.
        self._run = secrets.token_hex(3)
        # Public records for tests: accepted requests in submit order (task n ↔ submitted[n-1]), stored uploads.
        self.submitted: list[GenerationRequest] = []
        self.uploads: list[Upload] = []

    # --- scripting -----------------------------------------------------------------------------------------

    def set_offline(self, offline: bool) -> None:
        self._offline = offline

    def set_credits(self, credits: Decimal) -> None:
        self._credits = Decimal(credits)

    async def credits(self) -> Decimal:
        self._check_online()
        return self._credits

    def health(self) -> GatewayHealth:
        if self._offline:
            return GatewayHealth("down", accepting=False, last_error="unavailable", last_call_at=self._clock.now())
        return GatewayHealth("ok", last_call_at=self._clock.now())

    def fail_next_submits(self, n: int, error: GatewayError) -> None:
        """The next ``n`` submit calls raise ``error`` (nothing is created)."""
        self._submit_errors.extend([error] * _count(n))

    def fail_next_tasks(self, n: int = 1, message: str = "Internal server error", code: str = FAIL_CODE) -> None:
        """The next ``n`` accepted tasks end in state fail with this failCode/failMsg."""
        self._outcomes.extend([_Outcome(fail_message=message, fail_code=code)] * _count(n))

    def skip_stages_next_tasks(self, n: int = 1) -> None:
        """The next ``n`` accepted Suno tasks go from pending straight to success (KIE may skip text/first)."""
        self._skip_stages += _count(n)

    def hang_next_tasks(self, n: int = 1) -> None:
        """The next ``n`` accepted tasks stay in generating forever."""
        self._outcomes.extend([_Outcome(hang=True)] * _count(n))

    # --- GenerationGateway ---------------------------------------------------------------------------------

    async def submit(self, request: GenerationRequest) -> str:
        self._check_online()
        if self._submit_errors:
            raise self._submit_errors.popleft()
        _validate(request)
        if request.api in fake_families.SOURCES or request.model in fake_families.SOURCE_MODELS:
            await self._check_source(request)
        task_id = f"fake_task_{self._run}_{len(self._tasks) + 1:06d}"
        shape = self._shapes.get(request.model)
        kind = (
            (shape.kind if shape else None)
            or self._outputs.get(request.model)
            or fake_families.OUTPUTS.get(request.api)
            or guess_output(request.model)
        )
        skip = self._skip_stages > 0 and request.api == "suno"
        self._skip_stages -= int(skip)
        self._tasks[task_id] = _Task(
            task_id=task_id,
            request=request,
            kind=kind,
            count=_file_count(shape, request.input),
            created=self._clock.now(),
            duration=self._duration(request.api, kind),
            outcome=self._outcomes.popleft() if self._outcomes else _keyword_outcome(request.input),
            skip_stages=skip,
        )
        self.submitted.append(request)
        return task_id

    async def status(self, task_id: str, api: str = MARKET_API) -> TaskStatus:
        """As ``api``'s status endpoint answers: a task is unknown to every other family's endpoint."""
        self._check_online()
        task = self._tasks.get(task_id)
        if task is None or task.request.api != api:
            raise UnknownTaskError(f"recordInfo is null: unknown task id {task_id!r}")
        return fake_families.visible(api, await self._lifecycle(task))

    async def _check_source(self, request: GenerationRequest) -> None:
        """A follow-up works on a finished task of its source family, as KIE checks ("record is null",
        "record status is not success")."""
        source = self._tasks.get(fake_families.source_task_id(request.input))
        if request.api in fake_families.SOURCES:
            fits = source is not None and source.request.api == fake_families.SOURCES[request.api]
        else:
            fits = source is not None and source.request.model in fake_families.SOURCE_MODELS[request.model]
        if not fits or source is None:
            raise GatewayRejectedError("record is null")
        if (await self._lifecycle(source)).state is not TaskState.SUCCESS:
            raise GatewayRejectedError("record status is not success")

    async def _lifecycle(self, task: _Task) -> TaskStatus:
        task_id = task.task_id
        elapsed = (self._clock.now() - task.created).total_seconds()
        share = elapsed / task.duration
        if share < WAITING_SHARE:
            return TaskStatus(task_id, TaskState.WAITING, progress=0)
        if share < WAITING_SHARE + QUEUING_SHARE:
            return TaskStatus(task_id, TaskState.QUEUING, progress=0)
        if share < 1.0 or task.outcome.hang:
            generated = (share - WAITING_SHARE - QUEUING_SHARE) / (1.0 - WAITING_SHARE - QUEUING_SHARE)
            stage = fake_families.stage_of(
                task.request.api, generated, skip_stages=task.skip_stages,
                instrumental=fake_families.instrumental(task.request.input),
            )
            return TaskStatus(task_id, TaskState.GENERATING, progress=min(99, int(generated * 100)), stage=stage)
        if task.outcome.fail_message is not None:
            return TaskStatus(
                task_id,
                TaskState.FAIL,
                fail_code=task.outcome.fail_code,
                fail_message=task.outcome.fail_message,
            )
        return await self._success(task)

    async def upload(self, data: bytes, file_name: str, mime_type: str) -> str:
        self._check_online()
        if not data:
            raise GatewayRejectedError("Upload rejected: the file is empty")
        self._upload_count += 1
        # The stored name is ours; file_name only lends a harmless extension, never a path.
        name = f"upload_{self._run}_{self._upload_count:06d}{_suffix(file_name, mime_type)}"
        path = (self._files_dir / "uploads" / name).resolve()
        await asyncio.to_thread(fake_media.write_file, path, bytes(data))
        url = path.as_uri()
        self.uploads.append(Upload(url, path, file_name, mime_type, len(data)))
        return url

    # --- internals -----------------------------------------------------------------------------------------

    def _duration(self, api: str, kind: OutputKind) -> float:
        family = fake_families.DURATIONS.get(api)
        return self._durations[kind] if family is None or kind in self._explicit else family / self._speed

    def _check_online(self) -> None:
        if self._offline:
            raise GatewayUnavailableError("KIE is unreachable (the fake gateway is offline)")

    async def _success(self, task: _Task) -> TaskStatus:
        async with task.lock:  # write each task's files once, even when polled concurrently
            if task.result is None:
                task.result = await asyncio.to_thread(self._write_result, task)
        return task.result

    def _write_result(self, task: _Task) -> TaskStatus:
        """Runs in a worker thread: create the task's result files and build its final status."""
        results = self._files_dir / "results"
        seed = f"{task.request.model}\n{_prompt(task.request.input)}"
        if task.kind is OutputKind.TEXT:
            text = fake_media.transcript(str(task.request.input.get("audio_url", "")))
            return TaskStatus(task.task_id, TaskState.SUCCESS, result_text=text, progress=100)
        if task.kind is OutputKind.VIDEO:
            paths = [fake_media.write_video(results / f"{task.task_id}.mp4")]
        elif task.kind is OutputKind.AUDIO:
            count = fake_families.result_count(task.request.api, task.request.input) or 1
            paths = [
                fake_media.write_wav(results / f"{task.task_id}{_nth(index, count)}.wav", seed + _nth(index, count))
                for index in range(1, count + 1)
            ]
        else:
            count = fake_families.result_count(task.request.api, task.request.input) or task.count
            paths = [
                fake_media.write_png(results / f"{task.task_id}_{index}.png", f"{seed}\n{index}")
                for index in range(1, count + 1)
            ]
        urls = tuple(path.resolve().as_uri() for path in paths)
        titles = fake_families.titles(task.request.api, task.request.input, len(urls))
        return TaskStatus(task.task_id, TaskState.SUCCESS, result_urls=urls, progress=100, result_titles=titles)


def _nth(index: int, count: int) -> str:
    return f"_{index}" if count > 1 else ""


def _count(n: int) -> int:
    if n < 0:
        raise ValueError("n must not be negative")
    return n


def _validate(request: GenerationRequest) -> None:
    if not isinstance(request.model, str) or not request.model.strip():
        raise GatewayRejectedError("Validation error: model is required")
    if not isinstance(request.input, Mapping):
        raise GatewayRejectedError("Validation error: input must be an object")
    if _has_keyword(request.input, "REJECT"):
        raise GatewayRejectedError("Content policy violation: the prompt was flagged (it contains REJECT)")


def _keyword_outcome(inputs: Mapping[str, Any]) -> _Outcome:
    if _has_keyword(inputs, "HANG"):
        return _Outcome(hang=True)
    if _has_keyword(inputs, "FAIL"):
        return _Outcome(fail_message="Scripted failure: prompt contains FAIL")
    return _SUCCESS


def _has_keyword(inputs: Mapping[str, Any], word: str) -> bool:
    pattern = re.compile(rf"\b{word}\b")
    return any(isinstance(inputs.get(name), str) and pattern.search(inputs[name]) for name in _TEXT_FIELDS)


def _prompt(inputs: Mapping[str, Any]) -> str:
    return next((inputs[name] for name in _TEXT_FIELDS if isinstance(inputs.get(name), str)), "")


def _file_count(shape: ResultShape | None, inputs: Mapping[str, Any]) -> int:
    if shape is None:
        return _image_count(inputs)
    if shape.count_field is None or shape.count_field not in inputs:
        return shape.count
    try:
        return max(1, min(MAX_FILES, int(inputs[shape.count_field])))
    except (TypeError, ValueError):
        return shape.count


def _image_count(inputs: Mapping[str, Any]) -> int:
    """``num_images`` as KIE's multi-image models take it (an int or a numeric string), clamped to 1..4."""
    try:
        return max(1, min(MAX_IMAGES, int(inputs.get("num_images", 1))))
    except (TypeError, ValueError):
        return 1


def _suffix(file_name: str, mime_type: str) -> str:
    suffix = Path(file_name.replace("\\", "/")).suffix if file_name else ""
    if _SAFE_SUFFIX.fullmatch(suffix):
        return suffix.lower()
    return mimetypes.guess_extension(mime_type or "") or ".bin"
