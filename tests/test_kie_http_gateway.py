"""KieHttpGateway against scripted KIE answers (httpx.MockTransport), shaped as KIE really answers
(/work/shared/kie/KIE_API.md): business errors inside HTTP 200 envelopes, JSON strings inside JSON, two hosts."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from adapters.kie.breaker import OPEN_MESSAGE
from adapters.kie.http_gateway import DEFAULT_USER_AGENT, MAX_BACKOFF, KieHttpGateway
from adapters.system.clock import VirtualClock
from entrypoints.telemetry import TextFormatter
from ports.generation import (
    GatewayAuthError,
    GatewayError,
    GatewayQuotaError,
    GatewayRejectedError,
    GatewayRateLimitedError,
    GatewayUnavailableError,
    GenerationRequest,
    TaskState,
    UnknownTaskError,
)

KEY = "sk-test-SECRET-0123456789"
API = "https://api.kie.test"
UPLOAD = "https://upload.kie.test"
CREATE = "/api/v1/jobs/createTask"
RECORD = "/api/v1/jobs/recordInfo"
CREDIT = "/api/v1/chat/credit"
DOWNLOAD = "/api/v1/common/download-url"
STREAM = "/api/file-stream-upload"
URL_UPLOAD = "/api/file-url-upload"
PROMPT = "a secret castle prompt at dawn"
REQUEST = GenerationRequest("z-image", {"prompt": PROMPT, "aspect_ratio": "1:1"}, "https://bot.test/kie/cb", "job-1")


def envelope(code: int = 200, msg: str = "success", data: Any = None, *, http: int = 200, key: str = "msg"):
    return httpx.Response(http, json={"code": code, key: msg, "data": data})


def record(state: str = "success", **fields: Any) -> dict[str, Any]:
    param = json.dumps({"model": "z-image", "input": {"prompt": PROMPT}})
    return {"taskId": "task_1", "model": "z-image", "state": state, "param": param, "resultJson": None,
            "failCode": "", "failMsg": "", "createTime": 1698765400000, **fields}


def result_json(**payload: Any) -> str:
    return json.dumps(payload)


class Kie:
    """A scripted KIE: replies are queued per path (the last one repeats); an exception class is raised."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.replies: dict[str, list[Any]] = {}

    def on(self, path: str, *replies: Any) -> Kie:
        self.replies.setdefault(path, []).extend(replies)
        return self

    def calls(self, path: str) -> list[httpx.Request]:
        return [request for request in self.requests if request.url.path == path]

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        queue = self.replies[request.url.path]
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(reply, type) and issubclass(reply, Exception):
            raise reply("scripted", request=request)
        if callable(reply):
            return await reply(request)
        return reply


class Setup:
    def __init__(self, **options: Any) -> None:
        self.kie = Kie()
        self.clock = VirtualClock()
        self.sleeps: list[float] = []
        self.client = httpx.AsyncClient(transport=httpx.MockTransport(self.kie))
        self.gateway = KieHttpGateway(API, UPLOAD, KEY, clock=self.clock, client=self.client, sleep=self._sleep, **options)

    async def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.advance(seconds)  # time passes while the gateway waits (for a slot of the budget, say)


@pytest.fixture
async def make():
    made: list[Setup] = []

    def build(**options: Any) -> Setup:
        made.append(Setup(**options))
        return made[-1]

    yield build
    for setup in made:
        await setup.client.aclose()


# --- requests ---------------------------------------------------------------------------------------------------


async def test_every_call_sends_bearer_json_and_an_explicit_user_agent(make):
    s = make()
    s.kie.on(CREATE, envelope(data={"taskId": "task_1"})).on(RECORD, envelope(data=record("waiting")))
    await s.gateway.submit(REQUEST)
    await s.gateway.status("task_1")
    assert [request.url.path for request in s.kie.requests] == ["/api/v1/jobs/createTask", "/api/v1/jobs/recordInfo"]
    for request in s.kie.requests:
        assert request.headers["Authorization"] == f"Bearer {KEY}"
        assert request.headers["Accept"] == "application/json"
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["User-Agent"] == DEFAULT_USER_AGENT


