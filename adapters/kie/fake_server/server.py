"""FakeKieServer: the two aiohttp sites (api host, upload host), the Cloudflare/auth/scripting layer every
endpoint goes through, the recorded requests, and the helpers a test drives the fake with."""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
import tempfile
from collections import deque
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Awaitable, Callable, Mapping

import aiohttp
from aiohttp import web

from adapters.kie.fake import FakeKieGateway, ResultShape
from adapters.kie.fake_server.callbacks import CALLBACK_TIMEOUT, CallbackDelivery
from adapters.kie.fake_server.families import FamilyEndpoints
from adapters.kie.fake_server.files import FileEndpoints
from adapters.kie.fake_server.follow_ups import FollowUpEndpoints
from adapters.kie.fake_server.models import (
    BLOCKED_USER_AGENTS,
    CLOUDFLARE_BODY,
    ENDPOINTS,
    MAX_UPLOAD,
    NO_ACCESS,
    UPLOAD_ENDPOINTS,
    CallbackAttempt,
    KieRequest,
    ModelRules,
    Scripted,
    Scripts,
    SystemClock,
    TaskRecord,
    envelope,
)
from adapters.kie.fake_server.tasks import TaskEndpoints
from ports.catalog import OutputKind
from ports.clock import Clock
from ports.generation import TaskState

Handler = Callable[[web.Request, Any], Awaitable[web.Response]]


