"""The GenerationGateway contract: what every implementation (the in-process fake, and the real HTTP client
against the fake KIE server) must do. Each implementation is wrapped in a small harness that builds it on a
VirtualClock and knows how to script it; append new harness factories to ``IMPLEMENTATIONS``."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, Callable
from urllib.parse import unquote, urlparse

import httpx
import pytest

from adapters.kie.fake import FakeKieGateway
from adapters.kie.fake_server import FakeKieServer, ModelRules
from adapters.kie.http_gateway import KieHttpGateway
from adapters.system.clock import VirtualClock
from ports.catalog import OutputKind
from ports.generation import (
    GatewayError,
    GatewayRejectedError,
    GatewayUnavailableError,
    GenerationGateway,
    GenerationRequest,
    TaskState,
    TaskStatus,
    UnknownTaskError,
)

IMAGE_MODEL = "z-image"
VIDEO_MODEL = "kling-2.6/text-to-video"
AUDIO_MODEL = "elevenlabs/audio-isolation"
STT_MODEL = "elevenlabs/speech-to-text"
MODELS = {
    IMAGE_MODEL: OutputKind.IMAGE,
    VIDEO_MODEL: OutputKind.VIDEO,
    AUDIO_MODEL: OutputKind.AUDIO,
    STT_MODEL: OutputKind.TEXT,
}
# Every harness makes each task take this long (virtual seconds) unless it hangs.
TASK_SECONDS = 10.0
POLL_SECONDS = 0.25
ORDER = [TaskState.WAITING, TaskState.QUEUING, TaskState.GENERATING, TaskState.SUCCESS]


class Harness:
    """One implementation under test plus the levers the contract needs."""

    gateway: GenerationGateway
    clock: VirtualClock
    storage_dir: Path  # every file the implementation stores lives under here

    def script_transient_submit_error(self, n: int) -> None:
        raise NotImplementedError

    def set_offline(self, offline: bool) -> None:
        raise NotImplementedError

    def stored_path(self, url: str) -> Path:
        """The local file behind a result or upload URL."""
        raise NotImplementedError


@dataclass
class FakeHarness(Harness):
    gateway: FakeKieGateway
    clock: VirtualClock
    storage_dir: Path

    @classmethod
    def build(cls, clock: VirtualClock, tmp_path: Path) -> FakeHarness:
        files_dir = tmp_path / "kie-files"
        durations = {kind: TASK_SECONDS for kind in OutputKind}
        return cls(FakeKieGateway(clock, files_dir, outputs=MODELS, durations=durations), clock, files_dir)

    def script_transient_submit_error(self, n: int) -> None:
        self.gateway.fail_next_submits(n, GatewayUnavailableError("HTTP 503 (scripted)"))

    def set_offline(self, offline: bool) -> None:
        self.gateway.set_offline(offline)

    def stored_path(self, url: str) -> Path:
        parsed = urlparse(url)
        assert parsed.scheme == "file", url
        return Path(unquote(parsed.path))


@asynccontextmanager
async def fake_harness(clock: VirtualClock, tmp_path: Path) -> AsyncIterator[Harness]:
    yield FakeHarness.build(clock, tmp_path)


class _Switchable(httpx.AsyncBaseTransport):
    """A real network transport that can be cut: offline, every request fails to connect."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.offline = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.offline:
            raise httpx.ConnectError("connection refused (harness offline)", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class HttpHarness(Harness):
    """The real client (KieHttpGateway) over HTTP to the fake KIE server on loopback."""

    gateway: KieHttpGateway
    clock: VirtualClock
    storage_dir: Path
    server: FakeKieServer
    transport: _Switchable

    def script_transient_submit_error(self, n: int) -> None:
        self.server.fail_next("createTask", http_status=503, msg="Service Unavailable", count=n)

    def set_offline(self, offline: bool) -> None:
        self.transport.offline = offline

    def stored_path(self, url: str) -> Path:
        parsed = urlparse(url)
        assert parsed.scheme == "http" and parsed.path.startswith("/files/"), url
        return self.storage_dir / unquote(parsed.path[len("/files/"):])


@asynccontextmanager
async def http_harness(clock: VirtualClock, tmp_path: Path) -> AsyncIterator[Harness]:
    files_dir = tmp_path / "kie-files"
    rules = {model: ModelRules(output=output) for model, output in MODELS.items()}
    durations = {kind: TASK_SECONDS for kind in OutputKind}
    async with FakeKieServer(clock=clock, files_dir=files_dir, models=rules, durations=durations) as server:
        transport = _Switchable()
        async with httpx.AsyncClient(transport=transport, timeout=10) as client:
            gateway = KieHttpGateway(
                server.api_base_url, server.upload_base_url, "test-kie-key", clock=clock, client=client,
                sleep=clock.sleep, retries=0, breaker_threshold=1000,
            )
            yield HttpHarness(gateway, clock, files_dir, server, transport)


IMPLEMENTATIONS: list[Callable[[VirtualClock, Path], AbstractAsyncContextManager[Harness]]] = [
    fake_harness,
    http_harness,
]


@pytest.fixture(params=IMPLEMENTATIONS, ids=lambda factory: factory.__name__.removesuffix("_harness"))
async def harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    async with request.param(VirtualClock(), tmp_path) as built:
        yield built


@pytest.fixture
def gateway(harness: Harness) -> GenerationGateway:
    return harness.gateway


def request_for(model: str, prompt: str = "a lighthouse at dusk", **extra: object) -> GenerationRequest:
    fields = {"audio_url": "https://example.com/voice.ogg"} if model == STT_MODEL else {"prompt": prompt}
    return GenerationRequest(model=model, input={**fields, **extra}, job_id="job-1")


async def run_to_end(
    harness: Harness, task_id: str, limit: float = 3600.0, step: float = POLL_SECONDS
) -> list[TaskStatus]:
    """Poll every ``step`` virtual seconds until terminal (or ``limit``); return every status seen."""
    seen = [await harness.gateway.status(task_id)]
    waited = 0.0
    while not seen[-1].state.terminal and waited < limit:
        await harness.clock.sleep(step)
        waited += step
        seen.append(await harness.gateway.status(task_id))
    return seen


async def finished(harness: Harness, model: str, **kwargs: object) -> TaskStatus:
    task_id = await harness.gateway.submit(request_for(model, **kwargs))
    final = (await run_to_end(harness, task_id))[-1]
    assert final.state is TaskState.SUCCESS, final
    return final


# --- lifecycle ---------------------------------------------------------------------------------------------


async def test_submit_returns_a_task_id_and_the_task_moves_through_every_state_in_order(harness: Harness) -> None:
    task_id = await harness.gateway.submit(request_for(IMAGE_MODEL))
    assert isinstance(task_id, str) and task_id

    seen = await run_to_end(harness, task_id)

    assert all(status.task_id == task_id for status in seen)
    states = [status.state for status in seen]
    ranks = [ORDER.index(state) for state in states]
    assert ranks == sorted(ranks), "a task never goes backwards"
    assert list(dict.fromkeys(states)) == ORDER


async def test_progress_never_decreases_while_generating(harness: Harness) -> None:
    task_id = await harness.gateway.submit(request_for(IMAGE_MODEL))
    progress = [s.progress for s in await run_to_end(harness, task_id) if s.state is TaskState.GENERATING]
    known = [p for p in progress if p is not None]
    assert known == sorted(known)
    assert all(0 <= p <= 100 for p in known)


async def test_each_submit_gets_a_new_task_id(gateway: GenerationGateway) -> None:
    ids = {await gateway.submit(request_for(IMAGE_MODEL)) for _ in range(3)}
    assert len(ids) == 3


async def test_two_tasks_submitted_at_different_times_progress_independently(harness: Harness) -> None:
    gateway, clock = harness.gateway, harness.clock
    first = await gateway.submit(request_for(IMAGE_MODEL, "first"))
    clock.advance(TASK_SECONDS * 0.5)
    second = await gateway.submit(request_for(IMAGE_MODEL, "second"))

    assert (await gateway.status(first)).state is TaskState.GENERATING
    assert (await gateway.status(second)).state is TaskState.WAITING

    clock.advance(TASK_SECONDS * 0.6)
    assert (await gateway.status(first)).state is TaskState.SUCCESS
    assert (await gateway.status(second)).state is TaskState.GENERATING

    clock.advance(TASK_SECONDS * 0.5)
    assert (await gateway.status(second)).state is TaskState.SUCCESS


async def test_unknown_task_id_raises_unknown_task_error(gateway: GenerationGateway) -> None:
    with pytest.raises(UnknownTaskError):
        await gateway.status("no_such_task")


# --- results -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "magic", "offset"),
    [(IMAGE_MODEL, b"\x89PNG\r\n\x1a\n", 0), (AUDIO_MODEL, b"RIFF", 0), (VIDEO_MODEL, b"ftyp", 4)],
    ids=["image-png", "audio-wav", "video-mp4"],
)
async def test_success_result_urls_are_existing_files_with_the_right_magic_number(
    harness: Harness, model: str, magic: bytes, offset: int
) -> None:
    final = await finished(harness, model)

    assert final.result_urls
    assert final.fail_code is None and final.fail_message is None
    for url in final.result_urls:
        path = harness.stored_path(url)
        assert path.is_file()
        assert path.resolve().is_relative_to(harness.storage_dir.resolve())
        assert path.read_bytes()[offset : offset + len(magic)] == magic


