"""LISTEN on PostgreSQL channels over one dedicated connection (a pooled one would hand the subscription
to unrelated code, and the pool's connections are never reset: see storage.py's ``_no_reset``).

``run()`` connects, LISTENs on every channel given, and calls the channel's handler with each notification's
payload (in the event loop; a handler must be quick: set an event, start a task). When the connection is
lost it reconnects with a capped backoff; ``on_connect`` is called after every (re)connect, since whatever
was notified while no connection listened is gone (the caller catches up with a look at the tables). The
connection carries ``application_name``: the claims of other instances see this process is alive by it
(claims.py). The DSN is never logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

import asyncpg

log = logging.getLogger(__name__)

Handler = Callable[[str], None]

_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError, TimeoutError)


class PostgresListener:
    def __init__(
        self,
        dsn: str,
        handlers: Mapping[str, Handler],
        *,
        on_connect: Callable[[], None] = lambda: None,
        application_name: str | None = None,
        connect_timeout: float = 5.0,
        retry_max: float = 5.0,
    ) -> None:
        self._dsn, self._handlers, self._on_connect = dsn, dict(handlers), on_connect
        self._settings = {"application_name": application_name} if application_name else {}
        self._connect_timeout, self._retry_max = connect_timeout, retry_max
        self.connected = asyncio.Event()
        self.heard = 0  # notifications received, all channels (tests and /health read it)

    def __repr__(self) -> str:  # never shows the DSN
        return f"PostgresListener(channels={sorted(self._handlers)})"

    async def run(self) -> None:
        """Listen until cancelled, reconnecting whenever the connection is lost."""
        delay = 0.1
        while True:
            lost = asyncio.Event()
            try:
                conn = await asyncpg.connect(self._dsn, timeout=self._connect_timeout, server_settings=self._settings)
            except _ERRORS as error:
                log.warning("LISTEN_CONNECT_FAILED", extra={"error": type(error).__name__, "retry_s": delay})
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max)
                continue
            try:
                conn.add_termination_listener(lambda _: lost.set())
                for channel in self._handlers:
                    await conn.add_listener(channel, self._deliver)
                delay = 0.1
                self.connected.set()
                log.info("LISTEN_STARTED", extra={"channels": ",".join(self._handlers)})
                self._on_connect()
                await lost.wait()
                log.warning("LISTEN_LOST reconnecting")
            except _ERRORS as error:
                log.warning("LISTEN_FAILED", extra={"error": type(error).__name__})
                await asyncio.sleep(delay)
            finally:
                self.connected.clear()
                conn.terminate()

    def _deliver(self, _conn: object, _pid: int, channel: str, payload: str) -> None:
        self.heard += 1
        handler = self._handlers.get(channel)
        if handler is not None:
            handler(payload)