async def test_submit_posts_model_input_and_callback_and_reads_task_id(make):
    s = make()
    s.kie.on(CREATE, envelope(data={"taskId": "task_seedream_1765172101886"}))
    assert await s.gateway.submit(REQUEST) == "task_seedream_1765172101886"
    (request,) = s.kie.calls(CREATE)
    assert request.method == "POST" and str(request.url) == API + CREATE
    assert json.loads(request.content) == {
        "model": "z-image", "input": {"prompt": PROMPT, "aspect_ratio": "1:1"}, "callBackUrl": "https://bot.test/kie/cb"
    }


async def test_submit_reads_task_id_spelled_task_id_and_omits_an_unset_callback(make):
    s = make()
    s.kie.on(CREATE, envelope(data={"task_id": "e989621f54392584b05867f87b160672"}))
    assert await s.gateway.submit(GenerationRequest("z-image", {"prompt": "x"})) == "e989621f54392584b05867f87b160672"
    assert "callBackUrl" not in json.loads(s.kie.requests[0].content)


async def test_submit_without_a_task_id_in_a_success_envelope_is_a_non_retryable_error(make):
    s = make()
    s.kie.on(CREATE, envelope(data={}))
    with pytest.raises(GatewayError) as caught:
        await s.gateway.submit(REQUEST)
    assert not caught.value.retryable and "taskId" in str(caught.value)
    assert len(s.kie.requests) == 1


# --- recordInfo ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["msg", "message"])
async def test_status_decodes_result_json_string_whichever_message_key_kie_uses(make, key):
    s = make()
    data = record(resultJson=result_json(resultUrls=["https://tempfile.aiquickdraw.com/a.png", "https://x/b.png"]))
    s.kie.on(RECORD, envelope(data=data, key=key))
    status = await s.gateway.status("task_1")
    assert status.state is TaskState.SUCCESS
    assert status.result_urls == ("https://tempfile.aiquickdraw.com/a.png", "https://x/b.png")
    assert status.result_text is None and status.task_id == "task_1"
    assert dict(s.kie.requests[0].url.params) == {"taskId": "task_1"}


@pytest.mark.parametrize("state", ["waiting", "queuing", "generating"])
async def test_non_terminal_states_map_to_task_states_with_progress_when_present(make, state):
    s = make()
    s.kie.on(RECORD, envelope(data=record(state, progress=42)))
    status = await s.gateway.status("task_1")
    assert (status.state, status.progress, status.result_urls) == (TaskState(state), 42, ())


async def test_speech_to_text_result_object_becomes_result_text(make):
    s = make()
    stt = {"language_code": "eng", "words": [{"text": "Ever", "start": 0.14}], "text": "Ever onward."}
    s.kie.on(RECORD, envelope(data=record(resultJson=result_json(resultObject=stt))))
    status = await s.gateway.status("task_1")
    assert status.result_text == "Ever onward." and status.result_urls == ()


async def test_a_result_object_without_text_is_rendered_readably(make):
    s = make()
    s.kie.on(RECORD, envelope(data=record(resultJson=result_json(resultObject={"label": "cat", "score": 0.9}))))
    assert (await s.gateway.status("task_1")).result_text == "label: cat\nscore: 0.9"


async def test_legacy_top_level_result_urls_are_read(make):
    s = make()
    s.kie.on(RECORD, envelope(data=record(resultJson="", resultUrls=["https://legacy/x.mp4"])))
    assert (await s.gateway.status("task_1")).result_urls == ("https://legacy/x.mp4",)


async def test_a_failed_task_carries_fail_code_and_message(make):
    s = make()
    s.kie.on(RECORD, envelope(data=record("fail", failCode=500, failMsg="Content flagged by moderation")))
    status = await s.gateway.status("task_1")
    assert (status.state, status.fail_code, status.fail_message) == (TaskState.FAIL, "500", "Content flagged by moderation")


