"""/metrics: the instance's counters in Prometheus' text format, kept with prometheus-client.

:class:`PrometheusMetrics` implements ``ports.metrics.Metrics`` (the events the dispatcher, the KIE gateway,
the Telegram transport and the job runner report) and reads the gauges at scrape time from
:class:`Readings`, callables the instance fills in (a reading that returns None is left out of the scrape: the
outbox and the submission queue are wired once storage provides them).

Per instance, in two ways:
- each instance has its own ``CollectorRegistry`` (not prometheus-client's process-wide default), so two
  instances in one process (the tests) never share a counter;
- every series carries ``instance_id`` (INSTANCE_ID: Render's RENDER_INSTANCE_ID, else host-pid). On Render
  several instances answer one public URL: a scrape through it reaches any one of them, and without this label
  their counters would interleave in one series and ``rate()`` would read every switch as a reset. It is not called ``instance``
  because Prometheus sets that label itself from the scrape target (and would rename ours).

Names follow Prometheus' conventions: ``trt_`` prefix, ``_total`` counters, ``_seconds`` histograms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Mapping

from prometheus_client import (
    CollectorRegistry, Counter, Histogram, Info, ProcessCollector, disable_created_metrics, generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

# No ``_created`` series beside every counter and histogram (they would double the scrape; Prometheus needs
# them only for created-timestamp ingestion). A process-wide switch of the library: only this module uses it.
disable_created_metrics()

INSTANCE_LABEL = "instance_id"
UPDATE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
WAIT_BUCKETS = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0)
OUTCOMES = ("ok", "ignored", "malformed", "error", "shed")

Reading = Callable[[], float | int | bool | None]
JobCounts = Mapping[tuple[str, str], int]  # (state, family) -> jobs


def _absent() -> None:
    return None


@dataclass
class Readings:
    """Gauges read when /metrics is scraped: in-memory values only (a scrape never waits on storage)."""

    inbox_depth: Reading = _absent  # updates stored and not yet processed (read from storage every few seconds)
    outbox_depth: Reading = _absent  # effects written and not yet sent (the outbox; wired when it exists)
    queue_length: Reading = _absent  # launches waiting for the KIE budget (wired when the queue exists)
    jobs_in_flight: Reading = _absent  # jobs this instance is driving now
    leader: Reading = _absent  # holds the leader lock
    processing: Reading = _absent  # processes updates (mode "active")
    jobs: Callable[[], JobCounts | None] = _absent  # unfinished jobs in storage by state and family


_GAUGES = (
    ("trt_inbox_depth", "Updates stored in the inbox and not yet processed (all instances; read from storage).",
     "inbox_depth"),
    ("trt_outbox_depth", "Effects in the outbox not yet sent (all instances; read from storage).", "outbox_depth"),
    ("trt_submission_queue_length", "Generation launches waiting for the KIE request budget.", "queue_length"),
    ("trt_jobs_in_flight", "Jobs this instance is driving (submitting, polling, delivering).", "jobs_in_flight"),
    ("trt_leader", "1 when this instance holds the leader lock.", "leader"),
    ("trt_processing", "1 when this instance processes updates (/health mode active).", "processing"),
)


class _ReadingsCollector(Collector):
    def __init__(self, readings: Readings) -> None:
        self._readings = readings

    def collect(self) -> Iterator[Metric]:
        for name, text, attribute in _GAUGES:
            value = getattr(self._readings, attribute)()
            if value is not None:
                family = GaugeMetricFamily(name, text)
                family.add_metric([], float(value))
                yield family
        counts = self._readings.jobs()
        if counts is not None:
            family = GaugeMetricFamily(
                "trt_jobs", "Unfinished jobs in storage by state and KIE API family (all instances).",
                labels=["state", "family"])
            for (state, job_family), count in sorted(counts.items()):
                family.add_metric([state, job_family], count)
            yield family


class _WithInstance(Collector):
    """Every sample of ``inner`` with ``instance_id`` added."""

    def __init__(self, inner: CollectorRegistry, instance_id: str) -> None:
        self._inner, self._labels = inner, {INSTANCE_LABEL: instance_id}

    def collect(self) -> Iterable[Metric]:
        for family in self._inner.collect():
            family.samples = [sample._replace(labels={**self._labels, **sample.labels}) for sample in family.samples]
            yield family


class PrometheusMetrics:
    """``ports.metrics.Metrics`` kept in one instance's own registry; :meth:`exposition` is the scrape body."""

    def __init__(self, instance_id: str, *, version: str = "", bot_mode: str = "", storage: str = "",
                 process: bool = True) -> None:
        self.instance_id = instance_id
        self.readings = Readings()
        inner = CollectorRegistry()
        self._received = Counter(
            "trt_updates_received", "Updates taken in at intake (webhook or getUpdates), by result.",
            ["result"], registry=inner)
        self._processed = Counter(
            "trt_updates_processed", "Updates that left processing, by outcome.", ["outcome"], registry=inner)
        self._handling = Histogram(
            "trt_update_processing_seconds",
            "From taking an update into processing to its replies sent.", buckets=UPDATE_BUCKETS, registry=inner)
        self._latency = Histogram(
            "trt_update_latency_seconds",
            "From intake to the replies sent: processing plus waiting in the inbox and the chat's queue.",
            buckets=UPDATE_BUCKETS, registry=inner)
        self._kie = Counter(
            "trt_kie_calls", "HTTP attempts to KIE by endpoint and answer code (200 = success).",
            ["endpoint", "code"], registry=inner)
        self._telegram = Counter(
            "trt_telegram_requests", "Bot API answers by method and HTTP status (429 = flood control).",
            ["method", "code"], registry=inner)
        self._jobs = Counter(
            "trt_job_transitions", "Jobs this instance moved into a state (submitted, delivered, refunded), by KIE API family.",
            ["family", "state"], registry=inner)
        self._wait = Histogram(
            "trt_submission_wait_seconds", "Time a generation request waited for the KIE budget before it was sent.",
            ["family"], buckets=WAIT_BUCKETS, registry=inner)
        Info("trt_instance", "This instance.", registry=inner).info(
            {"version": version, "bot_mode": bot_mode, "storage": storage})
        inner.register(_ReadingsCollector(self.readings))
        if process:
            ProcessCollector(registry=inner)  # CPU seconds, resident memory, open files (Linux /proc)
        for outcome in OUTCOMES:  # every outcome present from the start, so rate() sees the first one
            self._processed.labels(outcome)
        for result in ("accepted", "duplicate"):
            self._received.labels(result)
        self.registry = CollectorRegistry()
        self.registry.register(_WithInstance(inner, instance_id))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    # --- ports.metrics.Metrics ------------------------------------------------------------------------------

    def update_received(self, duplicate: bool) -> None:
        self._received.labels("duplicate" if duplicate else "accepted").inc()

    def update_processed(self, outcome: str, handling_s: float, since_received_s: float) -> None:
        self._processed.labels(outcome).inc()
        if outcome != "shed":  # a shed update is answered "too fast", never processed: no latency to report
            self._handling.observe(max(handling_s, 0.0))
            self._latency.observe(max(since_received_s, 0.0))

    def kie_call(self, endpoint: str, code: str) -> None:
        self._kie.labels(endpoint, code).inc()

    def telegram_response(self, method: str, status: int) -> None:
        self._telegram.labels(method, str(status)).inc()

    def job_reached(self, family: str, state: str) -> None:
        self._jobs.labels(family, state).inc()

    def submission_waited(self, family: str, seconds: float) -> None:
        self._wait.labels(family).observe(max(seconds, 0.0))
