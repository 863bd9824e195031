"""The background ticker and callback delivery (KIE_API.md §3.5).

Every ~50 ms of real time the ticker asks the gateway about every unfinished task, so tasks finish (and are
debited, and call back) without anyone polling recordInfo. A finished task with a callBackUrl is POSTed
``{code: 200|501, msg, data: <recordInfo data>}`` according to the callback mode; each attempt is recorded in
``callbacks``. A failed delivery (no answer, or not 2xx) is retried where KIE documents it: Flux Kontext 3 times,
1, 5 and 15 minutes later [K-flux]; Suno's (staged) callbacks too (issue 16: "callbacks retried after
failures"); ``callback_retry_delays`` shortens the waits for tests. Market callbacks are not retried.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from adapters.kie.fake_server import family_records
from adapters.kie.fake_server.models import (
    CALLBACK_FAILED,
    CALLBACK_MODES,
    CALLBACK_OK,
    CallbackAttempt,
    TaskRecord,
)
from ports.clock import Clock
from ports.generation import TaskState

TICK_SECONDS = 0.05
CALLBACK_TIMEOUT = 8.0
RETRY_DELAYS = (60.0, 300.0, 900.0)  # seconds of the clock after a failed delivery [K-flux]
RETRYING_APIS = frozenset({"kontext", "suno", "suno_extend", "suno_wav"})

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Due:
    record: TaskRecord
    at: datetime
    copies: int
    stage: str | None = None  # Suno's "text" / "first"; None: the task ended
    retry: int = 0  # how many failed deliveries came before this one


class CallbackDelivery:
    """Mixin of FakeKieServer. Uses ``_refresh`` (tasks.py)."""

    _clock: Clock
    _records: dict[str, TaskRecord]
    _session: aiohttp.ClientSession | None
    _due: list[_Due]
    _deliveries: set[asyncio.Task[None]]
    _callback_mode: str
    _callback_delay: float
    callbacks: list[CallbackAttempt]
    callback_timeout: float
    webhook_hmac_key: str | None
    callback_retry_delays: tuple[float, ...] = RETRY_DELAYS

    def set_callback_mode(self, mode: str = "once", *, delay: float = 0.0) -> None:
        """How tasks finishing from now on call back: "once" (default), "twice" (a duplicate delivery),
        "never" (lost), or "late" (``delay`` seconds of the clock after the task finished)."""
        if mode not in CALLBACK_MODES:
            raise ValueError(f"callback mode must be one of {CALLBACK_MODES}")
        if delay < 0:
            raise ValueError("delay must not be negative")
        self._callback_mode = mode
        self._callback_delay = delay

    async def wait_for_callbacks(self, count: int = 1, timeout: float = 5.0) -> list[CallbackAttempt]:
        """Wait (real time) until at least ``count`` callback attempts were recorded; return them all."""
        async with asyncio.timeout(timeout):
            while len(self.callbacks) < count:
                await asyncio.sleep(0.01)
        return list(self.callbacks)

    async def settle(self) -> None:
        """Catch up with the clock at once, as the ticker would: finish the tasks due by now, send the callbacks
        due by now and wait until every delivery in flight is recorded. Afterwards nothing more is sent until
        the clock moves, so a test can assert that no extra callback comes without sleeping."""
        for record in [r for r in self._records.values() if r.completed is None]:
            await self._refresh(record)
        self._send_due()
        while self._deliveries:
            await asyncio.gather(*list(self._deliveries), return_exceptions=True)

    @property
    def callbacks_due(self) -> int:
        """Callback deliveries waiting for a later clock time (mode "late")."""
        return sum(due.copies for due in self._due)

    # --- internals -----------------------------------------------------------------------------------------

    def _task_finished(self, record: TaskRecord) -> None:
        if record.callback_url is None or self._callback_mode == "never" or record.completed is None:
            return
        late = self._callback_mode == "late"
        at = record.completed + timedelta(seconds=self._callback_delay if late else 0.0)
        self._due.append(_Due(record, at, 2 if self._callback_mode == "twice" else 1))
        self._send_due()

    def _stage_reached(self, record: TaskRecord, stage: str) -> None:
        """Suno calls back at each stage too (callbackType text, first), per the callback mode."""
        if record.callback_url is None or self._callback_mode in ("never", "late"):
            return
        kind = {"lyrics": "text", "first_track": "first"}.get(stage, stage)
        self._due.append(_Due(record, self._clock.now(), 2 if self._callback_mode == "twice" else 1, kind))
        self._send_due()

    def _send_due(self) -> None:
        now = self._clock.now()
        ready = [due for due in self._due if due.at <= now]
        self._due = [due for due in self._due if due.at > now]
        for due in ready:
            delivery = asyncio.create_task(self._deliver(due.record, due.copies, due.stage, due.retry))
            self._deliveries.add(delivery)
            delivery.add_done_callback(self._deliveries.discard)

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                for record in [r for r in self._records.values() if r.completed is None]:
                    await self._refresh(record)
                self._send_due()
            except Exception:  # the ticker must survive anything one task does
                log.exception("fake KIE ticker failed")

    async def _deliver(self, record: TaskRecord, copies: int, stage: str | None = None, retry: int = 0) -> None:
        body = callback_body(record) if record.api == "market" else family_records.callback_body(record, stage)
        for copy in range(copies):
            attempt = await self._post(record, body)
            self.callbacks.append(attempt)
            delivered = attempt.status is not None and 200 <= attempt.status < 300
            delays = self.callback_retry_delays
            if copy == 0 and not delivered and record.api in RETRYING_APIS and retry < len(delays):
                at = self._clock.now() + timedelta(seconds=delays[retry])
                self._due.append(_Due(record, at, 1, stage, retry + 1))

    async def _post(self, record: TaskRecord, body: dict[str, Any]) -> CallbackAttempt:
        url = record.callback_url or ""
        headers = {"User-Agent": "KIE-Callback/1.0"}
        if self.webhook_hmac_key:
            headers.update(signature_headers(record.task_id, self._clock.now(), self.webhook_hmac_key))
        try:
            if self._session is None:
                raise RuntimeError("the fake KIE server is not running")
            timeout = aiohttp.ClientTimeout(total=self.callback_timeout)
            async with self._session.post(url, json=body, headers=headers, timeout=timeout) as reply:
                await reply.read()
                return CallbackAttempt(record.task_id, url, body, reply.status)
        except Exception as error:  # recorded, never retried
            return CallbackAttempt(record.task_id, url, body, None, f"{type(error).__name__}: {error}".strip())


def callback_body(record: TaskRecord) -> dict[str, Any]:
    ok = record.state is TaskState.SUCCESS
    return {"code": 200 if ok else 501, "msg": CALLBACK_OK if ok else CALLBACK_FAILED, "data": record.data()}


def signature_headers(task_id: str, now: datetime, key: str) -> dict[str, str]:
    """KIE's optional webhook signature: base64(HMAC-SHA256(taskId + "." + timestamp)) (KIE_API.md §3.5)."""
    timestamp = str(int(now.timestamp()))
    digest = hmac.new(key.encode(), f"{task_id}.{timestamp}".encode(), hashlib.sha256).digest()
    return {"X-Webhook-Timestamp": timestamp, "X-Webhook-Signature": base64.b64encode(digest).decode()}