async def test_an_unknown_state_is_a_gateway_error_not_a_crash_and_not_retried(make):
    s = make()
    s.kie.on(RECORD, envelope(data=record("pending")))
    with pytest.raises(GatewayError, match="unknown task state 'pending'"):
        await s.gateway.status("task_1")
    assert len(s.kie.requests) == 1 and s.sleeps == []


@pytest.mark.parametrize("key", ["msg", "message"])
async def test_record_info_is_null_means_unknown_task(make, key):
    s = make()
    s.kie.on(RECORD, envelope(422, "recordInfo is null", key=key))
    with pytest.raises(UnknownTaskError):
        await s.gateway.status("nope")
    assert len(s.kie.requests) == 1


async def test_an_unreadable_result_json_is_an_error_without_quoting_the_record(make):
    s = make()
    s.kie.on(RECORD, envelope(data=record(resultJson="{not json")))
    with pytest.raises(GatewayError) as caught:
        await s.gateway.status("task_1")
    assert "resultJson" in str(caught.value) and PROMPT not in str(caught.value)


# --- error mapping ------------------------------------------------------------------------------------------------

SECTION_7 = [
    (400, GatewayRejectedError, False), (401, GatewayAuthError, False), (402, GatewayQuotaError, False),
    (404, GatewayRejectedError, False), (408, GatewayUnavailableError, True), (413, GatewayRejectedError, False),
    (422, GatewayRejectedError, False), (429, GatewayRateLimitedError, True), (433, GatewayQuotaError, False),
    (455, GatewayUnavailableError, True), (500, GatewayUnavailableError, True), (501, GatewayRejectedError, False),
    (505, GatewayRejectedError, False), (531, GatewayUnavailableError, True),
]


@pytest.mark.parametrize("path", [CREATE, CREDIT])
@pytest.mark.parametrize(("code", "error_type", "retryable"), SECTION_7)
async def test_envelope_codes_inside_http_200_map_to_port_errors(make, path, code, error_type, retryable):
    s = make(retries=0)
    s.kie.on(path, envelope(code, f"KIE says {code}"))
    with pytest.raises(GatewayError) as caught:
        await (s.gateway.submit(REQUEST) if path == CREATE else s.gateway.credits())
    assert type(caught.value) is error_type and caught.value.retryable is retryable
    assert f"KIE says {code}" in str(caught.value)


@pytest.mark.parametrize(
    ("http", "error_type"),
    [(401, GatewayAuthError), (402, GatewayQuotaError), (403, GatewayAuthError), (404, GatewayRejectedError),
     (422, GatewayRejectedError), (429, GatewayRateLimitedError), (500, GatewayUnavailableError),
     (502, GatewayUnavailableError), (503, GatewayUnavailableError), (504, GatewayUnavailableError)],
)
async def test_http_statuses_with_non_json_bodies_map_to_port_errors(make, http, error_type):
    s = make(retries=0)
    s.kie.on(RECORD, httpx.Response(http, text="<html>upstream says no</html>"))
    with pytest.raises(GatewayError) as caught:
        await s.gateway.status("task_1")
    assert type(caught.value) is error_type and caught.value.retryable is issubclass(error_type, GatewayUnavailableError)


async def test_an_envelope_code_wins_over_the_http_status(make):
    s = make()
    s.kie.on(CREATE, envelope(422, "The page does not exist or is not published", http=500))
    with pytest.raises(GatewayRejectedError, match="not published"):
        await s.gateway.submit(REQUEST)


async def test_create_task_500_this_field_is_required_is_a_rejection_and_not_retried(make):
    s = make()
    s.kie.on(CREATE, envelope(500, "This field is required"))
    with pytest.raises(GatewayRejectedError, match="This field is required") as caught:
        await s.gateway.submit(REQUEST)
    assert "required input field is missing" in str(caught.value) and not caught.value.retryable
    assert len(s.kie.requests) == 1 and s.sleeps == []


async def test_create_task_422_is_a_rejection_with_kies_message(make):
    s = make()
    s.kie.on(CREATE, envelope(422, "recordInfo is null"))  # only recordInfo reads this as an unknown task
    with pytest.raises(GatewayRejectedError, match="recordInfo is null"):
        await s.gateway.submit(REQUEST)


