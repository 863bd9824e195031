"""Single-active operation: one instance holds the leader lock and processes; the others are passive."""

from __future__ import annotations

from typing import Protocol


class LeaderLock(Protocol):
    @property
    def held(self) -> bool:
        """Whether this instance holds the lock, as of the latest acquire/heartbeat (from memory)."""
        ...

    async def try_acquire(self) -> bool:
        """Take the lock if it is free (or its holder is stale and was evicted); never waits for it."""
        ...

    async def heartbeat(self) -> bool:
        """While holding: prove liveness and check the lock is still ours. False = lost (demote at once)."""
        ...

    async def release(self) -> None:
        """Give the lock up (graceful shutdown). Idempotent."""
        ...
