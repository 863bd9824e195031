"""Submitting a created job to the generator: its turn in KIE's budget first (core/submit_queue.py: beyond the
budget it waits, its user told the place), then the request, with bounded retries of transient errors. A 429
sends the job back to the queue (the gateway has shrunk the shared budget) without counting as an attempt;
the job's deadline bounds the whole. The job stays CREATED (charged once) until the generator accepted it."""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from core import job_states
from core.context import Services
from core.i18n import Fmt, localized
from core.submit_queue import SubmitQueue
from core.views.jobs import render_progress
from ports.effects import EditScreen, Messenger, MessengerUnavailableError, RecipientBlockedError
from ports.generation import MARKET_API, GatewayError, GatewayRateLimitedError, GenerationRequest
from ports.model import Job, JobState

if TYPE_CHECKING:
    from core.job_runner import RunnerSettings

log = logging.getLogger(__name__)

ALERT_CODES = frozenset({"auth", "quota"})  # the operator must act; users only see "unavailable"
QUEUE_READ_LIMIT = 1000  # jobs read to find the places in the submission queue

Alert = Callable[[str], Awaitable[None]]


class Submitter:
    def __init__(self, services: Services, messenger: Messenger, settings: RunnerSettings, alert: Alert) -> None:
        self._services, self._messenger, self._settings, self._alert = services, messenger, settings, alert
        budget = services.submit_budget
        self.queue = SubmitQueue(budget, services.clock, self._waiting_ids) if budget is not None else None

    async def submit(self, job: Job) -> Job | None:
        """SUBMITTED with the task id, or None when the job failed (it is then FAILED, to be refunded)."""
        services, settings = self._services, self._settings
        model = services.catalog.model(job.model_id)
        request = GenerationRequest(job.model_id, job.input, settings.callback_url, job.id,
                                    api=model.api if model else MARKET_API)
        attempt = 0
        while True:
            if self.queue is not None:
                queued_at = services.clock.now()
                await self.queue.turn(job, lambda place: self._show_place(job, place))
                services.metrics.submission_waited(request.api, (services.clock.now() - queued_at).total_seconds())
                request = replace(request, slot_taken=True)
            try:
                task_id = await services.gateway.submit(request)
            except GatewayError as error:
                rate_limited = isinstance(error, GatewayRateLimitedError)
                attempt += 0 if rate_limited else 1
                last_try = attempt >= settings.submit_attempts or services.clock.now() >= job.deadline_at
                if error.retryable and not last_try:
                    log.warning("JOB_SUBMIT_RETRY", extra={"job": job.id, "attempt": attempt, "code": error.code})
                    if not rate_limited or self.queue is None:
                        await services.clock.sleep(settings.submit_backoff * 2 ** max(attempt - 1, 0) * random.uniform(0.8, 1.2))
                    continue
                log.warning("JOB_SUBMIT_FAILED", extra={"job": job.id, "code": error.code})
                if error.code in ALERT_CODES:
                    await self._alert(error.code)
                await job_states.transition(
                    services.storage, job.id, JobState.FAILED, {JobState.CREATED}, error=error.code,
                    error_message=str(error), updated_at=services.clock.now(),
                )
                return None
            log.info("JOB_SUBMITTED", extra={"job": job.id, "task": task_id, "model": job.model_id})
            services.metrics.job_reached(request.api, "submitted")
            return await job_states.transition(
                services.storage, job.id, JobState.SUBMITTED, {JobState.CREATED}, task_id=task_id,
                updated_at=services.clock.now(),
            )

    async def _waiting_ids(self) -> list[str]:
        """Every job waiting to be submitted, on every instance, oldest first: the submission queue's order."""
        jobs = await self._services.storage.jobs.in_states({JobState.CREATED}, limit=QUEUE_READ_LIMIT)
        return [job.id for job in sorted(jobs, key=lambda job: (job.created_at, job.id))]

    async def _show_place(self, job: Job, place: int) -> None:
        """The job waits in the submission queue: its progress message shows the place ("в очереди: 3-й")."""
        if job.progress_message_id is None:
            return
        services = self._services
        fmt = Fmt(job.language, services.settings.prices.currency)
        model = services.catalog.model(job.model_id)
        name = localized(model.names, fmt.language) if model else job.model_id
        screen = render_progress(fmt, name, job.price, "waiting", place=place)
        try:
            await self._messenger.apply([EditScreen(job.chat_id, job.progress_message_id, screen)])
        except (MessengerUnavailableError, RecipientBlockedError) as error:
            log.info("JOB_PLACE_NOT_SHOWN", extra={"job": job.id, "error": type(error).__name__})
