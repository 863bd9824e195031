"""The inbound limit, applied when an update is taken in (from the webhook, getUpdates or the inbox), not when
it is processed: by then the chat's sending pace (~1 message/s) already holds it back and nothing would ever
be shed, while the backlog would be processed minutes late.

A user's typed messages, commands, media and button presses are admitted while

- their token bucket (:class:`core.rate_limit.RateLimiter`: a burst, then a sustained rate) has a token, the
  time axis being when each update *arrived* (so a backlog read after a restart is judged by how fast it was
  sent, not by how fast it is read), and
- their chat has fewer than ``backlog_max`` updates waiting (the replies of admitted updates keep to
  Telegram's per-chat pace, so a longer queue would only be answered late).

Everything else (payments, pre-checkout queries, membership changes) is always admitted. A shed update is
counted; its user is told "too fast" at most once every TELL_EVERY seconds.
"""

from __future__ import annotations

from core.rate_limit import RateLimiter
from ports.events import CallbackPress, Command, Event, MediaMessage, TextMessage

# What the limit applies to: what users type and press. Dropping a successful_payment would lose money.
LIMITED = (Command, TextMessage, MediaMessage, CallbackPress)
CHAT_BACKLOG_MAX = 10  # updates of one chat admitted and waiting; more are shed
TELL_EVERY = 30.0  # seconds: a user over the limit is told "too fast" at most this often
TOLD_MAX = 100_000  # users remembered as told; beyond that, those told long ago are forgotten


class IntakeLimit:
    def __init__(self, limiter: RateLimiter, backlog_max: int = CHAT_BACKLOG_MAX) -> None:
        if backlog_max < 1:
            raise ValueError("backlog_max must be at least 1")
        self._limiter, self._backlog_max = limiter, backlog_max
        self._told: dict[int, float] = {}  # user -> when they were last told
        self.shed = 0  # updates shed since start (for /health and metrics)

    def admit(self, event: Event | None, arrived: float, backlog: int) -> bool:
        """Whether to process this update. ``arrived``: when it arrived, in seconds; ``backlog``: how many
        updates of its chat are already waiting."""
        if not isinstance(event, LIMITED):
            return True
        if backlog < self._backlog_max and self._limiter.allow(event.user.id, arrived):
            return True
        self.shed += 1
        return False

    def first_refusal(self, event: Event, arrived: float) -> bool:
        """Whether this shed update's user should be told they are too fast (at most once per TELL_EVERY)."""
        user = event.user.id
        last = self._told.get(user)
        if last is not None and 0 <= arrived - last < TELL_EVERY:
            return False
        if len(self._told) >= TOLD_MAX:
            self._told = {u: at for u, at in self._told.items() if arrived - at < TELL_EVERY}
        self._told[user] = arrived
        return True
