"""Logging and the runbook's telemetry markers, configured in one place.

Every record carries ``cid`` (the correlation id in ports.trace, set once per update and inherited by
the job it launches). Markers print exactly as the runbook shows, e.g.
``[TELEMETRY] UPDATE_RECEIVED cid=abc123 update_id=123456``; with LOG_FORMAT=json each line is one JSON
object with the same fields. Known secrets are masked in every line, whatever logged them.
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
from datetime import datetime, timezone
from typing import Iterable

from ports.trace import correlation_id

log = logging.getLogger("telemetry")

# Libraries that would log URLs containing the bot token, or too much detail, at INFO.
QUIET_LOGGERS = ("httpx", "httpcore", "telegram", "aiohttp.access", "asyncio")


def new_cid() -> str:
    return secrets.token_hex(6)


def _fields_text(fields: dict[str, object]) -> str:
    return "".join(f" {key}={value}" for key, value in fields.items() if value is not None)


def marker(name: str, **fields: object) -> None:
    """One runbook marker: UPDATE_RECEIVED, CALLBACK_RECEIVED, CALLBACK_ROUTED, CALLBACK_ACCEPTED,
    CALLBACK_REJECTED, UI_RENDER, DISPATCH_OK, DISPATCH_FAIL."""
    if not log.isEnabledFor(logging.INFO):  # LOG_LEVEL=WARNING: build no text for a record that is dropped
        return
    log.info(
        "[TELEMETRY] %s cid=%s%s", name, correlation_id.get(), _fields_text(fields),
        extra={"event": name, "fields": fields},
    )


def passive_reject(kind: str, data: str | None = None) -> None:
    log.warning("⏸️ PASSIVE_REJECT %s%s", kind, f" data={data}" if data else "",
                extra={"event": "PASSIVE_REJECT", "fields": {"kind": kind, "data": data}})


def exception_caught(error: BaseException, **fields: object) -> None:
    message = " ".join(str(error).split())[:300]
    fields = {"error_type": type(error).__name__, "error_message": message, **fields}
    log.error(
        "[EXCEPTION] EXCEPTION_CAUGHT cid=%s%s", correlation_id.get(), _fields_text(fields),
        exc_info=error, extra={"event": "EXCEPTION_CAUGHT", "fields": fields},
    )


class CidFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.cid = correlation_id.get()
        return True


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
            entry.update({k: v for k, v in getattr(record, "fields", {}).items() if v is not None})
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
