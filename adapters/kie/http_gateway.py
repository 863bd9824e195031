"""``GenerationGateway`` over KIE AI's HTTP API (docs: /work/shared/kie/KIE_API.md), on one shared httpx client.

Retries: bounded exponential backoff with jitter (through the injected ``sleep``) for transient errors on
recordInfo, credit, download-url and uploads. createTask is resent only when KIE certainly did not accept it
(the connection never opened, or KIE said 429/455): after a read timeout or a 5xx a task may exist, so the
caller decides. A circuit breaker (``breaker.py``) counts calls that still failed transiently after retries.
Logs carry endpoint, HTTP status, envelope code and duration; never the API key, never prompt text. Each
HTTP attempt is also reported to the injected ``metrics`` (endpoint and answer code), and each submission's
wait for the request budget.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any, Self
from urllib.parse import urlparse

import httpx

from adapters.kie import envelope
from adapters.kie.breaker import CircuitBreaker
from adapters.kie.envelope import CallFailure
from adapters.kie.call_parts import cause as _cause, json_body as _json_body, prompt_length as _prompt_length, unique_name as _unique_name
from adapters.kie.families import UNREACHABLE_CALLBACK, family_of, suno_follow_ups, veo_hd
from adapters.kie.submit_limiter import DEFAULT_LIMIT, DEFAULT_WINDOW, LocalSubmitBudget, wait_for_slot
from ports.budgets import SubmitBudget
from ports.clock import Clock
from ports.metrics import NO_METRICS, Metrics
from ports.generation import (
    GatewayAuthError,
    GatewayError,
    GatewayHealth,
    GatewayQuotaError,
    GatewayRateLimitedError,
    GatewayRejectedError,
    GatewayUnavailableError,
    MARKET_API,
    GenerationRequest,
    TaskStatus,
    UnknownTaskError,
)

log = logging.getLogger(__name__)

DEFAULT_USER_AGENT = "TRT-bot/0.2 (+https://github.com/ferixdi-png/TRT)"
UPLOAD_PATH = "trt/uploads"
MAX_BACKOFF = 10.0  # seconds: the cap of one retry delay
CONNECT_TIMEOUT = 10.0
UPLOAD_TIMEOUT_FACTOR = 4  # uploads carry user files (up to tens of MB): a longer write/read budget
DEGRADED_WINDOW = timedelta(minutes=2)  # a transient error this recent makes health "degraded"
ALARM_INTERVAL = timedelta(minutes=1)  # KIE_AUTH_FAILED / KIE_CREDITS_EXHAUSTED at most this often
# After 401/402 launches are refused (health not accepting) this long; then one is let through to retry.
OPERATOR_ERROR_HOLD = timedelta(minutes=1)
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class _Call:
    endpoint: str
    method: str
    url: str
    params: Mapping[str, str] | None = None
    content: bytes | None = None
    files: Mapping[str, Any] | None = None
    form: Mapping[str, str] | None = None
    retry_sent: bool = True  # False: resend only when KIE certainly did not accept the request
    long: bool = False  # an upload: a longer timeout
    generation: bool = False  # a new generation request: takes a slot of KIE's submit budget, each resend too


class KieHttpGateway:
    def __init__(
        self,
        api_base_url: str = "https://api.kie.ai",
        upload_base_url: str = "https://kieai.redpandaai.co",
        api_key: str = "",
        *,
        clock: Clock,
        client: httpx.AsyncClient | None = None,
        timeout: float = 30.0,
        sleep: Sleep = asyncio.sleep,
        retries: int = 3,
        backoff: float = 0.5,
        breaker_threshold: int = 5,
        breaker_cooldown: float = 30.0,
        user_agent: str = DEFAULT_USER_AGENT,
        submit_limit: int = DEFAULT_LIMIT,
        submit_window: float = DEFAULT_WINDOW,
        metrics: Metrics = NO_METRICS,
        submit_budget: SubmitBudget | None = None,
    ) -> None:
        if not api_key or not api_key.strip():
            raise ValueError("a KIE API key is required")
        if timeout <= 0 or retries < 0 or backoff < 0:
            raise ValueError("timeout must be positive; retries and backoff must not be negative")
        self._api = api_base_url.rstrip("/")
        self._upload = upload_base_url.rstrip("/")
        self._clock = clock
        self._sleep = sleep
        self._retries = retries
        self._backoff = backoff
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT))
        self._upload_timeout = httpx.Timeout(timeout * UPLOAD_TIMEOUT_FACTOR, connect=min(timeout, CONNECT_TIMEOUT))
        # Sent on every request (also through an injected client); Content-Type is added per request so
        # multipart uploads get their own boundary header.
        self._headers = {
            "Authorization": f"Bearer {api_key.strip()}",
            "Accept": "application/json",
            "User-Agent": user_agent,
        }
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(
            timeout=self._timeout, limits=httpx.Limits(max_connections=20, max_keepalive_connections=10)
        )
        self._breaker = CircuitBreaker(clock, threshold=breaker_threshold, cooldown=breaker_cooldown)
        self._last_call_at: datetime | None = None
        self._last_error: str | None = None
        self._hold_until: datetime | None = None
        self._last_transient_at: datetime | None = None
        self._alarmed_at: dict[str, datetime] = {}
        self._budget = submit_budget or LocalSubmitBudget(clock, limit=submit_limit, window=submit_window)
        self._rate_hold = submit_window  # KIE's 429 carries no retry_after: new requests wait one window
        self._metrics = metrics

    def __repr__(self) -> str:  # never the key
        return f"KieHttpGateway(api={self._api!r}, upload={self._upload!r})"

    async def aclose(self) -> None:
        """Close the httpx client if this gateway created it (an injected client belongs to its owner)."""
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- GenerationGateway ---------------------------------------------------------------------------------

    async def submit(self, request: GenerationRequest) -> str:
        if request.api == veo_hd.API:
            return await self._submit_hd(request)
        family = family_of(request.api)
        if request.api in suno_follow_ups.NEEDS_AUDIO_ID:
            request = await self._with_audio_id(request)
        payload = family.build(request)
        callback = request.callback_url or (UNREACHABLE_CALLBACK if family.callback_required else None)
        if callback:
            payload["callBackUrl"] = callback
        log.info("KIE_SUBMIT", extra={
            "job": request.job_id or "-", "api": family.name, "model": request.model,
            "input_keys": ",".join(sorted(map(str, request.input))),
            "prompt_len": _prompt_length(request.input), "callback": bool(request.callback_url),
        })
        if not request.slot_taken:
            await self._slot(request.job_id, family.name)
        data = await self._call(
            _Call(family.create_endpoint, "POST", f"{self._api}{family.create_path}",
                  content=_json_body(payload), retry_sent=False, generation=True)
        )
        return self._read(envelope.task_id_of, data)

    async def status(self, task_id: str, api: str = MARKET_API) -> TaskStatus:
        if not task_id:
            raise UnknownTaskError("an empty task id is never a KIE task")
        if api == veo_hd.API:
            return await self._status_hd(task_id)
        family = family_of(api)
        data = await self._call(
            _Call(family.status_endpoint, "GET", f"{self._api}{family.status_path}", params={"taskId": task_id})
        )
        return envelope.web_links_only(self._read(family.read, task_id, data))

    async def _with_audio_id(self, request: GenerationRequest) -> GenerationRequest:
        """Suno's WAV and extend name a track by its audioId, found in the source song's record."""
        source, _ = suno_follow_ups.source_task(request)
        suno = family_of("suno")
        data = await self._call(_Call(suno.status_endpoint, "GET", f"{self._api}{suno.status_path}",
                                      params={"taskId": source}))
        return self._read(suno_follow_ups.with_audio_id, request, data)

    async def _submit_hd(self, request: GenerationRequest) -> str:  # its first GET starts KIE's work: a new request
        if not request.slot_taken:
            await self._slot(request.job_id, veo_hd.API)
        return await veo_hd.submit(lambda params: self._call(
            _Call(veo_hd.ENDPOINT, "GET", f"{self._api}{veo_hd.PATH}", params=params, generation=True)), request)

    async def _slot(self, job_id: str, api: str | None = None) -> None:
        """A slot of the request budget, for callers without a submission queue of their own (``api``: reported
        to /metrics as the submission's wait) and for resends (no ``api``: the submission's wait is reported once)."""
        waited = await wait_for_slot(self._budget, self._sleep)
        if api is not None:
            self._metrics.submission_waited(api, waited)
        if waited:
            log.info("KIE_SUBMIT_THROTTLED", extra={"job": job_id or "-", "waited_s": round(waited, 2)})

    async def _status_hd(self, task_id: str) -> TaskStatus:
        return await veo_hd.status(self._hd_get, task_id)

    async def _hd_get(self, params: Mapping[str, str]) -> Any:
        return await self._call(_Call(veo_hd.ENDPOINT, "GET", f"{self._api}{veo_hd.PATH}", params=params))

    async def upload(self, data: bytes, file_name: str, mime_type: str) -> str:
        if not data:
            raise GatewayRejectedError("Upload rejected: the file is empty")
        name = _unique_name(file_name, mime_type)
        mime = mime_type or "application/octet-stream"
        body = await self._call(
            _Call(envelope.STREAM_UPLOAD, "POST", f"{self._upload}/api/file-stream-upload",
                  files={"file": (name, bytes(data), mime)}, form={"uploadPath": UPLOAD_PATH, "fileName": name},
                  long=True)
        )
        return self._read(envelope.upload_url_of, envelope.STREAM_UPLOAD, body)

    async def upload_from_url(self, url: str, file_name: str = "") -> str:
        """Let KIE fetch a public URL into its upload storage; return the stored file's downloadUrl."""
        name = _unique_name(file_name or PurePosixPath(urlparse(url).path).name, "")
        payload = {"fileUrl": url, "uploadPath": UPLOAD_PATH, "fileName": name}
        body = await self._call(
            _Call(envelope.URL_UPLOAD, "POST", f"{self._upload}/api/file-url-upload",
                  content=_json_body(payload), long=True)
        )
        return self._read(envelope.upload_url_of, envelope.URL_UPLOAD, body)

    async def download_url(self, kie_url: str) -> str:
        """A temporary (20 min) direct link for a KIE-generated file URL."""
        data = await self._call(
            _Call(envelope.DOWNLOAD_URL, "POST", f"{self._api}/api/v1/common/download-url",
                  content=_json_body({"url": kie_url}))
        )
        return self._read(envelope.download_url_of, data)

    async def credits(self) -> Decimal:
        data = await self._call(_Call(envelope.CREDIT, "GET", f"{self._api}/api/v1/chat/credit"))
        return self._read(envelope.credits_of, data)

    def health(self) -> GatewayHealth:
        breaker = self._breaker
        if breaker.is_open():
            return GatewayHealth("down", False, self._last_error, self._last_call_at, breaker.retry_at)
        if self._hold_until is not None and self._clock.now() < self._hold_until:
            return GatewayHealth("down", False, self._last_error, self._last_call_at, self._hold_until)
        if self._last_call_at is None:
            return GatewayHealth(last_error=self._last_error)
        now = self._clock.now()
        recent = self._last_transient_at is not None and now - self._last_transient_at < DEGRADED_WINDOW
        state = "degraded" if breaker.is_half_open() or breaker.failures or recent else "ok"
        return GatewayHealth(state, True, self._last_error, self._last_call_at, breaker.retry_at)

    # --- one logical call: breaker, retries ----------------------------------------------------------------

    async def _call(self, call: _Call) -> Any:
        self._breaker.before_call()
        try:
            data = await self._attempts(call)
        except GatewayError as error:
            self._last_error = error.code
            if isinstance(error, (GatewayAuthError, GatewayQuotaError)):
                # Every launch would fail the same way until the operator acts: stop taking orders for a while.
                self._hold_until = self._clock.now() + OPERATOR_ERROR_HOLD
            if error.retryable:
                self._breaker.failed()
            else:
                self._breaker.succeeded()  # KIE gave a definite answer: the service is reachable
            raise
        except BaseException:  # cancelled: no verdict
            self._breaker.abandoned()
            raise
        self._last_error = None
        self._hold_until = None
        self._breaker.succeeded()
        return data

    async def _attempts(self, call: _Call) -> Any:
        attempt = 0
        while True:
            try:
                return await self._once(call, attempt)
            except CallFailure as failure:
                error = failure.error
                if error.retryable:
                    self._last_transient_at = self._clock.now()
                self._alarm(call.endpoint, error)
                if call.generation and isinstance(error, GatewayRateLimitedError):  # every instance holds back
                    await self._budget.hold(error.retry_after or self._rate_hold)
                allowed = call.retry_sent or failure.resend_safe
                if not (error.retryable and allowed and attempt < self._retries):
                    raise error from failure.original
                delay = self.backoff_delay(attempt)
                log.warning("KIE_RETRY", extra={
                    "endpoint": call.endpoint, "attempt": attempt + 1, "cause": _cause(failure), "delay_s": round(delay, 2),
                })
                await self._sleep(delay)
                if call.generation:
                    await self._slot("")  # a resend is a new request for KIE's rate count
                attempt += 1

    def backoff_delay(self, attempt: int) -> float:
        """Retry ``attempt`` (0-based) waits a random time in [d/2, d], d = backoff·2^attempt capped at MAX_BACKOFF."""
        ceiling = min(self._backoff * 2**attempt, MAX_BACKOFF)
        return random.uniform(ceiling / 2, ceiling)

    async def _once(self, call: _Call, attempt: int) -> Any:
        headers = dict(self._headers)
        if call.files is None:
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            response = await self._client.request(
                call.method, call.url, params=call.params, content=call.content, files=call.files,
                data=call.form, headers=headers, timeout=self._upload_timeout if call.long else self._timeout,
            )
        except httpx.RequestError as error:
            self._last_call_at = self._clock.now()
            self._metrics.kie_call(call.endpoint, type(error).__name__)
            sent = not isinstance(error, _NOT_SENT)
            log.warning("KIE_CALL_FAILED", extra={
                "endpoint": call.endpoint, "error": type(error).__name__, "sent": sent, "duration_ms": _ms(started),
                "attempt": attempt + 1,
            })
            what = "timed out" if isinstance(error, httpx.TimeoutException) else "could not be reached"
            raise CallFailure(
                GatewayUnavailableError(f"KIE {call.endpoint} {what} ({type(error).__name__})"),
                original=error, sent=sent,
            ) from error
        self._last_call_at = self._clock.now()
        try:
            data = envelope.interpret(call.endpoint, response)
        except CallFailure as failure:
            self._metrics.kie_call(call.endpoint, "invalid_body" if failure.kie_code is None else str(failure.kie_code))
            log.warning("KIE_CALL", extra={
                "endpoint": call.endpoint, "http": response.status_code, "code": failure.kie_code,
                "error": failure.error.code, "duration_ms": _ms(started), "attempt": attempt + 1,
            })
            raise
        self._metrics.kie_call(call.endpoint, "200")
        # Polling is frequent: its successes go to DEBUG.
        log.log(
            logging.DEBUG if envelope.is_status_endpoint(call.endpoint) else logging.INFO,
            "KIE_CALL", extra={"endpoint": call.endpoint, "http": response.status_code, "code": 200,
                               "duration_ms": _ms(started), "attempt": attempt + 1},
        )
        return data

    def _read(self, parse: Callable[..., Any], *args: Any) -> Any:
        """Parse a success envelope's data; an unreadable body is a plain (non-retryable) GatewayError."""
        try:
            return parse(*args)
        except CallFailure as failure:
            self._last_error = failure.error.code
            log.warning("KIE_BAD_RESPONSE %s", failure.error)
            raise failure.error from failure.original

    def _alarm(self, endpoint: str, error: GatewayError) -> None:
        """The operator must act: ERROR markers, at most once per ALARM_INTERVAL each."""
        if isinstance(error, GatewayAuthError):
            marker = "KIE_AUTH_FAILED"
        elif isinstance(error, GatewayQuotaError):
            marker = "KIE_CREDITS_EXHAUSTED"
        else:
            return
        now = self._clock.now()
        last = self._alarmed_at.get(marker)
        if last is not None and now - last < ALARM_INTERVAL:
            return
        self._alarmed_at[marker] = now
        log.error(marker, extra={"endpoint": endpoint, "detail": str(error)})


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