async def test_polling_a_finished_task_again_returns_the_same_result(harness: Harness) -> None:
    final = await finished(harness, IMAGE_MODEL)
    harness.clock.advance(60)
    assert await harness.gateway.status(final.task_id) == final


async def test_different_prompts_give_different_result_files(harness: Harness) -> None:
    cat = await finished(harness, IMAGE_MODEL, prompt="a cat")
    dog = await finished(harness, IMAGE_MODEL, prompt="a dog")
    assert set(cat.result_urls).isdisjoint(dog.result_urls)
    cat_bytes = harness.stored_path(cat.result_urls[0]).read_bytes()
    assert cat_bytes != harness.stored_path(dog.result_urls[0]).read_bytes()


async def test_speech_to_text_model_returns_result_text_and_no_urls(harness: Harness) -> None:
    final = await finished(harness, STT_MODEL)
    assert final.result_text and final.result_text.strip()
    assert final.result_urls == ()


# --- failures ----------------------------------------------------------------------------------------------


async def test_fail_prompt_ends_in_fail_with_a_fail_message(harness: Harness) -> None:
    task_id = await harness.gateway.submit(request_for(IMAGE_MODEL, "please FAIL this one"))

    final = (await run_to_end(harness, task_id))[-1]

    assert final.state is TaskState.FAIL
    assert final.fail_message
    assert final.fail_code
    assert final.result_urls == ()