async def test_cloudflare_1010_is_an_auth_error_that_names_the_user_agent(make):
    s = make()
    s.kie.on(CREDIT, httpx.Response(403, text="error code: 1010"))
    with pytest.raises(GatewayAuthError, match="User-Agent") as caught:
        await s.gateway.credits()
    assert "Cloudflare" in str(caught.value) and len(s.kie.requests) == 1


@pytest.mark.parametrize("body", [b"<html>502 Bad Gateway</html>", b"[1, 2]", b'{"msg": "no code"}', b"\xff\xfe"])
async def test_a_malformed_body_is_unavailable_and_retried_on_record_info(make, body):
    s = make(retries=2)
    s.kie.on(RECORD, httpx.Response(200, content=body))
    with pytest.raises(GatewayUnavailableError, match="invalid body") as caught:
        await s.gateway.status("task_1")
    assert caught.value.retryable and len(s.kie.requests) == 3


async def test_invalid_json_is_raised_from_the_decoding_error(make):
    s = make(retries=0)
    s.kie.on(RECORD, httpx.Response(200, text="{oops"))
    with pytest.raises(GatewayUnavailableError) as caught:
        await s.gateway.status("task_1")
    assert isinstance(caught.value.__cause__, json.JSONDecodeError)


# --- retries ------------------------------------------------------------------------------------------------------


async def test_record_info_retries_5xx_and_timeouts_with_bounded_exponential_jittered_backoff(make):
    s = make(retries=3, backoff=0.5)
    ok = envelope(data=record("generating"))
    s.kie.on(RECORD, httpx.Response(503, text="busy"), httpx.ReadTimeout, envelope(500, "Server error"), ok)
    assert (await s.gateway.status("task_1")).state is TaskState.GENERATING
    assert len(s.kie.requests) == 4 and len(s.sleeps) == 3
    for attempt, delay in enumerate(s.sleeps):
        ceiling = 0.5 * 2**attempt
        assert ceiling / 2 <= delay <= ceiling


async def test_retries_are_bounded_and_the_last_error_is_raised_from_the_original(make):
    s = make(retries=2)
    s.kie.on(RECORD, httpx.ReadTimeout)
    with pytest.raises(GatewayUnavailableError, match="timed out") as caught:
        await s.gateway.status("task_1")
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert len(s.kie.requests) == 3 and len(s.sleeps) == 2


async def test_backoff_delays_are_capped_and_jittered(make):
    gateway = make(backoff=4.0).gateway
    delays = [gateway.backoff_delay(attempt) for attempt in range(8) for _ in range(20)]
    assert max(delays) <= MAX_BACKOFF and min(delays) >= 2.0
    assert len({round(delay, 6) for delay in delays[:20]}) > 1  # jitter: not one fixed value


@pytest.mark.parametrize("failure", [httpx.ReadTimeout, httpx.RemoteProtocolError])
async def test_create_task_is_not_retried_when_the_request_may_have_been_accepted(make, failure):
    s = make()
    s.kie.on(CREATE, failure)
    with pytest.raises(GatewayUnavailableError) as caught:
        await s.gateway.submit(REQUEST)
    assert caught.value.retryable and len(s.kie.requests) == 1 and s.sleeps == []


@pytest.mark.parametrize("reply", [httpx.Response(503, text="busy"), envelope(500, "Server error")])
async def test_create_task_is_not_retried_after_a_5xx(make, reply):
    s = make()
    s.kie.on(CREATE, reply)
    with pytest.raises(GatewayUnavailableError):
        await s.gateway.submit(REQUEST)
    assert len(s.kie.requests) == 1


