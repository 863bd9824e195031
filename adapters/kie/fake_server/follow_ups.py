"""The follow-up endpoints of the fake KIE server (kie-openapi-2026-08.yaml): Veo 3.1's 1080p version,
GET /api/v1/veo/get-1080p-video?taskId=&index=. The first call for a finished Veo task starts the work (a
task of FakeKieGateway's ``veo_1080p`` family, so scripted failures and hangs apply to it); until it is done
every call answers 422 "1080P is processing…" (KIE: "may return a non-200 code: wait and retry"); then 200
with ``data.resultUrl``. A source that is unknown answers "record is null", one not finished "record status
is not success" (the documented 422 messages), a failed 1080p 501."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from aiohttp import web

from adapters.kie.fake import FakeKieGateway
from adapters.kie.fake_server.models import DEFAULT_PRICE, RATE_LIMITED, TaskRecord, envelope
from ports.clock import Clock
from ports.generation import GatewayRejectedError, GenerationRequest, TaskState

HD_PATH = "/api/v1/veo/get-1080p-video"
HD_ENDPOINT = "veo/get-1080p-video"
HD_PROCESSING = "1080P is processing. It should be ready in 1-3 minutes. Please check back shortly."
NOT_SUCCESS = "record status is not success"
RECORD_IS_NULL = "record is null"


class FollowUpEndpoints:
    """Mixin of FakeKieServer. Uses ``_rate_limited``/``_refresh`` (tasks.py)."""

    _clock: Clock
    _gateway: FakeKieGateway
    _records: dict[str, TaskRecord]
    task_ids: list[str]
    family_prices: dict[str, Decimal]
    _rate_limited: Callable[[], bool]
    _refresh: Callable[[TaskRecord], Awaitable[None]]

    def _add_follow_up_routes(self, app: web.Application, endpoint: Callable[..., Any]) -> None:
        self._hd_tasks: dict[tuple[str, int], str] = {}
        app.router.add_get(HD_PATH, endpoint(HD_ENDPOINT, self._hd_video))

    async def _hd_video(self, request: web.Request, body: Any) -> web.Response:
        source_id = request.query.get("taskId", "")
        try:
            index = int(request.query.get("index", "0") or 0)
        except ValueError:
            return envelope(422, "index must be an integer")
        source = self._records.get(source_id)
        if source is None or source.api != "veo":
            return envelope(422, RECORD_IS_NULL)
        await self._refresh(source)
        if source.state is not TaskState.SUCCESS:
            return envelope(422, NOT_SUCCESS)
        record = self._records.get(self._hd_tasks.get((source_id, index), ""))
        if record is None:
            if self._rate_limited():
                return envelope(429, RATE_LIMITED)
            inputs = {"taskId": source_id, "index": index}
            try:
                task_id = await self._gateway.submit(GenerationRequest("veo/1080p", inputs, api="veo_1080p"))
            except GatewayRejectedError as error:
                return envelope(422, str(error))
            now: datetime = self._clock.now()
            record = TaskRecord(
                task_id=task_id, model="veo/1080p", param="", callback_url=None,
                price=self.family_prices.get("veo_1080p", DEFAULT_PRICE), created=now, updated=now,
                api="veo_1080p", body=inputs,
            )
            self._records[task_id] = record
            self._hd_tasks[(source_id, index)] = task_id
            self.task_ids.append(task_id)
        await self._refresh(record)
        if record.state is TaskState.SUCCESS:
            return envelope(200, "success", {"resultUrl": record.result_urls[0]})
        if record.state is TaskState.FAIL:
            return envelope(501, "1080P generation failed")
        return envelope(422, HD_PROCESSING)
