"""/metrics' ``trt_jobs{state,family}``: the unfinished jobs in storage, counted by state and KIE API family,
read every few seconds (a scrape reads the latest count from memory and never waits on the database).

Unfinished means not yet delivered or refunded: created, submitted, running, and succeeded / failed /
timed out with the delivery or refund still to do. Finished jobs only grow in number; they are counted as
they happen by ``trt_job_transitions_total``. The read is the job runner's own resume query (``in_states``),
bounded by ``LIMIT``: a count at the bound means "at least".
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Awaitable, Callable

from ports.catalog import Catalog
from ports.generation import MARKET_API
from ports.storage import JobState, Jobs, StorageUnavailableError

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
UNFINISHED = frozenset(state for state in JobState if not state.terminal)
LIMIT = 10_000


class JobGauge:
    def __init__(self, jobs: Jobs, catalog: Callable[[], Catalog], every: float = 5.0, sleep: Sleep = asyncio.sleep) -> None:
        self._jobs, self._catalog, self._every, self._sleep = jobs, catalog, every, sleep
        self.value: dict[tuple[str, str], int] | None = None  # None until the first reading

    async def refresh(self) -> dict[tuple[str, str], int]:
        catalog = self._catalog()
        counts: Counter[tuple[str, str]] = Counter()
        for job in await self._jobs.in_states(UNFINISHED, LIMIT):
            model = catalog.model(job.model_id)
            counts[(job.state.value, model.api if model else MARKET_API)] += 1
        self.value = dict(counts)
        return self.value

    async def run(self) -> None:
        """Refresh forever (an owned task, cancelled on shutdown); a failed read keeps the last value."""
        while True:
            try:
                await self.refresh()
            except StorageUnavailableError as error:
                log.warning("JOB_COUNT_UNKNOWN error=%s", type(error).__name__)
            await self._sleep(self._every)
