"""The generation service (KIE AI or a fake) as the core sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Mapping, Protocol


class TaskState(str, Enum):
    """KIE's own states (recordInfo ``data.state``)."""

    WAITING = "waiting"
    QUEUING = "queuing"
    GENERATING = "generating"
    SUCCESS = "success"
    FAIL = "fail"

    @property
    def terminal(self) -> bool:
        return self in (TaskState.SUCCESS, TaskState.FAIL)


# KIE's API families (KIE_API.md §6): "market" is /api/v1/jobs/createTask; the others are dedicated APIs with
# their own endpoints, fields and statuses. The catalog names each model's family (``api:``); the gateway
# speaks it. The core only passes the name through.
MARKET_API = "market"
API_FAMILIES = ("market", "veo", "suno", "runway", "aleph", "kontext", "gpt4o", "mj", "veo_1080p", "veo_extend",
                "suno_wav", "suno_extend", "mj_upscale", "mj_vary")
# Follow-up families work on an earlier task of another family (the source job's task id is an input):
# veo_1080p fetches the 1080p version of a finished Veo video, veo_extend continues one (a new Veo task);
# suno_wav and suno_extend work on one track of a finished song; mj_upscale and mj_vary on one image of a grid.


class Stage(str, Enum):
    """A named milestone a family reports while a task is still running (Suno: lyrics, then the first track)."""

    LYRICS = "lyrics"
    FIRST_TRACK = "first_track"


@dataclass(frozen=True)
class GenerationRequest:
    model: str
    input: Mapping[str, Any]
    callback_url: str | None = None
    # Our job id, for logs and tracing only (KIE has no idempotency key).
    job_id: str = ""
    api: str = MARKET_API
    # The caller took this request's slot of the shared submit budget (ports/budgets.py) already (the job
    # runner's submission queue): the gateway takes slots itself only for requests without one, and for resends.
    slot_taken: bool = False


@dataclass(frozen=True)
class TaskStatus:
    task_id: str
    state: TaskState
    result_urls: tuple[str, ...] = ()
    # Structured results (speech-to-text) are rendered to text by the gateway.
    result_text: str | None = None
    fail_code: str | None = None
    fail_message: str | None = None
    progress: int | None = None
    # KIE credits the task cost (recordInfo ``creditsConsumed``; older answers ``consumeCredits``).
    credits_consumed: Decimal | None = None
    # A milestone of a running task (Suno's staged generation), None when the family has none.
    stage: Stage | None = None
    # One title per result URL where the family names its results (Suno tracks); () otherwise.
    result_titles: tuple[str, ...] = ()


class GatewayError(Exception):
    """Base of every generation-service error. ``retryable`` tells the caller whether trying again may help."""

    retryable: bool = False
    # A short machine code the core maps to a user-facing text (texts key ``gateway_<code>``).
    code: str = "error"


class GatewayUnavailableError(GatewayError):
    """Network failure, timeout, 5xx, 429, maintenance, or the circuit breaker is open."""

    retryable = True
    code = "unavailable"


class GatewayRateLimitedError(GatewayUnavailableError):
    """The service refused a new task for the request rate (KIE 429: not queued). ``retry_after``: seconds, when
    the service said; the caller shrinks the shared submit budget (ports/budgets.py) for that long."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class GatewayRejectedError(GatewayError):
    """The request itself is wrong (validation, content policy); the user must change something."""

    code = "rejected"


class GatewayAuthError(GatewayError):
    """The operator's API key is missing or invalid."""

    code = "auth"


class GatewayQuotaError(GatewayError):
    """The operator's account has no credits left."""

    code = "quota"


class UnknownTaskError(GatewayError):
    """The service does not know this task id."""

    code = "unknown_task"


@dataclass(frozen=True)
class GatewayHealth:
    """What the latest real calls said about the service (never a call of its own)."""

    state: str = "unknown"  # "ok" | "degraded" (recent transient errors) | "down" (breaker open) | "unknown"
    accepting: bool = True  # False while the circuit breaker is open: do not start new work
    last_error: str | None = None  # a GatewayError code, e.g. "unavailable", "auth", "quota"
    last_call_at: datetime | None = None
    retry_at: datetime | None = None  # when the open breaker lets a trial call through


class GenerationGateway(Protocol):
    async def submit(self, request: GenerationRequest) -> str:
        """Create a task; return its task id."""
        ...

    async def status(self, task_id: str, api: str = MARKET_API) -> TaskStatus:
        """The task's state, read from ``api``'s status endpoint (a task id is only known to its family)."""
        ...

    async def upload(self, data: bytes, file_name: str, mime_type: str) -> str:
        """Store a user's file where the generator can read it; return its URL."""
        ...

    async def credits(self) -> Decimal:
        """The operator's remaining credits at the generation service."""
        ...

    def health(self) -> GatewayHealth:
        """From memory: the state seen on the latest calls (for /health, admins, and refusing launches
        while the service is down)."""
        ...
