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
counted; its user is told "too fast" once per burst (the first refusal after an admitted update).
"""

from __future__ import annotations

from core.rate_limit import RateLimiter
from ports.events import CallbackPress, Command, Event, MediaMessage, TextMessage

# What the limit applies to: what users type and press. Dropping a successful_payment would lose money.
LIMITED = (Command, TextMessage, MediaMessage, CallbackPress)
CHAT_BACKLOG_MAX = 10  # updates of one chat admitted and waiting; more are shed
TOLD_MAX = 100_000  # users remembered as "already told" (forgotten all at once beyond that)


class IntakeLimit:
    def __init__(self, limiter: RateLimiter, backlog_max: int = CHAT_BACKLOG_MAX) -> None:
        if backlog_max < 1:
            raise ValueError("backlog_max must be at least 1")
        self._limiter, self._backlog_max = limiter, backlog_max
        self._told: set[int] = set()
        self.shed = 0  # updates shed since start (for /health and metrics)

    def admit(self, event: Event | None, arrived: float, backlog: int) -> bool:
        """Whether to process this update. ``arrived``: when it arrived, in seconds; ``backlog``: how many
        updates of its chat are already waiting."""
        if not isinstance(event, LIMITED):
            return True
        user = event.user.id
        if backlog < self._backlog_max and self._limiter.allow(user, arrived):
            self._told.discard(user)
            return True
        self.shed += 1
        return False

    def first_refusal(self, event: Event) -> bool:
        """True once per burst: whether this shed update's user should be told they are too fast."""
        user = event.user.id
        if user in self._told:
            return False
        if len(self._told) >= TOLD_MAX:
            self._told.clear()
        self._told.add(user)
        return True
