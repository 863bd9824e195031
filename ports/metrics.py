"""What the bot counts for /metrics, as events reported by the parts that see them.

The dispatcher reports updates, the KIE gateway each HTTP call it makes, the Telegram transport each 429,
the job runner each job it submits, delivers or refunds, the submission queue each wait. ``entrypoints/metrics.py`` keeps them
with prometheus-client; :data:`NO_METRICS` drops them (the default wherever nothing is wired: the simulator,
unit tests). A method is called on the event loop and must return at once (no I/O, no await).

Why a port and not counters read from the log lines: a record below the log level is never created (the
KIE gateway logs successful polls at DEBUG), and log handlers are per process, while tests run several
instances in one process. Each method names one event; labels stay few and bounded (no user ids, no task ids).
"""

from __future__ import annotations

from typing import Protocol


class Metrics(Protocol):
    def update_received(self, duplicate: bool) -> None:
        """An update reached intake (webhook or getUpdates); ``duplicate``: the inbox already had it."""

    def update_processed(self, outcome: str, handling_s: float, since_received_s: float) -> None:
        """An update left processing. ``outcome``: ok | ignored | malformed | error | shed. ``handling_s``: from
        being taken into processing to its replies sent; ``since_received_s``: from intake to then (queueing
        included)."""

    def kie_call(self, endpoint: str, code: str) -> None:
        """One HTTP attempt to KIE. ``code``: KIE's answer code ("200", "429", "455", "500", …), or the
        transport error's name ("ConnectError", "ReadTimeout") when no answer came."""

    def telegram_response(self, method: str, status: int) -> None:
        """One Bot API answer with HTTP ``status`` (429: flood control)."""

    def job_reached(self, family: str, state: str) -> None:
        """This instance moved a job of a KIE API ``family`` into ``state``: submitted | delivered | refunded."""

    def submission_waited(self, family: str, seconds: float) -> None:
        """A generation request waited ``seconds`` for the KIE budget before it was sent (0 when none)."""


class NoMetrics:
    """Counts nothing."""

    def update_received(self, duplicate: bool) -> None:
        pass

    def update_processed(self, outcome: str, handling_s: float, since_received_s: float) -> None:
        pass

    def kie_call(self, endpoint: str, code: str) -> None:
        pass

    def telegram_response(self, method: str, status: int) -> None:
        pass

    def job_reached(self, family: str, state: str) -> None:
        pass

    def submission_waited(self, family: str, seconds: float) -> None:
        pass


NO_METRICS: Metrics = NoMetrics()