@pytest.mark.parametrize(
    "refusal",
    [envelope(429, "Too many requests"), httpx.Response(429, text="slow down"), envelope(455, "Maintenance"),
     httpx.ConnectError, httpx.ConnectTimeout],
)
async def test_create_task_is_retried_when_kie_certainly_did_not_accept_it(make, refusal):
    s = make()
    s.kie.on(CREATE, refusal, envelope(data={"taskId": "task_2"}))
    assert await s.gateway.submit(REQUEST) == "task_2"
    rate_limited = isinstance(refusal, httpx.Response) and (refusal.status_code == 429 or b"429" in refusal.content)
    # The backoff; after a 429 also the shared budget's hold (KIE gives no retry_after: a whole window).
    assert len(s.kie.requests) == 2 and len(s.sleeps) == (2 if rate_limited else 1)
    if rate_limited:
        assert sum(s.sleeps) == pytest.approx(10.0)


async def test_uploads_and_download_url_and_credit_are_retried(make):
    s = make()
    s.kie.on(STREAM, httpx.Response(502), envelope(data={"downloadUrl": "https://tempfile.redpandaai.co/u.png"}))
    s.kie.on(DOWNLOAD, httpx.ReadTimeout, envelope(data="https://tempfile.aiquickdraw.com/t.png"))
    s.kie.on(CREDIT, envelope(455, "Maintenance"), envelope(data=5))
    assert await s.gateway.upload(b"png", "a.png", "image/png") == "https://tempfile.redpandaai.co/u.png"
    assert await s.gateway.download_url("https://tempfile.aiquickdraw.com/r.png") == "https://tempfile.aiquickdraw.com/t.png"
    assert await s.gateway.credits() == Decimal(5)
    assert len(s.sleeps) == 3


# --- circuit breaker and health -----------------------------------------------------------------------------------


async def trip(s: Setup, times: int) -> None:
    for _ in range(times):
        with pytest.raises(GatewayUnavailableError):
            await s.gateway.status("task_1")


async def test_the_breaker_opens_after_n_failures_and_then_fails_fast_without_the_network(make):
    s = make(retries=1, breaker_threshold=3, breaker_cooldown=30.0)
    s.kie.on(RECORD, httpx.Response(503, text="down"))
    await trip(s, 3)
    sent = len(s.kie.requests)
    assert sent == 6  # each call retried once before it counted
    for call in (s.gateway.status("task_1"), s.gateway.submit(REQUEST), s.gateway.credits(),
                 s.gateway.upload(b"x", "a.png", "image/png")):
        with pytest.raises(GatewayUnavailableError, match=re.escape(OPEN_MESSAGE)):
            await call
    assert len(s.kie.requests) == sent
    health = s.gateway.health()
    assert (health.state, health.accepting, health.last_error) == ("down", False, "unavailable")
    assert health.retry_at == s.clock.now() + timedelta(seconds=30)


async def test_after_the_cooldown_one_trial_call_closes_the_breaker_on_success(make):
    s = make(retries=0, breaker_threshold=2, breaker_cooldown=30.0)
    s.kie.on(RECORD, httpx.Response(503), httpx.Response(503), envelope(data=record("waiting")))
    await trip(s, 2)
    s.clock.advance(29)
    with pytest.raises(GatewayUnavailableError, match="circuit open"):
        await s.gateway.status("task_1")
    s.clock.advance(1)
    assert s.gateway.health().accepting  # half-open: a trial may go
    assert (await s.gateway.status("task_1")).state is TaskState.WAITING
    health = s.gateway.health()
    assert health.accepting and health.retry_at is None and health.last_error is None
    assert health.state == "degraded"  # the failures were recent
    s.clock.advance(600)
    assert s.gateway.health().state == "ok"


async def test_a_failed_trial_call_reopens_the_breaker(make):
    s = make(retries=0, breaker_threshold=2, breaker_cooldown=10.0)
    s.kie.on(CREDIT, httpx.ConnectError)
    await_credit = s.gateway.credits
    for _ in range(2):
        with pytest.raises(GatewayUnavailableError):
            await await_credit()
    s.clock.advance(10)
    with pytest.raises(GatewayUnavailableError, match="ConnectError"):
        await await_credit()  # the trial reached the network and failed
    sent = len(s.kie.requests)
    with pytest.raises(GatewayUnavailableError, match="circuit open"):
        await await_credit()
    assert len(s.kie.requests) == sent == 3
    assert s.gateway.health().state == "down"


