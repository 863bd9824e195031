"""The market-jobs and account endpoints of the api host: createTask, recordInfo, chat/credit, download-url.

The task lifecycle is FakeKieGateway's; this layer validates like KIE, keeps a :class:`TaskRecord` per task
(timestamps, the ``param`` string, monotonic state) and turns the gateway's file:// results into http URLs.
"""

from __future__ import annotations

import json
from collections import deque
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Mapping

from aiohttp import web

from adapters.kie.fake import FakeKieGateway
from adapters.kie.fake_server.models import (
    DEFAULT_PRICE,
    EXTERNAL_URL,
    FIELD_REQUIRED,
    NO_CREDITS,
    NOT_PUBLISHED,
    RATE_LIMITED,
    RECORD_NULL,
    ModelRules,
    Scripts,
    TaskRecord,
    envelope,
)
from ports.clock import Clock
from ports.generation import GatewayRejectedError, GenerationRequest, TaskState, TaskStatus, UnknownTaskError


class TaskEndpoints:
    """Mixin of FakeKieServer. Uses ``_publish``/``_temporary_url`` (files.py) and ``_task_finished``
    (callbacks.py)."""

    # State shared with FakeKieServer (set in its __init__).
    _clock: Clock
    _gateway: FakeKieGateway
    _models: Mapping[str, ModelRules] | None
    _credits: Decimal
    _records: dict[str, TaskRecord]
    _create_times: deque[datetime]
    generation_times: list[datetime]
    rate_refusals: int
    rate_limit: int
    rate_window: float
    validation_code: int
    use_message_key: bool
    task_ids: list[str]
    _scripts: Scripts
    _stage_reached: Any

    # --- createTask ----------------------------------------------------------------------------------------

    async def _create_task(self, request: web.Request, body: Any) -> web.Response:
        if self._rate_limited():
            return envelope(429, RATE_LIMITED)
        if not isinstance(body, dict):
            return envelope(self.validation_code, FIELD_REQUIRED)
        model, inputs, callback = body.get("model"), body.get("input"), body.get("callBackUrl")
        if not isinstance(model, str) or not model.strip():
            return envelope(self.validation_code, FIELD_REQUIRED)
        rules = self._models.get(model) if self._models is not None else None
        if self._models is not None and rules is None:
            return envelope(422, NOT_PUBLISHED)
        if not isinstance(inputs, dict):
            return envelope(self.validation_code, FIELD_REQUIRED)
        if rules is not None and any(_missing(inputs.get(name)) for name in rules.required):
            return envelope(self.validation_code, FIELD_REQUIRED)
        if callback is not None and not isinstance(callback, str):
            return envelope(422, "callBackUrl must be a string")
        price = rules.credits if rules is not None else DEFAULT_PRICE
        if self._credits < price:
            return envelope(402, NO_CREDITS)
        try:
            task_id = await self._gateway.submit(GenerationRequest(model, inputs, callback or None))
        except GatewayRejectedError as error:
            return envelope(400, str(error))
        now = self._clock.now()
        self._records[task_id] = TaskRecord(
            task_id=task_id,
            model=model,
            param=json.dumps(body, ensure_ascii=False),
            callback_url=callback or None,
            price=price,
            created=now,
            updated=now,
        )
        self.task_ids.append(task_id)
        return envelope(200, "success", {"taskId": task_id})

    def _rate_limited(self) -> bool:
        """At most ``rate_limit`` createTask calls per ``rate_window`` seconds of the clock (KIE_API.md §8);
        a refused call does not count."""
        now = self._clock.now()
        self.generation_times.append(now)  # every new generation request, refused or not (benchmarks read it)
        horizon = now - timedelta(seconds=self.rate_window)
        while self._create_times and self._create_times[0] <= horizon:
            self._create_times.popleft()
        if len(self._create_times) >= self.rate_limit:
            self.rate_refusals += 1
            return True
        self._create_times.append(now)
        return False

    # --- recordInfo ----------------------------------------------------------------------------------------

    async def _record_info(self, request: web.Request, body: Any) -> web.Response:
        key = "message" if self.use_message_key else "msg"
        task_id = request.query.get("taskId", "")
        if not task_id:
            return envelope(self.validation_code, FIELD_REQUIRED, key=key)
        record = self._records.get(task_id)
        if record is None or record.api != "market":  # a dedicated family's task lives at its own endpoint
            return envelope(422, RECORD_NULL, key=key)
        await self._refresh(record)
        return envelope(200, "success", record.data(), key=key)

    async def _refresh(self, record: TaskRecord) -> None:
        """Ask the gateway for the task's state now; on the first terminal answer, store the result, debit the
        price (success only) and queue the callback. A Suno stage reached on the way calls back too."""
        if record.completed is not None:
            return
        try:
            status = await self._gateway.status(record.task_id, record.api)
        except UnknownTaskError:
            return
        stage = status.stage.value if status.stage is not None else None
        if stage is not None and stage != record.stage and not status.state.terminal:
            record.stage = stage
            self._stage_reached(record, stage)
        if record.advance(status, self._clock.now()):
            if record.api == "market":
                record.result_json = self._result_json(status)
            elif status.state is TaskState.SUCCESS:
                record.result_urls = tuple(self._publish(url, "api") for url in status.result_urls)
                record.titles = status.result_titles
            if status.state is TaskState.SUCCESS:
                self._credits = max(Decimal(0), self._credits - record.price)
            self._task_finished(record)

    def _result_json(self, status: TaskStatus) -> str | None:
        if status.state is not TaskState.SUCCESS:
            return None
        if status.result_text is not None:
            return json.dumps({"resultObject": {"text": status.result_text}}, ensure_ascii=False)
        if self._scripts.links:
            return json.dumps({"resultUrls": self._scripts.links.pop(0)})
        urls = [self._publish(url, "api") for url in status.result_urls]
        return json.dumps({"resultUrls": urls})

    # --- account -------------------------------------------------------------------------------------------

    async def _credit(self, request: web.Request, body: Any) -> web.Response:
        return envelope(200, "success", int(self._credits))

    async def _download_url(self, request: web.Request, body: Any) -> web.Response:
        url = body.get("url") if isinstance(body, dict) else None
        if not isinstance(url, str) or not url:
            return envelope(self.validation_code, FIELD_REQUIRED)
        temporary = self._temporary_url(url)
        if temporary is None:
            return envelope(422, EXTERNAL_URL)
        return envelope(200, "success", temporary)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, dict)) and not value)
