"""Logging and the runbook's telemetry markers, configured in one place.

Every record carries ``cid`` (the correlation id in ports.trace, set once per update and inherited by
the job it launches). Markers print exactly as the runbook shows, e.g.
``[TELEMETRY] UPDATE_RECEIVED cid=abc123 update_id=123456``; with LOG_FORMAT=json each line is one JSON
object with the same fields. Known secrets are masked in every line, whatever logged them.

Log calls pass their fields as data, with the standard library's ``extra``:
``log.info("JOB_SUBMITTED", extra={"job": job.id, "task": task_id})`` prints
``… JOB_SUBMITTED cid=abc123 job=j1 task=t9`` in text and ``{"message": "JOB_SUBMITTED", "cid": …, "job": …}``
in JSON. Why ``extra`` rather than structlog: the core may import only the standard library, every library's
records (httpx, PTB, aiohttp) already go through stdlib logging, and no dependency is needed; the cid comes
from a contextvar filter on the one handler, so no call has to pass it.
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
import time
from datetime import datetime, timezone
from typing import Callable, Iterable

from ports.trace import correlation_id

log = logging.getLogger("telemetry")

# Libraries that would log URLs containing the bot token, or too much detail, at INFO.
QUIET_LOGGERS = ("httpx", "httpcore", "telegram", "aiohttp.access", "asyncio")


def new_cid() -> str:
    return secrets.token_hex(6)


def marker(name: str, **fields: object) -> None:
    """One runbook marker: UPDATE_RECEIVED, CALLBACK_RECEIVED, CALLBACK_ROUTED, CALLBACK_ACCEPTED,
    CALLBACK_REJECTED, UI_RENDER, DISPATCH_OK, DISPATCH_FAIL. Printed ``[TELEMETRY] NAME cid=… key=value…``."""
    log.info("[TELEMETRY] %s", name, extra={"event": name, **fields})


def passive_reject(kind: str, data: str | None = None, **fields: object) -> None:
    log.warning("⏸️ PASSIVE_REJECT", extra={"event": "PASSIVE_REJECT", "kind": kind, "data": data, **fields})


def exception_caught(error: BaseException, **fields: object) -> None:
    message = " ".join(str(error).split())[:300]
    log.error(
        "[EXCEPTION] EXCEPTION_CAUGHT", exc_info=error,
        extra={"event": "EXCEPTION_CAUGHT", "error_type": type(error).__name__, "error_message": message, **fields},
    )


class RateLimitedLog:
    """At most one line per ``key`` every ``every`` seconds; the next line says how many were left out.
    For lines an outsider can cause at will (rejected webhook posts), so they cannot flood the log."""

    def __init__(self, logger: logging.Logger, every: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._log, self._every, self._clock = logger, every, clock
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, key: str, message: str, **fields: object) -> bool:
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self._every:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return False
        self._last[key] = now
        suppressed = self._suppressed.pop(key, 0)
        self._log.warning(message, extra={**fields, "suppressed": suppressed or None})
        return True


class CidFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.cid = correlation_id.get()
        return True


# Attributes every LogRecord has; anything else on a record came from a log call's ``extra``.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "cid", "taskName", "event"}


def record_fields(record: logging.LogRecord) -> dict[str, object]:
    """The structured fields a log call passed (``extra={...}``), in the order given, without empty ones."""
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and v is not None}


def text_tail(record: logging.LogRecord) -> str:
    """`` cid=… key=value…``: the cid whenever one is set (and always on markers), then the fields."""
    cid = getattr(record, "cid", correlation_id.get())
    head = f" cid={cid}" if cid != "-" or hasattr(record, "event") else ""
    return head + "".join(f" {key}={value}" for key, value in record_fields(record).items())


class _Redactor:
    def __init__(self, secrets_: Iterable[str]) -> None:
        self._secrets = sorted({s for s in secrets_ if s and len(s) >= 6}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


class TextFormatter(logging.Formatter):
    def __init__(self, redact: _Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._redact = redact

    def formatMessage(self, record: logging.LogRecord) -> str:
        return super().formatMessage(record) + text_tail(record)

    def format(self, record: logging.LogRecord) -> str:
        return self._redact(super().format(record))


class JsonFormatter(logging.Formatter):
    def __init__(self, redact: _Redactor) -> None:
        super().__init__()
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat().replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "cid": getattr(record, "cid", "-"),
            "message": record.getMessage(),
        }
        if hasattr(record, "event"):
            entry["event"] = record.event
        entry.update(record_fields(record))
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return self._redact(json.dumps(entry, ensure_ascii=False, default=str))


def configure_logging(level: str = "INFO", fmt: str = "text", secrets_: Iterable[str] = ()) -> None:
    """Root logging to stderr, once: cid on every record, secrets masked, noisy libraries quiet."""
    redact = _Redactor(secrets_)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(CidFilter())
    handler.setFormatter(JsonFormatter(redact) if fmt == "json" else TextFormatter(redact))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