async def test_while_half_open_only_one_trial_call_reaches_kie(make):
    s = make(retries=0, breaker_threshold=1, breaker_cooldown=5.0)
    release = asyncio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return envelope(data=7)

    s.kie.on(CREDIT, httpx.Response(500), slow)
    with pytest.raises(GatewayUnavailableError):
        await s.gateway.credits()
    s.clock.advance(5)
    trial = asyncio.create_task(s.gateway.credits())
    await asyncio.sleep(0.01)
    with pytest.raises(GatewayUnavailableError, match="circuit open"):
        await s.gateway.credits()
    release.set()
    assert await trial == Decimal(7)
    assert len(s.kie.requests) == 2
    assert await s.gateway.credits() == Decimal(7)  # closed again


async def test_non_retryable_errors_never_open_the_breaker(make):
    s = make(breaker_threshold=2)
    s.kie.on(CREATE, envelope(422, "bad aspect_ratio"))
    for _ in range(5):
        with pytest.raises(GatewayRejectedError):
            await s.gateway.submit(REQUEST)
    assert len(s.kie.requests) == 5 and s.gateway.health().accepting


async def test_a_success_resets_the_consecutive_failure_count(make):
    s = make(retries=0, breaker_threshold=3)
    fail = httpx.Response(503)
    s.kie.on(CREDIT, fail, fail, envelope(data=1), fail, fail, envelope(data=2))
    for expected in ("fail", "fail", 1, "fail", "fail", 2):
        if expected == "fail":
            with pytest.raises(GatewayUnavailableError):
                await s.gateway.credits()
        else:
            assert await s.gateway.credits() == Decimal(expected)
    assert s.gateway.health().accepting


async def test_health_reports_unknown_then_ok_then_degraded_and_the_last_error(make):
    s = make(retries=1)
    assert s.gateway.health().state == "unknown" and s.gateway.health().accepting
    s.kie.on(CREDIT, envelope(data=10), httpx.Response(502), envelope(data=9), envelope(401, "Unauthorized"))
    await s.gateway.credits()
    health = s.gateway.health()
    assert (health.state, health.last_error, health.last_call_at) == ("ok", None, s.clock.now())
    await s.gateway.credits()  # one transient failure, retried, then a success
    assert s.gateway.health().state == "degraded"
    with pytest.raises(GatewayAuthError):
        await s.gateway.credits()
    health = s.gateway.health()
    assert health.last_error == "auth" and not health.accepting and health.state == "down"
    s.clock.advance(61)  # after the hold one launch may try again
    assert s.gateway.health().accepting


# --- uploads, download-url, credits -------------------------------------------------------------------------------


def form_field(body: bytes, name: str) -> str:
    match = re.search(rb'name="' + name.encode() + rb'"(?:; filename="[^"]*")?\r\n(?:[^\r\n]+\r\n)*\r\n(.*?)\r\n--',
                      body, re.DOTALL)
    assert match, f"no form field {name}"
    return match.group(1).decode("latin-1")


async def test_upload_sends_multipart_with_the_file_and_a_unique_file_name_and_returns_download_url(make):
    s = make()
    uploaded = {"fileName": "x.png", "fileUrl": "https://kieai.redpandaai.co/files/x.png",
                "downloadUrl": "https://tempfile.redpandaai.co/trt/uploads/x.png", "fileSize": 4}
    s.kie.on(STREAM, httpx.Response(200, json={"success": True, "code": 200, "msg": "File uploaded successfully",
                                                "data": uploaded}))
    url = await s.gateway.upload(b"\x89PNG", "photo.PNG", "image/png")
    await s.gateway.upload(b"\x89PNG", "photo.PNG", "image/png")
    assert url == "https://tempfile.redpandaai.co/trt/uploads/x.png"  # downloadUrl, never fileUrl
    first, second = s.kie.calls(STREAM)
    assert str(first.url) == UPLOAD + STREAM
    assert first.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert first.headers["Authorization"] == f"Bearer {KEY}"
    body = first.read()
    name = form_field(body, "fileName")
    assert name.endswith(".png") and name != "photo.PNG"
    assert form_field(body, "uploadPath") == "trt/uploads"
    assert form_field(body, "file") == "\x89PNG"
    assert f'filename="{name}"'.encode() in body and b"Content-Type: image/png" in body
    assert form_field(second.read(), "fileName") != name  # KIE overwrites on a reused name