class FakeKieServer(TaskEndpoints, FamilyEndpoints, FollowUpEndpoints, FileEndpoints, CallbackDelivery):
    def __init__(
        self,
        *,
        api_key: str = "test-kie-key",
        clock: Clock | None = None,
        files_dir: Path | str | None = None,
        speed: float = 1.0,
        durations: Mapping[OutputKind, float] | None = None,
        credits: Decimal = Decimal("1000"),
        models: Mapping[str, ModelRules] | None = None,
        validation_code: int = 500,
        host: str = "127.0.0.1",
        api_port: int = 0,
        upload_port: int = 0,
        rate_limit: int = 20,
        rate_window: float = 10.0,
        use_message_key: bool = False,
        url_ttl: float | None = None,
        webhook_hmac_key: str | None = None,
    ) -> None:
        if rate_limit < 1 or rate_window <= 0:
            raise ValueError("rate_limit must be ≥ 1 and rate_window positive")
        self.api_key = api_key
        self._clock: Clock = clock or SystemClock()
        # A temporary folder is only named here; the gateway creates it on first write, __aexit__ removes it.
        self._own_dir = files_dir is None
        temporary = Path(tempfile.gettempdir()) / f"fake-kie-{secrets.token_hex(6)}"
        self._files_dir = (Path(files_dir) if files_dir is not None else temporary).resolve()
        self._models = dict(models) if models is not None else None
        shapes = {m: ResultShape(r.output, r.count, r.count_field) for m, r in (self._models or {}).items()}
        self._gateway = FakeKieGateway(self._clock, self._files_dir, shapes=shapes, durations=durations, speed=speed)
        self._credits = Decimal(credits)
        self.validation_code = validation_code
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.use_message_key = use_message_key
        self.url_ttl = url_ttl
        self.webhook_hmac_key = webhook_hmac_key
        self.callback_timeout = CALLBACK_TIMEOUT
        self._host, self._api_port, self._upload_port = host, api_port, upload_port
        self.api_base_url = ""
        self.upload_base_url = ""
        self._records: dict[str, TaskRecord] = {}
        self.family_prices: dict[str, Decimal] = {}  # credits a family's success costs (default DEFAULT_PRICE)
        self._create_times: deque[datetime] = deque()
        self._served = {}
        self._temporary = {}
        self._scripts = Scripts()
        self._due = []
        self._deliveries: set[asyncio.Task[None]] = set()
        self._callback_mode = "once"
        self._callback_delay = 0.0
        self._session: aiohttp.ClientSession | None = None
        self._runners: list[web.AppRunner] = []
        self._ticker: asyncio.Task[None] | None = None
        # Records for assertions.
        self.requests: list[KieRequest] = []
        self.task_ids: list[str] = []
        self.callbacks: list[CallbackAttempt] = []
        self.generation_times: list[datetime] = []  # when each createTask-like request arrived (429s included)
        self.rate_refusals = 0  # of them, refused with 429 for the rate

    # --- lifecycle -----------------------------------------------------------------------------------------

    async def __aenter__(self) -> FakeKieServer:
        self._session = aiohttp.ClientSession()
        try:
            self.api_base_url = await self._start(self._api_app(), self._api_port)
            self.upload_base_url = await self._start(self._upload_app(), self._upload_port)
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        self._ticker = asyncio.create_task(self._tick_forever())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        tasks = [task for task in (self._ticker, *self._deliveries) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._ticker = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()
        if self._own_dir:
            await asyncio.to_thread(shutil.rmtree, self._files_dir, True)

    async def _start(self, app: web.Application, port: int) -> str:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        self._runners.append(runner)
        await web.TCPSite(runner, self._host, port).start()
        host, bound = runner.addresses[0][:2]
        return f"http://{host}:{bound}"

    def _api_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/v1/jobs/createTask", self._endpoint("createTask", self._create_task))
        app.router.add_get("/api/v1/jobs/recordInfo", self._endpoint("recordInfo", self._record_info))
        app.router.add_get("/api/v1/chat/credit", self._endpoint("credit", self._credit))
        app.router.add_post("/api/v1/common/download-url", self._endpoint("download-url", self._download_url))
        self._add_family_routes(app, self._endpoint)
        self._add_follow_up_routes(app, self._endpoint)
        app.router.add_get("/files/{path:.+}", self._file_handler("api"))
        app.router.add_get("/tmp/{token}/{name}", self._serve_temporary)
        app.router.add_route("*", "/api/{tail:.*}", self._endpoint("unknown", _not_found))
        return app

    def _upload_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_UPLOAD + 1024 * 1024)
        app.router.add_post("/api/file-stream-upload", self._endpoint("file-stream-upload", self._stream_upload))
        app.router.add_post("/api/file-base64-upload", self._endpoint("file-base64-upload", self._base64_upload))
        app.router.add_post("/api/file-url-upload", self._endpoint("file-url-upload", self._url_upload))
        app.router.add_get("/files/{path:.+}", self._file_handler("upload"))
        app.router.add_route("*", "/api/{tail:.*}", self._endpoint("unknown", _not_found))
        return app

    # --- scripting -----------------------------------------------------------------------------------------

    def fail_next(
        self,
        endpoint: str,
        *,
        code: int = 500,
        msg: str = "Server error",
        count: int = 1,
        http_status: int | None = None,
    ) -> None:
        """The next ``count`` calls of ``endpoint`` answer envelope ``code``/``msg`` with HTTP 200, or — when
        ``http_status`` is given — that bare HTTP status with ``msg`` as a text body (a proxy's error page)."""
        self._scripts.failures.setdefault(_endpoint_name(endpoint), []).extend(
            [Scripted(code, msg, http_status)] * _count(count)
        )

    def delay_next(self, endpoint: str, seconds: float, count: int = 1) -> None:
        """The next ``count`` calls of ``endpoint`` wait ``seconds`` of real time before answering."""
        self._scripts.delays.setdefault(_endpoint_name(endpoint), []).extend([float(seconds)] * _count(count))

    def fail_next_tasks(self, n: int = 1, message: str = "Internal server error", code: str = "500") -> None:
        """The next ``n`` accepted tasks end in state fail (FakeKieGateway.fail_next_tasks)."""
        self._gateway.fail_next_tasks(n, message, code)

    def return_links_next(self, *urls: str) -> None:
        """The next task to succeed reports exactly these result links (any scheme): a compromised or
        impersonated KIE answer, for tests of what the bot does with links it must not trust."""
        self._scripts.links.append(list(urls))

    def hang_next_tasks(self, n: int = 1) -> None:
        """The next ``n`` accepted tasks stay generating forever (FakeKieGateway.hang_next_tasks)."""
        self._gateway.hang_next_tasks(n)

    def set_credits(self, credits: Decimal) -> None:
        self._credits = Decimal(credits)

    # --- inspection ----------------------------------------------------------------------------------------

    @property
    def credits(self) -> Decimal:
        return self._credits

    @property
    def gateway(self) -> FakeKieGateway:
        """The wrapped in-process fake (its ``submitted`` and ``uploads`` records are there too)."""
        return self._gateway

    @property
    def files_dir(self) -> Path:
        return self._files_dir

    async def task_state(self, task_id: str) -> TaskState:
        """The task's state now (asks the gateway, as recordInfo would). KeyError for an unknown id."""
        record = self._records[task_id]
        await self._refresh(record)
        return record.state

    def requests_to(self, endpoint: str) -> list[KieRequest]:
        return [request for request in self.requests if request.endpoint == endpoint]

    # --- the layer in front of every endpoint --------------------------------------------------------------

    def _endpoint(self, name: str, handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def wrapped(request: web.Request) -> web.Response:
            body = await _read_body(request)
            auth = self._auth(request.headers.get("Authorization"))
            headers = {key: value for key, value in request.headers.items() if key.lower() != "authorization"}
            self.requests.append(KieRequest(name, request.method, body, headers, auth))
            agent = request.headers.get("User-Agent", "").strip()
            if not agent or agent.lower().startswith(BLOCKED_USER_AGENTS):
                return web.Response(status=403, text=CLOUDFLARE_BODY)  # Cloudflare, KIE_API.md §1
            delay, failure = self._scripts.take(name)
            if delay:
                await asyncio.sleep(delay)
            if failure is not None and failure.http_status is not None:
                return web.Response(status=failure.http_status, text=failure.msg)
            if failure is not None:
                return envelope(failure.code, failure.msg)
            if auth != "ok":
                return envelope(401, NO_ACCESS)
            return await handler(request, body)

        return wrapped

    def _auth(self, header: str | None) -> str:
        if not header or not header.strip():
            return "missing"
        scheme, _, token = header.strip().partition(" ")
        return "ok" if scheme.lower() == "bearer" and token.strip() == self.api_key else "wrong"


async def _not_found(request: web.Request, body: Any) -> web.Response:
    return envelope(404, "Not Found")


async def _read_body(request: web.Request) -> Any:
    if request.method == "GET" or not request.can_read_body:
        return dict(request.query)
    if request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        form = await request.post()
        return {name: _field(value) for name, value in form.items()}
    text = await request.text()
    try:
        return json.loads(text)
    except ValueError:
        return text


def _field(value: Any) -> Any:
    if isinstance(value, web.FileField):
        size = value.file.seek(0, 2)
        value.file.seek(0)
        return {"filename": value.filename, "content_type": value.content_type, "size": size}
    return value


def _endpoint_name(endpoint: str) -> str:
    if endpoint not in (*ENDPOINTS, *UPLOAD_ENDPOINTS):
        raise ValueError(f"unknown endpoint {endpoint!r}; one of {ENDPOINTS + UPLOAD_ENDPOINTS}")
    return endpoint


def _count(n: int) -> int:
    if n < 0:
        raise ValueError("count must not be negative")
    return n
