"""What every family module shares: the ``Family`` record, field renaming, and reading a status answer."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from adapters.kie.envelope import percent, unexpected
from ports.generation import GenerationRequest, TaskState, TaskStatus, UnknownTaskError

# A Suno request without callBackUrl is refused ("Please enter callBackUrl."). When the bot has no public
# callback URL it sends this one: a reserved name (RFC 2606 ``.invalid``) that can never reach anyone, so KIE
# accepts the request and completion is driven by polling alone.
UNREACHABLE_CALLBACK = "https://callback.invalid/kie"

Build = Callable[[GenerationRequest], dict[str, Any]]
Read = Callable[[str, Any], TaskStatus]


@dataclass(frozen=True)
class Family:
    name: str
    create_path: str
    status_path: str
    build: Build  # the JSON body without callBackUrl
    read: Read  # (task id, envelope data) -> TaskStatus; raises UnknownTaskError / CallFailure
    callback_required: bool = False

    @property
    def create_endpoint(self) -> str:
        return "createTask" if self.name == "market" else f"{self.name}/generate"

    @property
    def status_endpoint(self) -> str:
        return "recordInfo" if self.name == "market" else f"{self.name}/record-info"


def variant(request: GenerationRequest) -> str:
    """The family variant a catalog id names: "veo/veo3_fast" → "veo3_fast", "suno/V5/lyrics" → "V5"."""
    prefix = f"{request.api}/"
    if not request.model.startswith(prefix):
        return request.model
    return request.model[len(prefix):].split("/", 1)[0]


_CAMEL = re.compile(r"_([a-z0-9])")


def camel(name: str) -> str:
    return _CAMEL.sub(lambda match: match.group(1).upper(), name)


def top_level(
    inputs: Mapping[str, Any], *, keep: Iterable[str] = (), ints: Iterable[str] = (), drop: Iterable[str] = ()
) -> dict[str, Any]:
    """The catalog's input (snake_case) as a family's top-level camelCase fields; ``keep`` names fields the
    family spells in snake_case, ``ints`` fields sent as integers (catalog enums are strings)."""
    keep, ints, drop = set(keep), set(ints), set(drop)
    body: dict[str, Any] = {}
    for name, value in inputs.items():
        if name in drop or value is None:
            continue
        if name in ints and isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        body[name if name in keep else camel(name)] = value
    return body


def record_of(endpoint: str, task_id: str, data: Any) -> Mapping[str, Any]:
    """The status ``data`` object; ``null`` means KIE does not know the task (Suno's documented answer)."""
    if data is None:
        raise UnknownTaskError(f"KIE {endpoint} has no record of task {task_id!r}")
    if not isinstance(data, Mapping):
        raise unexpected(endpoint, "data is not an object")
    return data


def dig(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def urls_of(value: Any) -> tuple[str, ...]:
    """A list of URL strings (or of ``{resultUrl|url}`` objects), or one URL string."""
    if isinstance(value, str):
        return (value,) if value else ()
    found: list[str] = []
    if isinstance(value, list):
        for item in value:
            if isinstance(item, Mapping):
                item = item.get("resultUrl") or item.get("url")
            if isinstance(item, str) and item:
                found.append(item)
    return tuple(found)


def text(value: Any) -> str | None:
    if value is None:
        return None
    said = str(value).strip()
    return said or None


# successFlag families (Veo, Aleph, Flux Kontext, Midjourney): 0 generating, 1 success, 2 failed (create),
# 3 generation failed.
_FLAGS = {0: TaskState.GENERATING, 1: TaskState.SUCCESS, 2: TaskState.FAIL, 3: TaskState.FAIL}


def flag_state(endpoint: str, flag: Any) -> TaskState:
    try:
        return _FLAGS[int(flag)]
    except (TypeError, ValueError, KeyError):
        raise unexpected(endpoint, f"unknown successFlag {str(flag)[:20]!r}") from None


def flag_status(
    endpoint: str, task_id: str, record: Mapping[str, Any], urls: tuple[str, ...], *,
    fail_code_key: str = "errorCode", fail_message_key: str = "errorMessage",
) -> TaskStatus:
    """A successFlag record as a TaskStatus: a success must carry at least one result URL."""
    task = text(record.get("taskId")) or task_id
    state = flag_state(endpoint, record.get("successFlag"))
    if state is TaskState.FAIL:
        flag = record.get("successFlag")
        return TaskStatus(
            task, state, fail_code=text(record.get(fail_code_key)) or f"successFlag_{flag}",
            fail_message=text(record.get(fail_message_key)) or "generation failed",
        )
    if state is TaskState.SUCCESS:
        if not urls:
            raise unexpected(endpoint, "a successful task without result URLs")
        return TaskStatus(task, state, result_urls=urls, progress=100)
    return TaskStatus(task, state, progress=fraction_progress(record.get("progress")))


def fraction_progress(value: Any) -> int | None:
    """4o's "0.00"–"1.00" (or a 0–100 number) as a percentage."""
    return percent(value, fraction=True)
