"""Waiting for something another task or process does, without a fixed sleep: poll a check until it holds."""

from __future__ import annotations

import asyncio


async def eventually(check, timeout: float = 15.0, step: float = 0.05):
    """Wait until ``check()`` (sync or async) returns something truthy; return it. TimeoutError after ``timeout``."""
    async with asyncio.timeout(timeout):
        while True:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return result
            await asyncio.sleep(step)