async def test_hang_prompt_never_finishes_within_an_hour_of_virtual_time(harness: Harness) -> None:
    task_id = await harness.gateway.submit(request_for(VIDEO_MODEL, "HANG forever"))

    seen = await run_to_end(harness, task_id, limit=3600.0, step=30.0)

    assert seen[-1].state is TaskState.GENERATING
    assert not any(status.state.terminal for status in seen)


async def test_scripted_transient_submit_error_is_retryable_and_the_next_submit_succeeds(harness: Harness) -> None:
    harness.script_transient_submit_error(1)

    with pytest.raises(GatewayError) as caught:
        await harness.gateway.submit(request_for(IMAGE_MODEL))
    assert caught.value.retryable is True

    task_id = await harness.gateway.submit(request_for(IMAGE_MODEL))
    assert (await run_to_end(harness, task_id))[-1].state is TaskState.SUCCESS


async def test_reject_prompt_raises_a_non_retryable_rejected_error(gateway: GenerationGateway) -> None:
    with pytest.raises(GatewayRejectedError) as caught:
        await gateway.submit(request_for(IMAGE_MODEL, "something to REJECT"))
    assert caught.value.retryable is False
    assert str(caught.value)


async def test_offline_raises_unavailable_error_on_every_call_until_back_online(harness: Harness) -> None:
    gateway = harness.gateway
    task_id = await gateway.submit(request_for(IMAGE_MODEL))
    harness.set_offline(True)

    with pytest.raises(GatewayUnavailableError):
        await gateway.submit(request_for(IMAGE_MODEL))
    with pytest.raises(GatewayUnavailableError):
        await gateway.status(task_id)
    with pytest.raises(GatewayUnavailableError):
        await gateway.upload(b"data", "photo.jpg", "image/jpeg")

    harness.set_offline(False)
    assert (await gateway.status(task_id)).task_id == task_id


# --- uploads -----------------------------------------------------------------------------------------------


async def test_upload_returns_a_url_whose_file_holds_exactly_the_bytes(harness: Harness) -> None:
    data = bytes(range(256)) * 10

    url = await harness.gateway.upload(data, "photo.jpg", "image/jpeg")

    assert harness.stored_path(url).read_bytes() == data


async def test_upload_of_empty_bytes_is_rejected(gateway: GenerationGateway) -> None:
    with pytest.raises(GatewayRejectedError):
        await gateway.upload(b"", "empty.jpg", "image/jpeg")


@pytest.mark.parametrize("hostile", ["../../etc/passwd", "/etc/passwd", "..\\..\\boot.ini", "a/../../../x.png", ""])
async def test_a_hostile_file_name_stays_inside_the_storage_dir(harness: Harness, hostile: str) -> None:
    url = await harness.gateway.upload(b"payload", hostile, "application/octet-stream")

    path = harness.stored_path(url).resolve()
    assert path.is_relative_to(harness.storage_dir.resolve())
    assert path.read_bytes() == b"payload"


async def test_two_uploads_with_the_same_name_do_not_overwrite_each_other(harness: Harness) -> None:
    first = await harness.gateway.upload(b"one", "photo.jpg", "image/jpeg")
    second = await harness.gateway.upload(b"two", "photo.jpg", "image/jpeg")

    assert first != second
    assert harness.stored_path(first).read_bytes() == b"one"
    assert harness.stored_path(second).read_bytes() == b"two"
