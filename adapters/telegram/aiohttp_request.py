"""python-telegram-bot's HTTP transport on aiohttp: a :class:`telegram.request.BaseRequest` on one shared
``aiohttp.ClientSession``.

Why: PTB's default ``HTTPXRequest`` spent more CPU per Bot API call than the rest of an update's handling
(httpx/httpcore/anyio layers, a connection-pool scan per request; issue 15's profile). aiohttp is already the
bot's HTTP server, and its client is a thin layer over the same event loop.

What stays as PTB defines it: the status-code → exception mapping (``BadRequest``, ``Forbidden``,
``RetryAfter`` with its ``retry_after``, ``InvalidToken``, ``Conflict``, ``NetworkError``) is PTB's own
``BaseRequest`` code; retries and 429 waits are :class:`adapters.telegram.limits.ApiCaller`'s, above this layer.
This module only moves bytes:

- parameters as PTB encodes them (``RequestData.json_parameters``), form-urlencoded like ``HTTPXRequest``;
  with files, ``multipart/form-data`` (file name and MIME type as PTB gives them);
- :meth:`AiohttpRequest.post_json` sends a ready JSON body (``application/json``) for the few hot methods the
  messenger builds itself (see ``adapters/telegram/bot_calls.py``), skipping PTB's object layer;
- timeouts as ``HTTPXRequest``'s defaults: read 5 s, write 5 s (20 s with files), connect 5 s, pool 1 s.
  aiohttp has no per-write timeout, so the write budget bounds the whole exchange instead:
  ``total = pool + connect + write + read`` (any ``None`` part → no total);
- ``asyncio``/aiohttp timeouts → ``TimedOut``; any other aiohttp client error → ``NetworkError``;
- every answer's status is reported to the injected ``metrics`` with the Bot API method (429s are flood control).

Several ``AiohttpRequest`` objects (PTB wants one for getUpdates and one for the rest) share one
:class:`SharedSession`: it opens with the first ``initialize`` and closes with the last ``shutdown``.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import aiohttp
from telegram import Bot
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from ports.metrics import NO_METRICS, Metrics

POOL_SIZE = 256  # as HTTPXRequest's connection_pool_size
DefaultValue = type(BaseRequest.DEFAULT_NONE)  # PTB's "not passed" marker type
_METHOD = re.compile(r"/bot[^/]*/([A-Za-z]{1,64})$")  # .../bot<token>/sendMessage; file downloads do not match


class SharedSession:
    """One ``aiohttp.ClientSession`` (one connection pool) used by every request object built on it."""

    def __init__(self, *, pool_size: int = POOL_SIZE) -> None:
        self._pool_size = pool_size
        self._session: aiohttp.ClientSession | None = None
        self._users = 0

    @property
    def session(self) -> aiohttp.ClientSession:
        """The open session; opened on first use (a Bot used without ``initialize`` still works)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": BaseRequest.USER_AGENT},
                timeout=aiohttp.ClientTimeout(total=None), raise_for_status=False,
            )
        return self._session

    async def acquire(self) -> None:
        self._users += 1
        self.session  # noqa: B018 - open it now, inside the running loop

    async def release(self) -> None:
        self._users = max(0, self._users - 1)
        if self._users == 0 and self._session is not None:
            session, self._session = self._session, None
            await session.close()


class _JsonBody:
    """A ready JSON body, passed through ``BaseRequest.post`` where PTB passes its ``RequestData``."""

    __slots__ = ("payload",)
    contains_files = False

    def __init__(self, payload: bytes) -> None:
        self.payload = payload


class AiohttpRequest(BaseRequest):
    def __init__(
        self,
        shared: SharedSession | None = None,
        *,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self._shared = shared or SharedSession()
        self._metrics = metrics
        self._read, self._write, self._connect = read_timeout, write_timeout, connect_timeout
        self._pool, self._media_write = pool_timeout, media_write_timeout
        self._default_timeout = _timeout(read_timeout, write_timeout, connect_timeout, pool_timeout)
        self._initialized = False

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        if not self._initialized:
            self._initialized = True
            await self._shared.acquire()

    async def shutdown(self) -> None:
        if self._initialized:
            self._initialized = False
            await self._shared.release()

    async def post_json(self, url: str, payload: dict[str, Any]) -> Any:
        """POST ``payload`` as ``application/json``; the ``result`` of Telegram's answer (errors as PTB raises
        them, through ``BaseRequest.post``)."""
        body = _JsonBody(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode())
        return await self.post(url, body)  # type: ignore[arg-type]  # do_request below reads _JsonBody

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        files = request_data is not None and request_data.contains_files
        timeout = self._timeout_for(files, read_timeout, write_timeout, connect_timeout, pool_timeout)
        headers = None
        data: Any = None
        if isinstance(request_data, _JsonBody):
            data, headers = request_data.payload, {"Content-Type": "application/json"}
        elif files:
            assert request_data is not None
            data = _multipart(request_data)
        elif request_data is not None:
            data = request_data.json_parameters  # form-urlencoded, as HTTPXRequest sends it
        try:
            async with self._shared.session.request(method, url, data=data, headers=headers, timeout=timeout) as answer:
                body = await answer.read()
        except asyncio.TimeoutError as error:  # aiohttp's ServerTimeoutError/ConnectionTimeoutError included
            raise TimedOut(f"aiohttp.{type(error).__name__}") from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error
        self._metrics.telegram_response(_method_of(url), answer.status)
        return answer.status, body

    def _timeout_for(self, files: bool, read: Any, write: Any, connect: Any, pool: Any) -> aiohttp.ClientTimeout:
        defaults = (read, write, connect, pool)
        if not files and all(isinstance(value, DefaultValue) for value in defaults):
            return self._default_timeout
        return _timeout(
            self._read if isinstance(read, DefaultValue) else read,
            (self._media_write if files else self._write) if isinstance(write, DefaultValue) else write,
            self._connect if isinstance(connect, DefaultValue) else connect,
            self._pool if isinstance(pool, DefaultValue) else pool,
        )


def _method_of(url: str) -> str:
    """The Bot API method a URL calls ("file" for a file download): a bounded label, never the token."""
    found = _METHOD.search(url.split("?", 1)[0])
    return found.group(1) if found else "file"


def _timeout(read: float | None, write: float | None, connect: float | None, pool: float | None) -> aiohttp.ClientTimeout:
    parts = (read, write, connect, pool)
    total = None if any(part is None for part in parts) else sum(parts)  # type: ignore[arg-type]
    acquire = None if connect is None or pool is None else connect + pool
    return aiohttp.ClientTimeout(total=total, connect=acquire, sock_connect=connect, sock_read=read)


def _multipart(request_data: RequestData) -> aiohttp.FormData:
    form = aiohttp.FormData(quote_fields=False)
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mime) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename or name, content_type=mime)
    return form


def aiohttp_bot(
    token: str, base_url: str, base_file_url: str, *, read_timeout: float | None = 5.0, metrics: Metrics = NO_METRICS,
) -> Bot:
    """A PTB ``Bot`` whose Bot API calls (getUpdates included) go through one shared aiohttp session."""
    shared = SharedSession()
    return Bot(
        token, base_url=base_url, base_file_url=base_file_url,
        request=AiohttpRequest(shared, read_timeout=read_timeout, metrics=metrics),
        get_updates_request=AiohttpRequest(shared, read_timeout=read_timeout, metrics=metrics),
    )
