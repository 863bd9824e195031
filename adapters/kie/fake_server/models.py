"""Records, rules, message texts and small helpers shared by the fake KIE server's modules."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from aiohttp import web

from ports.catalog import OutputKind
from ports.generation import TaskState, TaskStatus

# Texts KIE answers with (KIE_API.md §1, §3, §3.5, §5).
NO_ACCESS = "You do not have access permissions"
NOT_PUBLISHED = "The page does not exist or is not published"
FIELD_REQUIRED = "This field is required"
RECORD_NULL = "recordInfo is null"
NO_CREDITS = "Credits insufficient"
RATE_LIMITED = "Rate limited"
EXTERNAL_URL = "Only KIE-generated file URLs are supported"
UPLOADED = "File uploaded successfully"
CALLBACK_OK = "Playground task completed successfully."
CALLBACK_FAILED = "Playground task failed."
CLOUDFLARE_BODY = "error code: 1010"

# Cloudflare's 1010 ("browser signature banned") hits library default User-Agents (KIE_API.md §1).
BLOCKED_USER_AGENTS = ("python-httpx/", "python-requests/", "python-urllib/", "python/")

FAMILY_APIS = ("veo", "suno", "runway", "aleph", "kontext", "gpt4o", "mj")
ENDPOINTS = (
    "createTask", "recordInfo", "credit", "download-url", "upload",
    *(f"{api}/{verb}" for api in FAMILY_APIS for verb in ("generate", "record-info")),
    "veo/get-1080p-video", "veo_extend/generate", "suno_extend/generate", "suno_wav/generate", "suno_wav/record-info",
    "mj_upscale/generate", "mj_vary/generate",
)
UPLOAD_ENDPOINTS = ("file-stream-upload", "file-base64-upload", "file-url-upload")
CALLBACK_MODES = ("once", "twice", "never", "late")

DEFAULT_PRICE = Decimal("1")
TEMP_URL_SECONDS = 20 * 60  # download-url links live 20 minutes (§4.2)
URL_FETCH_SECONDS = 30.0  # file-url-upload download timeout (§5)
MAX_UPLOAD = 100 * 1024 * 1024

_ORDER = {
    TaskState.WAITING: 0,
    TaskState.QUEUING: 1,
    TaskState.GENERATING: 2,
    TaskState.SUCCESS: 3,
    TaskState.FAIL: 3,
}


@dataclass(frozen=True)
class ModelRules:
    """What the fake checks for one model id: the input fields that must be present, the kind of output it
    produces, and what a successful task costs."""

    required: tuple[str, ...] = ()
    output: OutputKind = OutputKind.IMAGE
    credits: Decimal = DEFAULT_PRICE
    count: int = 1  # files a successful task returns
    count_field: str | None = None  # ... or the input whose value says how many


@dataclass(frozen=True)
class KieRequest:
    """One HTTP call the fake received. ``headers`` never holds Authorization; ``auth`` says what it was
    ("ok", "missing" or "wrong"). ``body`` is the JSON body, the form fields (a file part appears as
    ``{"filename", "content_type", "size"}``) or, for GET, the query parameters."""

    endpoint: str
    method: str
    body: Any
    headers: dict[str, str]
    auth: str


@dataclass(frozen=True)
class CallbackAttempt:
    """One callback POST: ``status`` is the receiver's HTTP status, or None with ``error`` set."""

    task_id: str
    url: str
    body: dict[str, Any]
    status: int | None
    error: str | None = None


@dataclass(frozen=True)
class Scripted:
    code: int = 500
    msg: str = "Server error"
    http_status: int | None = None


@dataclass
class TaskRecord:
    """The HTTP layer's view of one task (the lifecycle itself lives in FakeKieGateway)."""

    task_id: str
    model: str
    param: str
    callback_url: str | None
    price: Decimal
    created: datetime
    updated: datetime
    state: TaskState = TaskState.WAITING
    progress: int = 0
    completed: datetime | None = None
    status: TaskStatus | None = None
    result_json: str | None = None
    # Dedicated families (family_records.py): the API, the request body, published result URLs, Suno's stage.
    api: str = "market"
    body: dict[str, Any] = field(default_factory=dict)
    result_urls: tuple[str, ...] = ()
    titles: tuple[str, ...] = ()
    stage: str | None = None

    def advance(self, status: TaskStatus, now: datetime) -> bool:
        """Take a fresher status from the gateway, never going backwards; True when the task just ended."""
        if self.completed is not None:
            return False
        if _ORDER[status.state] > _ORDER[self.state]:
            self.state = status.state
            self.updated = now
        if status.progress is not None and status.progress > self.progress:
            self.progress = status.progress
            self.updated = now
        if not status.state.terminal:
            return False
        self.state = status.state
        self.status = status
        self.completed = now
        self.updated = now
        return True

    def data(self) -> dict[str, Any]:
        """``data`` of recordInfo and of the callback (KIE_API.md §3.2, §3.5)."""
        failed = self.state is TaskState.FAIL and self.status is not None
        return {
            "taskId": self.task_id,
            "model": self.model,
            "state": self.state.value,
            "param": self.param,
            "resultJson": self.result_json,
            "failCode": (self.status.fail_code or "") if failed else "",
            "failMsg": (self.status.fail_message or "") if failed else "",
            "costTime": ms(self.completed) - ms(self.created) if self.completed else None,
            "createTime": ms(self.created),
            "updateTime": ms(self.updated),
            "completeTime": ms(self.completed) if self.completed else None,
            "progress": self.progress,
            # What the task cost, as KIE reports it once the task is done (charged on success only).
            "creditsConsumed": _number(self.price) if self.state is TaskState.SUCCESS else 0 if self.completed else None,
        }


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


@dataclass
class Served:
    """A file the fake hands out a URL for: only these are ever served."""

    relative: str
    minted: datetime
    expires: datetime | None = None


@dataclass
class Scripts:
    """Per-endpoint queues of scripted failures and delays."""

    failures: dict[str, list[Scripted]] = field(default_factory=dict)
    delays: dict[str, list[float]] = field(default_factory=dict)
    links: list[list[str]] = field(default_factory=list)  # result links the next successes report instead

    def take(self, endpoint: str) -> tuple[float, Scripted | None]:
        delay = 0.0
        failure = None
        for name in _script_names(endpoint):
            if self.delays.get(name) and not delay:
                delay = self.delays[name].pop(0)
            if self.failures.get(name) and failure is None:
                failure = self.failures[name].pop(0)
        return delay, failure


def _script_names(endpoint: str) -> tuple[str, ...]:
    return (endpoint, "upload") if endpoint in UPLOAD_ENDPOINTS else (endpoint,)


class SystemClock:
    """Real time (adapters.system.clock's twin; an adapter may not import another adapter)."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def envelope(code: int, msg: str, data: Any = None, *, key: str = "msg") -> web.Response:
    """KIE's answer shape: business results and errors alike arrive with HTTP 200 (KIE_API.md §2)."""
    return web.json_response({"code": code, key: msg, "data": data})


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def iso_ms(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
