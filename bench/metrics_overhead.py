"""What /metrics costs: the events an update reports (received, processed with two histograms, two Bot API
answers) with prometheus-client against the no-op port in the same run, and one scrape's time and size with
every series of a busy instance present.

    python bench/metrics_overhead.py [--updates 200000]

Compare the per-update figure with the bot's CPU per update in BENCHMARKS.md (2.4–17.6 ms): the machine is
shared, so read the ratio within the run, not the absolutes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from entrypoints.metrics import OUTCOMES, PrometheusMetrics  # noqa: E402
from ports.metrics import NO_METRICS, Metrics  # noqa: E402

ENDPOINTS = ("createTask", "recordInfo", "veo/generate", "veo/record-info", "suno/generate", "file-stream-upload")
CODES = ("200", "429", "455", "500", "ReadTimeout")
METHODS = ("sendMessage", "editMessageText", "answerCallbackQuery", "sendPhoto", "getUpdates", "sendDocument")
FAMILIES = ("market", "veo", "suno", "runway", "gpt4o", "kontext")


def one_update(metrics: Metrics) -> None:
    metrics.update_received(False)
    metrics.update_processed("ok", 0.004, 0.012)
    metrics.telegram_response("answerCallbackQuery", 200)
    metrics.telegram_response("editMessageText", 200)


def per_update_us(metrics: Metrics, updates: int) -> float:
    started = time.perf_counter()
    for _ in range(updates):
        one_update(metrics)
    return (time.perf_counter() - started) / updates * 1e6


def busy_instance() -> PrometheusMetrics:
    """Every label combination a busy day would create."""
    metrics = PrometheusMetrics("bench-1", version="bench", bot_mode="webhook", storage="postgres")
    for outcome in OUTCOMES:
        metrics.update_processed(outcome, 0.01, 0.02)
    for endpoint in ENDPOINTS:
        for code in CODES:
            metrics.kie_call(endpoint, code)
    for method in METHODS:
        for status in (200, 400, 403, 429):
            metrics.telegram_response(method, status)
    for family in FAMILIES:
        metrics.submission_waited(family, 1.0)
        for state in ("submitted", "delivered", "refunded"):
            metrics.job_reached(family, state)
    states = ("created", "submitted", "running", "succeeded", "failed", "timed_out")
    counts = {(state, family): 3 for state in states for family in FAMILIES}
    metrics.readings.jobs = lambda: counts
    metrics.readings.inbox_depth = lambda: 12
    metrics.readings.leader = lambda: True
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=200_000)
    args = parser.parse_args()
    prometheus = PrometheusMetrics("bench-1", process=False)
    per_update_us(prometheus, 1000)  # warm-up: label children created
    baseline = per_update_us(NO_METRICS, args.updates)
    measured = per_update_us(prometheus, args.updates)
    print(f"per update, {args.updates} updates: no-op port {baseline:.2f} µs, prometheus-client {measured:.2f} µs "
          f"(+{measured - baseline:.2f} µs; {(measured - baseline) / 2400 * 100:.2f} % of 2.4 ms, the lowest bot CPU "
          f"per update in BENCHMARKS.md)")
    busy = busy_instance()
    body = busy.exposition()
    scrapes = 200
    started = time.perf_counter()
    for _ in range(scrapes):
        busy.exposition()
    scrape_ms = (time.perf_counter() - started) / scrapes * 1000
    lines = sum(1 for line in body.decode().splitlines() if line and not line.startswith("#"))
    print(f"one scrape of a busy instance: {scrape_ms:.2f} ms, {len(body)} bytes, {lines} samples")


if __name__ == "__main__":
    main()