async def test_an_upload_answer_with_only_file_url_is_an_error(make):
    s = make()
    s.kie.on(STREAM, envelope(data={"fileUrl": "https://kieai.redpandaai.co/files/x.png"}))
    with pytest.raises(GatewayError, match="downloadUrl"):
        await s.gateway.upload(b"x", "x.png", "image/png")


async def test_an_empty_upload_is_rejected_without_a_call(make):
    s = make()
    with pytest.raises(GatewayRejectedError):
        await s.gateway.upload(b"", "x.png", "image/png")
    assert s.kie.requests == []


async def test_upload_from_url_posts_json_to_the_upload_host(make):
    s = make()
    s.kie.on(URL_UPLOAD, envelope(msg="File uploaded successfully", data={"downloadUrl": "https://tempfile.redpandaai.co/v.mp4"}))
    assert await s.gateway.upload_from_url("https://example.com/media/clip.mp4") == "https://tempfile.redpandaai.co/v.mp4"
    body = json.loads(s.kie.requests[0].content)
    assert body["fileUrl"] == "https://example.com/media/clip.mp4" and body["uploadPath"] == "trt/uploads"
    assert body["fileName"].endswith(".mp4") and body["fileName"] != "clip.mp4"


async def test_download_url_returns_the_string_data(make):
    s = make()
    s.kie.on(DOWNLOAD, envelope(data="https://tempfile.aiquickdraw.com/d/abc.png?exp=1200"))
    assert await s.gateway.download_url("https://file.aiquickdraw.com/r.png") == "https://tempfile.aiquickdraw.com/d/abc.png?exp=1200"
    assert json.loads(s.kie.requests[0].content) == {"url": "https://file.aiquickdraw.com/r.png"}


async def test_download_url_of_an_external_url_is_rejected(make):
    s = make()
    s.kie.on(DOWNLOAD, envelope(422, "Only kie.ai generated links are supported"))
    with pytest.raises(GatewayRejectedError, match="generated links"):
        await s.gateway.download_url("https://elsewhere.example/x.png")


@pytest.mark.parametrize(
    ("data", "expected"),
    [(100, Decimal(100)), (12.5, Decimal("12.5")), ({"credits": 7}, Decimal(7)), ({"credit": "3.25"}, Decimal("3.25"))],
)
async def test_credits_are_a_decimal(make, data, expected):
    s = make()
    s.kie.on(CREDIT, envelope(data=data))
    credits = await s.gateway.credits()
    assert credits == expected and isinstance(credits, Decimal)


async def test_credits_that_are_not_a_number_are_an_error(make):
    s = make()
    s.kie.on(CREDIT, envelope(data={"balance": "lots"}))
    with pytest.raises(GatewayError, match="not a number"):
        await s.gateway.credits()


# --- logging and lifecycle ----------------------------------------------------------------------------------------


async def test_logs_never_contain_the_api_key_or_the_prompt(make, caplog):
    caplog.set_level(logging.DEBUG)
    s = make(retries=1)
    s.kie.on(CREATE, httpx.ReadTimeout, envelope(401, "Unauthorized"), envelope(data={"taskId": "t"}))
    s.kie.on(RECORD, envelope(data=record("fail", failMsg="bad")))
    for _ in range(2):
        with pytest.raises(GatewayError):
            await s.gateway.submit(REQUEST)
    await s.gateway.submit(REQUEST)
    await s.gateway.status("t")
    assert caplog.records
    # The lines as the operator reads them: message, then the fields the call passed as data.
    text = "\n".join(TextFormatter(lambda line: line).format(record) for record in caplog.records)
    assert KEY not in text and "SECRET" not in text and PROMPT not in text
    assert f"prompt_len={len(PROMPT)}" in text
    assert "endpoint=createTask" in text and "duration_ms=" in text and "http=200" in text
    assert KEY not in repr(s.gateway)


