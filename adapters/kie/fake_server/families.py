"""The dedicated families' endpoints of the api host (KIE_API.md §6): create and status for Veo, Suno,
Runway, Aleph, Flux Kontext, 4o Image and Midjourney. Validation follows kie-openapi-2026-08.yaml's required
fields; the body is handed to FakeKieGateway as the task's input (``model`` "<api>/<variant>"), so the prompt
words REJECT / FAIL / HANG and the scripted outcomes work for every family. Createtask's rate limit and
credit check are shared with the market endpoints."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, Mapping

from aiohttp import web

from adapters.kie.fake import FakeKieGateway
from adapters.kie.fake_server.family_records import STATUS_DATA
from adapters.kie.fake_server.models import DEFAULT_PRICE, NO_CREDITS, RATE_LIMITED, TaskRecord, envelope
from ports.generation import GatewayRejectedError, GenerationRequest
from ports.clock import Clock

# api → (create path, status path)
PATHS: Mapping[str, tuple[str, str]] = {
    "veo": ("/api/v1/veo/generate", "/api/v1/veo/record-info"),
    "suno": ("/api/v1/generate", "/api/v1/generate/record-info"),
    "runway": ("/api/v1/runway/generate", "/api/v1/runway/record-detail"),
    "aleph": ("/api/v1/aleph/generate", "/api/v1/aleph/record-info"),
    "kontext": ("/api/v1/flux/kontext/generate", "/api/v1/flux/kontext/record-info"),
    "gpt4o": ("/api/v1/gpt4o-image/generate", "/api/v1/gpt4o-image/record-info"),
    "mj": ("/api/v1/mj/generate", "/api/v1/mj/record-info"),
    "veo_extend": ("/api/v1/veo/extend", "/api/v1/veo/record-info"),
    "suno_extend": ("/api/v1/generate/extend", "/api/v1/generate/record-info"),
    "suno_wav": ("/api/v1/wav/generate", "/api/v1/wav/record-info"),
    "mj_upscale": ("/api/v1/mj/generateUpscale", "/api/v1/mj/record-info"),
    "mj_vary": ("/api/v1/mj/generateVary", "/api/v1/mj/record-info"),
}
# Follow-ups that create a task of their own, read at their source family's status endpoint.
STATUS_OF: Mapping[str, str] = {"veo_extend": "veo", "suno_extend": "suno", "mj_upscale": "mj", "mj_vary": "mj"}
CALLBACK_MISSING = "Please enter callBackUrl."
RECORD_IS_NULL = "record is null"
_VARIANT_FIELD = {"veo": "model", "suno": "model", "kontext": "model", "mj": "taskType", "veo_extend": "model",
                  "suno_extend": "model"}
_DEFAULT_VARIANT = {"veo": "veo3_fast", "kontext": "flux-kontext-pro", "veo_extend": "fast"}


def problem(api: str, body: Mapping[str, Any]) -> str | None:
    """What KIE would refuse in this body (kie-openapi required fields and documented rules), else None."""
    def missing(*names: str) -> str | None:
        gone = [name for name in names if body.get(name) in (None, "", [])]
        return f"{gone[0]} is required" if gone else None

    if api == "suno":
        if not body.get("callBackUrl"):
            return CALLBACK_MISSING
        custom, instrumental = body.get("customMode") is True, body.get("instrumental") is True
        if missing("model"):
            return missing("model")
        if not custom:
            said = missing("prompt")
            return said or ("prompt is too long" if len(str(body["prompt"])) > 500 else None)
        return missing("style", "title") or (None if instrumental else missing("prompt"))
    if api == "runway":
        said = missing("prompt", "duration", "quality")
        if said is None and str(body["quality"]) == "1080p" and int(body["duration"]) != 5:
            return "1080p is only available for 5-second videos"
        return said
    if api == "aleph":
        return missing("prompt", "videoUrl")
    if api == "gpt4o":
        return missing("size") or (missing("prompt") if not body.get("filesUrl") else None)
    if api == "mj":
        return missing("taskType", "prompt")
    if api in ("suno_extend", "suno_wav"):
        if not body.get("callBackUrl"):
            return CALLBACK_MISSING
        return missing("audioId", "model") if api == "suno_extend" else missing("taskId", "audioId")
    if api in ("mj_upscale", "mj_vary"):
        return missing("taskId", "imageIndex")
    if api == "veo_extend":
        return missing("taskId", "prompt")
    if api == "veo":
        said = missing("prompt")
        if said is None and len(body.get("imageUrls") or []) > (3 if body.get("model") != "veo3" else 2):
            return "too many imageUrls"
        return said
    return missing("prompt")


class FamilyEndpoints:
    """Mixin of FakeKieServer. Uses ``_rate_limited``/``_refresh`` (tasks.py)."""

    _clock: Clock
    _gateway: FakeKieGateway
    _credits: Decimal
    _records: dict[str, TaskRecord]
    validation_code: int
    task_ids: list[str]
    _rate_limited: Callable[[], bool]
    _refresh: Callable[[TaskRecord], Awaitable[None]]
    family_prices: dict[str, Decimal]

    def _add_family_routes(self, app: web.Application, endpoint: Callable[..., Any]) -> None:
        for api, (create, status) in PATHS.items():
            app.router.add_post(create, endpoint(f"{api}/generate", self._family_create(api)))
            if api not in STATUS_OF:
                app.router.add_get(status, endpoint(f"{api}/record-info", self._family_status(api)))

    def _family_create(self, api: str) -> Callable[[web.Request, Any], Awaitable[web.Response]]:
        async def create(request: web.Request, body: Any) -> web.Response:
            if self._rate_limited():
                return envelope(429, RATE_LIMITED)
            if not isinstance(body, dict):
                return envelope(422, "request body must be a JSON object")
            refused = problem(api, body)
            if refused is not None:
                return envelope(400 if refused == CALLBACK_MISSING else 422, refused)
            price = self.family_prices.get(api, DEFAULT_PRICE)
            if self._credits < price:
                return envelope(402, NO_CREDITS)
            variant = str(body.get(_VARIANT_FIELD.get(api, ""), "") or _DEFAULT_VARIANT.get(api, api))
            callback = body.get("callBackUrl") if isinstance(body.get("callBackUrl"), str) else None
            inputs = {key: value for key, value in body.items() if key != "callBackUrl"}
            try:
                task_id = await self._gateway.submit(
                    GenerationRequest(f"{api}/{variant}", inputs, callback or None, api=api)
                )
            except GatewayRejectedError as error:
                return envelope(400, str(error))
            now: datetime = self._clock.now()
            self._records[task_id] = TaskRecord(
                task_id=task_id, model=f"{api}/{variant}", param="", callback_url=callback or None, price=price,
                created=now, updated=now, api=api, body=inputs,
            )
            self.task_ids.append(task_id)
            return envelope(200, "success", {"taskId": task_id})

        return create

    def _family_status(self, api: str) -> Callable[[web.Request, Any], Awaitable[web.Response]]:
        async def status(request: web.Request, body: Any) -> web.Response:
            task_id = request.query.get("taskId", "")
            record = self._records.get(task_id)
            if record is None or STATUS_OF.get(record.api, record.api) != api:
                # Suno answers an unknown task with code 200 and data null; the others with "record is null".
                return envelope(200, "success", None) if api.startswith("suno") else envelope(422, RECORD_IS_NULL)
            await self._refresh(record)
            return envelope(200, "success", STATUS_DATA[api](record))

        return status
