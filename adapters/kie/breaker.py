"""A clock-driven circuit breaker for the KIE client.

closed ──(threshold consecutive transient failures)──▶ open ──(cooldown elapsed)──▶ half-open
half-open: exactly one trial call goes through; a success (or any real answer) closes, a transient failure
reopens for another cooldown. While open every call fails at once, without touching the network.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from ports.clock import Clock
from ports.generation import GatewayUnavailableError

log = logging.getLogger(__name__)

OPEN_MESSAGE = "KIE is unavailable (circuit open)"


class CircuitBreaker:
    def __init__(self, clock: Clock, *, threshold: int, cooldown: float) -> None:
        if threshold < 1:
            raise ValueError("breaker threshold must be at least 1")
        if cooldown < 0:
            raise ValueError("breaker cooldown must not be negative")
        self._clock = clock
        self._threshold = threshold
        self._cooldown = timedelta(seconds=cooldown)
        self._failures = 0
        self._open_until: datetime | None = None  # set while open or half-open
        self._trial_running = False

    # --- reading -------------------------------------------------------------------------------------------

    @property
    def failures(self) -> int:
        """Consecutive transient failures since the last success."""
        return self._failures

    @property
    def retry_at(self) -> datetime | None:
        """When an open breaker lets a trial call through (None while closed)."""
        return self._open_until

    def is_open(self) -> bool:
        """Open and still cooling down: calls fail at once."""
        return self._open_until is not None and self._clock.now() < self._open_until

    def is_half_open(self) -> bool:
        return self._open_until is not None and not self.is_open()

    # --- around each call ----------------------------------------------------------------------------------

    def before_call(self) -> None:
        """Let a call through or raise ``GatewayUnavailableError`` at once."""
        if self._open_until is None:
            return
        if self.is_open() or self._trial_running:
            raise GatewayUnavailableError(OPEN_MESSAGE)
        self._trial_running = True
        log.info("KIE_CIRCUIT_HALF_OPEN trial call after cooldown")

    def succeeded(self) -> None:
        """The call got a real answer from KIE (a success, or a definite non-transient error)."""
        if self._open_until is not None:
            log.info("KIE_CIRCUIT_CLOSED after a successful trial call")
        self._failures = 0
        self._open_until = None
        self._trial_running = False

    def failed(self) -> None:
        """The call failed transiently, after its retries."""
        self._failures += 1
        trial, self._trial_running = self._trial_running, False
        if trial or (self._open_until is None and self._failures >= self._threshold):
            self._open_until = self._clock.now() + self._cooldown
            log.error("KIE_CIRCUIT_OPEN", extra={
                "failures": self._failures, "cooldown_s": round(self._cooldown.total_seconds()),
                "retry_at": self._open_until.isoformat(),
            })

    def abandoned(self) -> None:
        """The call ended without a verdict (cancelled): free the trial slot, change nothing else."""
        self._trial_running = False
