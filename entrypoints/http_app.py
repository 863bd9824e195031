"""The one aiohttp application, in both bot modes: GET /health, GET /metrics, POST /webhook/{secret path},
POST /{KIE_CALLBACK_PATH}."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Mapping

from aiohttp import web

from adapters.telegram.update_body import MalformedUpdateError, read_update
from entrypoints.request_log import quiet_malformed_requests
from entrypoints.telemetry import RateLimitedLog, exception_caught
from ports.generation import GatewayHealth
from ports.storage import StorageUnavailableError

log = logging.getLogger(__name__)

MAX_UPDATE_BYTES = 1024 * 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
VERSION = "0.2.0"
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # Prometheus' text exposition format
REJECTION_LOG_EVERY_S = 60.0  # rejected webhook posts: one line per status per minute at most


@dataclass
class HealthState:
    """Everything /health reports, kept in memory so the endpoint calls no outside service."""

    bot_mode: str
    storage: str
    started: float = field(default_factory=time.monotonic)
    active: bool = True
    lock_acquired: bool = True
    jobs_in_flight: Callable[[], int] = lambda: 0
    inbox_depth: Callable[[], int] = lambda: 0
    updates_shed: Callable[[], int] = lambda: 0  # shed at intake over the inbound limit (entrypoints/intake_limit.py)
    generator: Callable[[], GatewayHealth] = GatewayHealth
    kie_mode: str = "real"  # "fake": the fake generator answers orders (KIE_MODE=fake)
    leader: Callable[[], str | None] = lambda: None  # the instance id holding the leader lock, as last seen

    @property
    def role(self) -> str:
        """leader: holds the lock; worker: processes without it (PostgreSQL); standby: neither (JSON, passive)."""
        if self.lock_acquired:
            return "leader"
        return "worker" if self.active else "standby"

    def body(self) -> dict[str, object]:
        return {
            "ok": True,
            "mode": "active" if self.active else "passive",
            "lock_acquired": self.lock_acquired,
            "role": self.role,
            "leader": self.leader(),
            "ts": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "storage": self.storage,
            "bot_mode": self.bot_mode,
            "version": VERSION,
            "uptime_s": round(time.monotonic() - self.started, 1),
            "inbox_depth": self.inbox_depth(),
            "updates_shed": self.updates_shed(),
            "jobs_in_flight": self.jobs_in_flight(),
            "kie": self._generator(),
            "kie_mode": self.kie_mode,
        }

    def _generator(self) -> dict[str, object]:
        """The generation service as the latest real calls saw it (no call is made here)."""
        health = self.generator()
        stamp = health.last_call_at.strftime("%Y-%m-%dT%H:%M:%SZ") if health.last_call_at else None
        return {"state": health.state, "accepting": health.accepting, "last_error": health.last_error, "last_call_at": stamp}


def _same(given: str | None, expected: str) -> bool:
    """Constant-time equality. ``surrogateescape``: a header of bytes that are not UTF-8 (aiohttp keeps them as
    lone surrogates) compares unequal instead of failing to encode (a 500)."""
    return given is not None and hmac.compare_digest(
        given.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape"))


def _bearer(request: web.Request) -> str | None:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else None


def _json_error(status: int, description: str) -> web.Response:
    return web.json_response({"ok": False, "description": description}, status=status)


def _closing(response: web.Response) -> web.Response:
    """After a body aiohttp failed to decode, the connection is unusable (aiohttp drops it): say so, so the
    client does not send its next request down it."""
    response.force_close()
    return response


class UpdateNotAcceptedError(Exception):
    """The instance cannot take updates now (passive without a shared inbox): answer 503 so Telegram
    delivers the update again later instead of losing it."""


def make_http_app(
    *,
    health: HealthState,
    accept: Callable[[Mapping[str, Any], str], Awaitable[bool]],
    webhook_path: str | None,
    webhook_token: str | None,
    kie_callback_path: str,
    kie_callback_token: str | None,
    on_task_event: Callable[[str], Awaitable[bool]],
    metrics: Callable[[], bytes] | None = None,
    metrics_token: str | None = None,
) -> web.Application:
    quiet_malformed_requests()
    app = web.Application(client_max_size=MAX_UPDATE_BYTES)
    background: set[asyncio.Task[bool]] = set()
    rejections = RateLimitedLog(log, every=REJECTION_LOG_EVERY_S)

    def rejected(request: web.Request, status: int, description: str) -> web.Response:
        """Logged once a minute per status (anyone can post junk); the path and headers hold secrets: never logged."""
        forwarded = (request.headers.get("X-Forwarded-For") or "")[:100] or None  # the client, behind Render's proxy
        rejections.warning(str(status), "WEBHOOK_REJECTED", status=status, reason=description, remote=request.remote,
                           forwarded_for=forwarded)
        return _json_error(status, description)

    async def get_health(request: web.Request) -> web.Response:
        return web.json_response(health.body())

    async def get_metrics(request: web.Request) -> web.Response:
        """Prometheus' text format (entrypoints/metrics.py); with METRICS_TOKEN set, only for its bearer."""
        if metrics is None:
            raise web.HTTPNotFound()
        if metrics_token is not None and not _same(_bearer(request), metrics_token):
            return web.Response(status=401, text="unauthorized", headers={"WWW-Authenticate": "Bearer"})
        return web.Response(body=metrics(), headers={"Content-Type": METRICS_CONTENT_TYPE})

    async def post_webhook(request: web.Request) -> web.Response:
        if webhook_path is None or webhook_token is None or not _same(request.match_info["path"], webhook_path):
            rejected(request, 404, "unknown webhook path")
            raise web.HTTPNotFound()
        if not _same(request.headers.get(SECRET_HEADER), webhook_token):
            return rejected(request, 403, "wrong or missing secret token")
        if request.content_length is not None and request.content_length > MAX_UPDATE_BYTES:
            return rejected(request, 413, "update too large")
        try:
            update = read_update(await request.read())  # the only parse; its text is what gets stored
        except web.HTTPRequestEntityTooLarge:
            return rejected(request, 413, "update too large")
        except web.RequestPayloadError:  # a body aiohttp could not decode (a bad gzip stream)
            return _closing(rejected(request, 400, "body cannot be decoded"))
        except MalformedUpdateError as error:
            return rejected(request, 400, str(error))
        update_id = update.update_id
        try:
            await accept(update.payload, update.text)
        except UpdateNotAcceptedError:
            return _json_error(503, "this instance is passive; Telegram will retry")
        except StorageUnavailableError as error:
            exception_caught(error, update_id=update_id, stage="webhook_store")
            return _json_error(503, "cannot store the update now; Telegram will retry")
        return web.json_response({"ok": True})

    async def post_kie_callback(request: web.Request) -> web.Response:
        if kie_callback_token is None or not _same(request.query.get("token"), kie_callback_token):
            return web.json_response({"code": 403, "msg": "forbidden"}, status=403)
        try:
            body = json.loads(await request.read())
        except (ValueError, RecursionError, web.HTTPRequestEntityTooLarge):
            return web.json_response({"code": 400, "msg": "body is not JSON"}, status=400)
        except web.RequestPayloadError:
            return _closing(web.json_response({"code": 400, "msg": "body cannot be decoded"}, status=400))
        data = body.get("data") if isinstance(body, dict) else None
        data = data if isinstance(data, dict) else {}
        task_id = data.get("taskId") or data.get("task_id") or (body.get("taskId") if isinstance(body, dict) else None)
        if not isinstance(task_id, str) or not task_id:
            return web.json_response({"code": 400, "msg": "no taskId"}, status=400)
        # The callback is a prompt to confirm: the job runner reads the task's state from KIE itself.
        task = asyncio.create_task(on_task_event(task_id))
        background.add(task)
        task.add_done_callback(background.discard)
        return web.json_response({"code": 200, "msg": "success"})

    async def drain_background(app: web.Application) -> None:
        await asyncio.gather(*background, return_exceptions=True)

    app.router.add_get("/health", get_health)
    app.router.add_get("/metrics", get_metrics)
    app.router.add_post("/webhook/{path}", post_webhook)
    app.router.add_post(f"/{kie_callback_path}", post_kie_callback)
    app.on_shutdown.append(drain_background)
    return app
