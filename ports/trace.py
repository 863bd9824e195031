"""The correlation id of the work in progress (an update, or the job it launched), shared by the core,
which stores it with a job, and the telemetry, which adds it to every log line."""

from __future__ import annotations

from contextvars import ContextVar

correlation_id: ContextVar[str] = ContextVar("correlation_id", default="-")
