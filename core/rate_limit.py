"""Per-user inbound rate limit: a token bucket (a burst, then a sustained rate)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    def __init__(self, burst: int, per_second: float, max_users: int = 100_000) -> None:
        self._burst = float(burst)
        self._rate = per_second
        self._max_users = max_users
        self._buckets: dict[int, _Bucket] = {}

    def allow(self, user_id: int, now: float) -> bool:
        """Take one token for this user at monotonic time ``now``; False when the bucket is empty."""
        bucket = self._buckets.get(user_id)
        if bucket is None:
            if len(self._buckets) >= self._max_users:
                self._forget_full(now)
            bucket = self._buckets[user_id] = _Bucket(self._burst, now)
        if now > bucket.at:  # times may arrive slightly out of order (several instances' clocks): never refund
            bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.at) * self._rate)
            bucket.at = now
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True

    def _forget_full(self, now: float) -> None:
        """Drop users whose bucket has refilled: they are indistinguishable from new ones."""
        refill = self._burst / self._rate
        self._buckets = {uid: b for uid, b in self._buckets.items() if now - b.at < refill}