async def test_auth_and_credit_alarms_are_logged_as_errors_at_most_once_a_minute(make, caplog):
    caplog.set_level(logging.WARNING)
    s = make()
    s.kie.on(CREDIT, envelope(401, "You do not have access permissions"))
    s.kie.on(CREATE, envelope(402, "Insufficient credits"))

    async def fail_times(n: int) -> None:
        for _ in range(n):
            with pytest.raises(GatewayError):
                await s.gateway.credits()
            with pytest.raises(GatewayQuotaError):
                await s.gateway.submit(REQUEST)

    def alarms(marker: str) -> int:
        return sum(record.levelno == logging.ERROR and record.getMessage().startswith(marker) for record in caplog.records)

    await fail_times(3)
    assert (alarms("KIE_AUTH_FAILED"), alarms("KIE_CREDITS_EXHAUSTED")) == (1, 1)
    s.clock.advance(61)
    await fail_times(1)
    assert (alarms("KIE_AUTH_FAILED"), alarms("KIE_CREDITS_EXHAUSTED")) == (2, 2)


async def test_aclose_closes_only_a_client_the_gateway_created():
    owned = KieHttpGateway(API, UPLOAD, KEY, clock=VirtualClock())
    await owned.aclose()
    assert owned._client.is_closed
    async with httpx.AsyncClient() as client:
        shared = KieHttpGateway(API, UPLOAD, KEY, clock=VirtualClock(), client=client)
        await shared.aclose()
        assert not client.is_closed


def test_a_missing_api_key_fails_fast():
    with pytest.raises(ValueError, match="API key"):
        KieHttpGateway(API, UPLOAD, " ", clock=VirtualClock())


class RecordingBudget:
    """A SubmitBudget that always has room and records what the gateway asked of it."""

    def __init__(self) -> None:
        self.taken, self.holds = 0, []

    async def take(self) -> float:
        self.taken += 1
        return 0.0

    async def hold(self, seconds: float) -> None:
        self.holds.append(seconds)


async def test_every_generation_request_takes_a_slot_of_the_shared_budget_unless_the_caller_took_it(make):
    budget = RecordingBudget()
    s = make(submit_budget=budget)
    s.kie.on(CREATE, envelope(data={"taskId": "task_1"})).on(RECORD, envelope(data=record("waiting")))
    s.kie.on("/api/v1/veo/get-1080p-video", envelope(422, "1080P is processing. Please check back shortly."))
    await s.gateway.submit(REQUEST)  # market createTask
    await s.gateway.submit(GenerationRequest("veo/1080p", {"task_id": "veo_1", "index": 0}, job_id="j2", api="veo_1080p"))
    assert budget.taken == 2  # the 1080p follow-up's first GET starts KIE's work: it counts too
    await s.gateway.submit(replace(REQUEST, slot_taken=True))  # the job runner's queue took the slot
    assert budget.taken == 2
    await s.gateway.status("task_1")
    assert budget.taken == 2  # polling is not a generation request


async def test_a_429_holds_the_shared_budget_and_the_resend_takes_a_new_slot(make):
    budget = RecordingBudget()
    s = make(submit_budget=budget)
    s.kie.on(CREATE, envelope(429, "Too many requests"), envelope(data={"taskId": "task_2"}))
    assert await s.gateway.submit(replace(REQUEST, slot_taken=True)) == "task_2"
    assert budget.holds == [10.0] and budget.taken == 1  # KIE sends no retry_after: a whole window


async def test_a_retry_after_header_on_a_429_sets_how_long_the_budget_is_held(make):
    budget = RecordingBudget()
    s = make(submit_budget=budget)
    s.kie.on(CREATE, httpx.Response(429, text="slow down", headers={"Retry-After": "3"}),
             envelope(data={"taskId": "task_3"}))
    assert await s.gateway.submit(replace(REQUEST, slot_taken=True)) == "task_3"
    assert budget.holds == [3.0]
