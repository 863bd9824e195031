"""The job lifecycle: created → submitted → running → succeeded → delivered, or failed / timed out →
refunded. Completion may come from polling or from a callback, repeatedly and in any order: every
transition is a compare-and-set in storage, so each job is charged once, refunded at most once and
delivered once per process (the result is sent before the job is marked delivered, so a crash in
between re-sends it after restart rather than losing it).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from core import cashier, job_states
from core.context import Services
from core.cost_watch import check_cost
from core.drafts import prompt_of
from core.follow_ups import follow_up_rows
from core.i18n import Fmt, localized
from core.submission import Submitter
from core.views.admin import render_alert
from core.views.jobs import failed_notice, keeps_transparency, render_done, render_progress, result_effects
from ports.catalog import ModelSpec, OutputKind
from ports.effects import (
    EditScreen,
    Effect,
    Messenger,
    MessengerUnavailableError,
    RecipientBlockedError,
    ResultRefusedError,
    SendScreen,
)
from ports.generation import MARKET_API, GatewayError, TaskState, TaskStatus, UnknownTaskError
from ports.outbox import OutboxMessage, OutboxWaker
from ports.model import ACTIVE_JOB_STATES, Job, JobState
from ports.screens import Keyboard
from ports.trace import correlation_id

log = logging.getLogger(__name__)

ALERT_EVERY = timedelta(minutes=10)
FINISHING_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.TIMED_OUT})
RUNNING_STATES = frozenset({JobState.SUBMITTED, JobState.RUNNING})
REFUSED_RESULT = "refused_result"  # the messenger refused the result's link (a scheme never delivered)


@dataclass(frozen=True)
class RunnerSettings:
    poll_first: float = 2.5  # seconds; KIE advises starting at 2–3 s
    poll_max: float = 30.0
    poll_factor: float = 1.5
    submit_attempts: int = 4
    submit_backoff: float = 2.0  # first retry delay; doubles, with jitter
    unknown_task_limit: int = 3  # "recordInfo is null" this many times in a row → failed
    delivery_attempts: int = 3
    callback_url: str | None = None


class JobRunner:
    def __init__(self, services: Services, messenger: Messenger, settings: RunnerSettings | None = None, *,
                 sender: OutboxWaker) -> None:
        self._services = services
        self._messenger = messenger
        self._sender = sender  # sends what was committed to the outbox (refund notices, alerts)
        self._settings = settings or RunnerSettings()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        # Held while a job is being finished; dropped by the garbage collector when nobody holds it.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._shown: dict[str, tuple[str, int | None]] = {}
        self._alerted: dict[str, datetime] = {}
        self._finishing: set[str] = set()  # jobs being delivered or refunded right now
        # Set by a callback: the job's poller stops waiting out its interval (which may be long) and looks now.
        self._wakers: dict[str, asyncio.Event] = {}
        self._submitter = Submitter(services, messenger, self._settings, self._alert_admins)
        self.queue = self._submitter.queue  # launches waiting for KIE's budget (core/submit_queue.py), for metrics

    # --- public -----------------------------------------------------------------------------

    def start(self, job_id: str) -> None:
        """Drive the job in the background until it is delivered or refunded (once per job)."""
        running = self._tasks.get(job_id)
        if running is not None and not running.done():
            return
        task = asyncio.create_task(self._drive(job_id), name=f"job-{job_id}")
        self._tasks[job_id] = task
        task.add_done_callback(lambda _: self._forget(job_id, task))

    @property
    def in_flight(self) -> int:
        return sum(1 for task in self._tasks.values() if not task.done())

    async def resume(self) -> int:
        """After a restart: drive every job that is not finished. Returns how many."""
        jobs = await self._services.storage.jobs.in_states(ACTIVE_JOB_STATES | FINISHING_STATES)
        for job in jobs:
            self.start(job.id)
        return len(jobs)

    async def on_task_event(self, task_id: str) -> bool:
        """A callback said the task changed: confirm with the gateway (the authority) and settle.
        False when no job has this task id."""
        job = await self._services.storage.jobs.find_by_task(task_id)
        if job is None:
            return False
        token = correlation_id.set(job.cid or correlation_id.get())  # the launch's cid, as in _drive
        try:
            if job.state in RUNNING_STATES:
                await self._settle(job, await self._services.gateway.status(task_id, self._api(job)))
        finally:
            correlation_id.reset(token)
            self._wake(job.id)
        return True

    def _wake(self, job_id: str) -> None:
        waker = self._wakers.get(job_id)
        if waker is not None:
            waker.set()

    async def _nap(self, job_id: str, seconds: float) -> None:
        """The poll interval, cut short by a callback for the job (``_wake``)."""
        waker = self._wakers.setdefault(job_id, asyncio.Event())
        if not waker.is_set():
            sleeper = asyncio.ensure_future(self._services.clock.sleep(seconds))
            woken = asyncio.ensure_future(waker.wait())
            try:
                await asyncio.wait((sleeper, woken), return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                woken.cancel()
        waker.clear()

    async def wait_idle(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def stop(self, grace: float = 0.0) -> None:
        """Stop driving jobs: polling stops at once (the next active instance resumes it), while a
        delivery or refund already under way may finish within ``grace`` seconds (cutting it between
        "sent" and "marked delivered" would make the next instance send the result again)."""
        finishing = [task for job_id, task in self._tasks.items() if job_id in self._finishing]
        for job_id, task in self._tasks.items():
            if job_id not in self._finishing:
                task.cancel()
        if finishing and grace > 0:
            await asyncio.wait(finishing, timeout=grace)
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()
        if self.queue is not None:
            await self.queue.stop()

    # --- driving ----------------------------------------------------------------------------

    def _forget(self, job_id: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(job_id) is task:
            del self._tasks[job_id]
            self._shown.pop(job_id, None)
            self._wakers.pop(job_id, None)

    async def _drive(self, job_id: str) -> None:
        try:
            job = await self._services.storage.jobs.get(job_id)
            if job is not None and job.cid:
                correlation_id.set(job.cid)  # this task's own context: the launch's cid follows the job
            if job is not None and job.state is JobState.CREATED:
                job = await self._submitter.submit(job)
            if job is not None and job.state in RUNNING_STATES:
                await self._poll(job)
            await self._finish(job_id)
        except asyncio.CancelledError:
            raise
        except Exception:  # worker loop boundary: log and let the next resume pick the job up
            log.exception("EXCEPTION_CAUGHT", extra={"job": job_id, "error_type": "job_driver"})

    async def _poll(self, job: Job) -> None:
        services, settings = self._services, self._settings
        interval, unknown = settings.poll_first, 0
        self._wakers.setdefault(job.id, asyncio.Event())  # before the first look: no callback is missed
        while True:
            now = services.clock.now()
            if now >= job.deadline_at:
                await job_states.transition(
                    services.storage, job.id, JobState.TIMED_OUT, RUNNING_STATES, error="timeout", updated_at=now
                )
                return
            assert job.task_id is not None
            try:
                status = await services.gateway.status(job.task_id, self._api(job))
            except UnknownTaskError:
                unknown += 1
                if unknown >= settings.unknown_task_limit:
                    await job_states.transition(
                        services.storage, job.id, JobState.FAILED, RUNNING_STATES, error="unknown_task", updated_at=now
                    )
                    return
            except GatewayError as error:
                log.warning("JOB_POLL_ERROR", extra={"job": job.id, "code": error.code})
            else:
                unknown = 0
                await self._settle(job, status)
            current = await services.storage.jobs.get(job.id)
            if current is None or current.state not in RUNNING_STATES:
                return
            job = current
            remaining = (job.deadline_at - services.clock.now()).total_seconds()
            await self._nap(job.id, max(min(interval, remaining), 0.0))
            interval = min(interval * settings.poll_factor, settings.poll_max)

    async def _settle(self, job: Job, status: TaskStatus) -> None:
        """Apply one status reading; a success or failure is finished here by whoever wins the CAS."""
        storage, now = self._services.storage, self._services.clock.now()
        if status.state is TaskState.SUCCESS:
            # Titles of named results (Suno's tracks) travel in result_text, one line per URL.
            text = status.result_text or ("\n".join(status.result_titles) if status.result_titles else None)
            won = await job_states.transition(
                storage, job.id, JobState.SUCCEEDED, RUNNING_STATES,
                result_urls=status.result_urls, result_text=text, updated_at=now,
                cost_credits=status.credits_consumed,
            )
        elif status.state is TaskState.FAIL:
            won = await job_states.transition(
                storage, job.id, JobState.FAILED, RUNNING_STATES,
                error=status.fail_code or "fail", error_message=status.fail_message, updated_at=now,
                cost_credits=status.credits_consumed,
            )
        else:
            if status.state is TaskState.GENERATING and job.state is JobState.SUBMITTED:
                job = await job_states.transition(storage, job.id, JobState.RUNNING, {JobState.SUBMITTED}, updated_at=now) or job
            stage = "running" if status.state is TaskState.GENERATING else "queued"
            await self._show_progress(job, status.stage.value if status.stage else stage, status.progress)
            return
        if won is not None:
            await self._finish(job.id)  # the user first; then the cost against the price
            await check_cost(self._services, self._messenger, won)

    # --- finishing --------------------------------------------------------------------------

    def _lock(self, job_id: str) -> asyncio.Lock:
        lock = self._locks.get(job_id)
        if lock is None:
            lock = self._locks[job_id] = asyncio.Lock()
        return lock

    async def _finish(self, job_id: str) -> None:
        """Deliver a succeeded job or refund a failed one; serialised per job so it happens once."""
        async with self._lock(job_id):
            self._finishing.add(job_id)
            try:
                job = await self._services.storage.jobs.get(job_id)
                if job is None:
                    return
                if job.state is JobState.SUCCEEDED:
                    await self._deliver(job)
                elif job.state in (JobState.FAILED, JobState.TIMED_OUT):
                    await self._refund(job)
            finally:
                self._finishing.discard(job_id)

    def _api(self, job: Job) -> str:
        """The KIE API family serving the job's model (the catalog says; market when the model is gone)."""
        model = self._services.catalog.model(job.model_id)
        return model.api if model else MARKET_API

    def _fmt_and_model(self, job: Job) -> tuple[Fmt, ModelSpec | None, str]:
        fmt = Fmt(job.language, self._services.settings.prices.currency)
        model = self._services.catalog.model(job.model_id)
        name = localized(model.names, fmt.language) if model else job.model_id
        return fmt, model, name

    async def _deliver(self, job: Job) -> None:
        fmt, model, name = self._fmt_and_model(job)
        output = model.output if model else OutputKind.IMAGE
        prompt = prompt_of(model, job.input)
        effects: list[Effect] = []
        if job.progress_message_id is not None:
            effects.append(EditScreen(job.chat_id, job.progress_message_id, render_done(fmt, name)))
        effects += result_effects(
            fmt, chat_id=job.chat_id, job_id=job.id, name=name, output=output, prompt=prompt,
            urls=job.result_urls, text=job.result_text, transparent=keeps_transparency(model),
            extra=self._follow_ups(fmt, job),
        )
        error = await self._send(job, effects)
        if error == "unavailable":
            return  # stays SUCCEEDED; the next resume retries the delivery
        if error == "refused":  # the result's link can never be delivered: fail it and give the money back
            failed = await job_states.transition(
                self._services.storage, job.id, JobState.FAILED, {JobState.SUCCEEDED}, error=REFUSED_RESULT,
                updated_at=self._services.clock.now(),
            )
            if failed is not None:
                await self._refund(failed)
            return
        await job_states.transition(
            self._services.storage, job.id, JobState.DELIVERED, {JobState.SUCCEEDED}, error=error, updated_at=self._services.clock.now()
        )
        log.info("JOB_DELIVERED", extra={"job": job.id, "user": job.user_id, "error": error})
        self._services.metrics.job_reached(self._api(job), "delivered")

    def _follow_ups(self, fmt: Fmt, job: Job) -> Keyboard:
        """The follow-up buttons of the result (as if delivered: the job is marked so right after sending)."""
        return follow_up_rows(fmt, self._services.catalog, replace(job, state=JobState.DELIVERED))

    async def _refund(self, job: Job) -> None:
        """The notice is stored (once, keyed by the job) before the refund: a crash after either loses neither."""
        storage, now = self._services.storage, self._services.clock.now()
        notice = OutboxMessage(f"refund:{job.id}", job.chat_id, self._refund_notice(job), now, job.cid)
        await storage.outbox.add([notice])
        refunded = await cashier.refund_job(storage, job.id, now)
        if refunded is None:  # the price (and a free try) came back in that one unit of work, or before
            return
        log.info("JOB_REFUNDED", extra={"job": job.id, "amount": job.price, "reason": job.error, "user": job.user_id})
        self._services.metrics.job_reached(self._api(job), "refunded")
        await self._sender.send_now([notice])

    def _refund_notice(self, job: Job) -> Effect:
        fmt, _, name = self._fmt_and_model(job)
        return failed_notice(fmt, name, job, admin=job.user_id in self._services.settings.admin_ids)

    async def _send(self, job: Job, effects: list[Effect]) -> str | None:
        """Send with bounded retries. None when sent; "blocked" when the user blocked the bot;
        "unavailable" when the messenger kept failing."""
        for attempt in range(self._settings.delivery_attempts):
            try:
                await self._messenger.apply(effects)
                return None
            except RecipientBlockedError:
                log.info("JOB_RECIPIENT_BLOCKED", extra={"job": job.id, "user": job.user_id})
                await self._services.storage.users.set_blocked(job.user_id, True)
                return "blocked"
            except ResultRefusedError as error:
                log.error("JOB_RESULT_REFUSED", extra={"job": job.id, "reason": str(error)})
                return "refused"
            except MessengerUnavailableError:
                log.warning("JOB_SEND_RETRY", extra={"job": job.id, "attempt": attempt + 1})
                await self._services.clock.sleep(2.0 * 2**attempt)
        return "unavailable"

    async def _alert_admins(self, code: str) -> None:
        """Tell every admin, at most once per ALERT_EVERY per problem."""
        services = self._services
        now = services.clock.now()
        last = self._alerted.get(code)
        if last is not None and now - last < ALERT_EVERY:
            return
        self._alerted[code] = now
        log.error("KIE_OPERATOR_ALERT", extra={"code": code, "admins": len(services.settings.admin_ids)})
        fmt = Fmt(services.settings.default_language, services.settings.prices.currency)
        messages = [OutboxMessage(f"alert:{code}:{now.isoformat()}:{admin}", admin, SendScreen(admin, render_alert(fmt, code)),
                                  now) for admin in services.settings.admin_ids]
        await services.storage.outbox.add(messages)
        await self._sender.send_now(messages)

    async def _show_progress(self, job: Job, stage: str, progress: int | None) -> None:
        if job.progress_message_id is None:
            return
        rounded = None if progress is None else progress // 10 * 10
        if self._shown.get(job.id) == (stage, rounded):
            return
        self._shown[job.id] = (stage, rounded)
        fmt, _, name = self._fmt_and_model(job)
        screen = render_progress(fmt, name, job.price, stage, rounded)
        try:
            await self._messenger.apply([EditScreen(job.chat_id, job.progress_message_id, screen)])
        except (MessengerUnavailableError, RecipientBlockedError) as error:
            log.info("JOB_PROGRESS_NOT_SHOWN", extra={"job": job.id, "error": type(error).__name__})
