"""FakeBotApi: the aiohttp server (routing, parameter decoding, scripted failures, error answers) over the Bot
API method groups, and the helpers a test drives it with."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict, deque
from typing import Any, Awaitable, Callable

import aiohttp
from aiohttp import web

from adapters.telegram.fake_bot_api.control import add_control_routes
from adapters.telegram.fake_bot_api.media import MEDIA_METHODS, MediaMethods
from adapters.telegram.fake_bot_api.messages import MessageMethods
from adapters.telegram.fake_bot_api.models import (
    MIB,
    TERMINATED,
    TOKEN,
    UPLOAD_MAX,
    ApiError,
    Call,
    Failure,
    SentMessage,
    StoredFile,
    UploadedFile,
)
from adapters.telegram.fake_bot_api.payments import PaymentMethods
from adapters.telegram.fake_bot_api.updates import DEFAULT_EXCLUDED, UpdateMethods
from adapters.telegram.fake_bot_api.webhook import WebhookDelivery

_INT_FIELDS = {"chat_id", "message_id", "offset", "limit", "timeout", "user_id", "cache_time", "max_connections",
               "reply_to_message_id", "message_thread_id", "duration", "width", "height"}
_BOOL_FIELDS = {"show_alert", "drop_pending_updates", "ok", "supports_streaming", "disable_notification",
                "protect_content", "has_spoiler", "disable_content_type_detection"}
_JSON_FIELDS = {"media", "reply_markup", "allowed_updates", "prices", "link_preview_options", "reply_parameters",
                "caption_entities", "entities", "commands", "scope"}


class FakeBotApi(MessageMethods, MediaMethods, UpdateMethods, PaymentMethods, WebhookDelivery):
    """``local``: accept http:// webhooks on any host and port, as ``telegram-bot-api --local`` does.
    ``deliver_webhooks``: POST queued updates to the webhook once one is set (see :mod:`.webhook`).
    ``control``: serve the user-acting HTTP API under ``/_fake/`` (:mod:`.control`).
    ``port``: 0 picks a free one; ``base_url`` tells which after ``__aenter__``."""

    def __init__(self, token: str = TOKEN, *, bot_id: int = 999_000, bot_username: str = "TrtFakeBot",
                 local: bool = False, deliver_webhooks: bool = False, port: int = 0, control: bool = False) -> None:
        super().__init__(token, bot_id, bot_username, local=local)
        self._deliver_webhooks, self._port, self._control = deliver_webhooks, port, control
        self._delivery: asyncio.Task[None] | None = None
        self.base_url = ""
        self._runner: web.AppRunner | None = None
        self._calls: list[Call] = []
        self._failures: dict[str, deque[Failure]] = defaultdict(deque)
        self.downloads: list[str] = []  # file paths fetched from {root}/file/bot{token}/…
        self._handlers: dict[str, Callable[[dict[str, Any], dict[str, UploadedFile]], Awaitable[Any]]] = {
            "getme": self._get_me, "sendmessage": self._send_message, "editmessagetext": self._edit_message_text,
            "answercallbackquery": self._answer_callback_query,
            "getfile": self._get_file, "setwebhook": self._set_webhook, "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info, "getupdates": self._get_updates,
            "sendinvoice": self._send_invoice, "answerprecheckoutquery": self._answer_pre_checkout_query,
            "refundstarpayment": self._refund_star_payment, "sendchataction": self._accept,
            "setmycommands": self._accept, "deletemessage": self._delete_message,
            "sendmediagroup": self._send_media_group,
        }
        for method, kind in MEDIA_METHODS.items():
            self._handlers[method] = lambda params, files, kind=kind: self._send_media(kind, params, files)

    # --- lifecycle -------------------------------------------------------------------------------------------

    async def __aenter__(self) -> FakeBotApi:
        app = web.Application(client_max_size=UPLOAD_MAX + MIB)
        if self._control:  # before the catch-all Bot API route
            add_control_routes(app, self)
        app.router.add_route("*", "/{bot}/{method}", self._handle_api)
        app.router.add_get("/file/{bot}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        if self._deliver_webhooks:
            self._delivery = asyncio.create_task(self._deliver_forever(), name="fake-webhook-delivery")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._delivery is not None:
            self._delivery.cancel()
            await asyncio.gather(self._delivery, return_exceptions=True)
        for poll in self._polls:
            poll.terminated = True
            poll.wakeup.set()
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- test helpers ----------------------------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        return [call for call in self._calls if method is None or call.method.lower() == method.lower()]

    def messages(self, chat_id: int) -> list[SentMessage]:
        """What the chat shows now, oldest first (edits applied, deleted messages gone)."""
        return list(self._messages[chat_id].values())

    def fail_next(self, method: str, status: int = 429, *, retry_after: int | None = None,
                  description: str | None = None, times: int = 1) -> None:
        for _ in range(times):
            self._failures[method.lower()].append(Failure(status, description, retry_after))

    def delay_next(self, method: str, seconds: float) -> None:
        self._failures[method.lower()].append(Failure(None, delay=seconds))

    def block_user(self, chat_id: int) -> None:
        self._blocked.add(chat_id)

    def unblock_user(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    def add_file(self, file_id: str, data: bytes, *, file_path: str | None = None, announce_size: bool = True) -> None:
        """A file a user sent; ``announce_size=False`` leaves ``file_size`` out of getFile (it is optional)."""
        self._files[file_id] = StoredFile(file_id, data, file_path or f"documents/{file_id}.bin", announce_size)

    def file_bytes(self, file_id: str) -> bytes:
        return self._files[file_id].data

    def push_update(self, update: dict[str, Any]) -> dict[str, Any] | None:
        """Queue an update as Telegram would create it (``update_id`` assigned if missing); ``None`` if the
        current ``allowed_updates`` keep Telegram from creating it at all."""
        update = dict(update)
        if "update_id" not in update:
            update["update_id"] = self._next_update_id
        self._next_update_id = max(self._next_update_id, update["update_id"]) + 1
        kind = next((key for key in update if key != "update_id"), "")
        if (kind not in self._allowed) if self._allowed else (kind in DEFAULT_EXCLUDED):
            return None
        self._remember(update)
        self._updates.append(update)
        self._wake_polls()
        return update

    def register_update(self, update: dict[str, Any]) -> None:
        """Make an update known without queueing it for getUpdates (a test delivers it to a webhook itself):
        its callback or pre-checkout query id can then be answered, and its successful payment's charge refunded,
        as with an update Telegram created."""
        self._remember(update)

    def _remember(self, update: dict[str, Any]) -> None:
        if "callback_query" in update:
            self._callbacks.add(update["callback_query"]["id"])
        if "pre_checkout_query" in update:
            self._pre_checkouts.add(update["pre_checkout_query"]["id"])
        self._remember_payment(update)

    def user_message(self, chat_id: int, text: str) -> SentMessage:
        """A message the user sent (stored so its id exists; the bot cannot edit it)."""
        return self._store(chat_id, SentMessage(chat_id, 0, "user", text=text, from_bot=False))

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        return list(self._updates)

    # --- HTTP ------------------------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["bot"] != f"bot{self.token}":
            return _error(ApiError(401, "Unauthorized"))
        name = request.match_info["method"].lower()
        handler = self._handlers.get(name)
        if handler is None:
            return _error(ApiError(404, "Not Found"))
        try:
            params, files = await _read_params(request)
        except ApiError as error:
            return _error(error)
        self._calls.append(Call(request.match_info["method"], params, files))
        failure = self._failures[name].popleft() if self._failures[name] else None
        if failure is not None and failure.delay:
            await asyncio.sleep(failure.delay)
        try:
            if failure is not None and failure.status is not None:
                raise _scripted(failure)
            return web.json_response({"ok": True, "result": await handler(params, files)})
        except ApiError as error:
            return _error(error)

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["bot"] == f"bot{self.token}":
            for stored in self._files.values():
                if stored.file_path == request.match_info["path"]:
                    self.downloads.append(stored.file_path)
                    return web.Response(body=stored.data, content_type="application/octet-stream")
        return _error(ApiError(404, "Not Found"))


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    raw: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if request.content_length and request.content_length > UPLOAD_MAX:
        raise ApiError(413, "Request Entity Too Large")
    if request.content_type == "application/json":
        body = await request.json()
        if not isinstance(body, dict):
            raise ApiError(400, "Bad Request: request body must be a JSON object")
        raw.update(body)
    elif request.content_type == "multipart/form-data":
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
                continue
            if part.filename is not None:
                content_type = part.headers.get(aiohttp.hdrs.CONTENT_TYPE, "application/octet-stream")
                files[part.name] = UploadedFile(part.filename, content_type, bytes(await part.read()))
            else:
                raw[part.name] = await part.text()
    elif request.can_read_body:
        raw.update(await request.post())
    return {name: _coerce(name, value) for name, value in raw.items()}, files


def _coerce(name: str, value: Any) -> Any:
    """Telegram reads every parameter as a string and converts it by the field's type."""
    if not isinstance(value, str):
        return value
    try:
        if name in _INT_FIELDS:
            return int(value)
        if name in _BOOL_FIELDS:
            return value.lower() == "true"
        if name in _JSON_FIELDS:
            return json.loads(value)
    except ValueError as error:
        raise ApiError(400, f"Bad Request: can't parse {name}") from error
    return value


def _scripted(failure: Failure) -> ApiError:
    status = failure.status or 500
    if status == 429:
        seconds = failure.retry_after if failure.retry_after is not None else 1
        return ApiError(429, failure.description or f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})
    defaults = {400: "Bad Request: scripted failure", 403: "Forbidden: bot was blocked by the user",
                409: TERMINATED, 500: "Internal Server Error", 502: "Bad Gateway"}
    return ApiError(status, failure.description or defaults.get(status, "Scripted failure"))


def _error(error: ApiError) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": error.status, "description": error.description}
    if error.parameters:
        body["parameters"] = error.parameters
    return web.json_response(body, status=error.status)
