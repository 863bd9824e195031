"""The job lifecycle under duplicates, reordering, races, timeouts, errors and restarts."""

from __future__ import annotations

from core import cashier
import asyncio
from datetime import timedelta

from adapters.kie.fake import FakeKieGateway
from ports.effects import RecipientBlockedError, SendMedia
from ports.generation import GatewayUnavailableError, TaskState, TaskStatus
from ports.storage import Job, JobState
from tests.harness import running_bot


async def launch_z_image(bot, prompt: str = "test") -> str:
    await bot.send("/start")
    await bot.press("Картинки и дизайн")
    await bot.press("Z-Image")
    await bot.send(prompt)
    outcome = await bot.press("Запустить")
    assert outcome.started_job is not None
    return outcome.started_job


def result_messages(bot) -> list[SendMedia]:
    return [e for e in bot.chat.effects if isinstance(e, SendMedia)]


class ScriptedStatuses:
    """Wraps the fake generator so ``status`` answers from a script (then repeats the last answer)."""

    def __init__(self, inner: FakeKieGateway, script: list[TaskState]) -> None:
        self.inner, self.script, self.calls = inner, list(script), 0

    async def submit(self, request):
        return await self.inner.submit(request)

    async def upload(self, data, file_name, mime_type):
        return await self.inner.upload(data, file_name, mime_type)

    async def credits(self):
        return await self.inner.credits()

    def health(self):
        return self.inner.health()

    async def status(self, task_id, api="market"):
        state = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        if state is TaskState.SUCCESS:
            return TaskStatus(task_id, state, result_urls=("file:///tmp/result.png",))
        if state is TaskState.FAIL:
            return TaskStatus(task_id, state, fail_code="500", fail_message="boom")
        return TaskStatus(task_id, state, progress=50)


async def test_duplicate_completions_after_delivery_change_nothing(tmp_path):
    async with running_bot(tmp_path) as bot:
        job_id = await launch_z_image(bot)
        await bot.settle()
        job = await bot.app.storage.jobs.get(job_id)
        balance = await bot.balance()
        for _ in range(3):
            assert await bot.app.runner.on_task_event(job.task_id) is True
        assert len(result_messages(bot)) == 1
        assert await bot.balance() == balance
        assert (await bot.app.storage.jobs.get(job_id)).state is JobState.DELIVERED


async def test_a_callback_for_an_unknown_task_is_ignored(tmp_path):
    async with running_bot(tmp_path) as bot:
        assert await bot.app.runner.on_task_event("no-such-task") is False


async def test_callbacks_racing_the_poller_deliver_exactly_once(tmp_path):
    async with running_bot(tmp_path) as bot:
        job_id = await launch_z_image(bot)
        while (job := await bot.app.storage.jobs.get(job_id)).task_id is None:
            await asyncio.sleep(0)
        bot.clock.advance(60)  # the task is finished at the generator
        await asyncio.gather(*(bot.app.runner.on_task_event(job.task_id) for _ in range(10)))
        await bot.settle()
        assert len(result_messages(bot)) == 1
        assert (await bot.app.storage.jobs.get(job_id)).state is JobState.DELIVERED


async def test_statuses_arriving_out_of_order_never_move_a_job_backwards(tmp_path):
    async with running_bot(tmp_path) as bot:
        scripted = ScriptedStatuses(bot.app.gateway, [TaskState.GENERATING, TaskState.SUCCESS, TaskState.GENERATING, TaskState.FAIL])
        bot.app.services.gateway = scripted
        job_id = await launch_z_image(bot)
        await bot.settle()
        job = await bot.app.storage.jobs.get(job_id)
        for _ in range(3):  # a late "generating" and a contradicting "fail" arrive afterwards
            await bot.app.runner.on_task_event(job.task_id)
        job = await bot.app.storage.jobs.get(job_id)
        assert job.state is JobState.DELIVERED and job.error is None
        assert len(result_messages(bot)) == 1
        entries = await bot.app.storage.ledger.entries(bot.user_id)
        assert [e.reason for e in entries] == ["launch", "welcome"]


async def test_a_failure_reported_twice_is_refunded_once(tmp_path):
    async with running_bot(tmp_path) as bot:
        bot.app.services.gateway = ScriptedStatuses(bot.app.gateway, [TaskState.FAIL])
        job_id = await launch_z_image(bot)
        while (job := await bot.app.storage.jobs.get(job_id)).task_id is None:
            await asyncio.sleep(0)
        await asyncio.gather(*(bot.app.runner.on_task_event(job.task_id) for _ in range(5)))
        await bot.settle()
        entries = await bot.app.storage.ledger.entries(bot.user_id)
        assert [e.reason for e in entries].count("refund") == 1
        assert await bot.balance() == 10000


async def test_a_job_that_never_finishes_times_out_and_is_refunded(tmp_path):
    async with running_bot(tmp_path) as bot:
        job_id = await launch_z_image(bot, "HANG forever")
        started = bot.clock.now()
        await bot.settle()
        job = await bot.app.storage.jobs.get(job_id)
        assert job.state is JobState.REFUNDED and job.error == "timeout"
        assert bot.clock.now() - started >= timedelta(minutes=15)
        assert bot.last().text.startswith("⌛ Z-Image: генерация не уложилась в отведённое время.")
        assert await bot.balance() == 10000


async def test_transient_submit_errors_are_retried_then_the_job_completes(tmp_path):
    async with running_bot(tmp_path) as bot:
        bot.app.gateway.fail_next_submits(2, GatewayUnavailableError("503"))
        job_id = await launch_z_image(bot)
        await bot.settle()
        assert (await bot.app.storage.jobs.get(job_id)).state is JobState.DELIVERED


async def test_a_generator_that_stays_down_fails_the_job_with_a_refund(tmp_path):
    async with running_bot(tmp_path) as bot:
        bot.app.gateway.fail_next_submits(10, GatewayUnavailableError("503"))
        job_id = await launch_z_image(bot)
        await bot.settle()
        job = await bot.app.storage.jobs.get(job_id)
        assert job.state is JobState.REFUNDED and job.error == "unavailable"
        assert "Причина: сервис генерации временно недоступен. Попробуйте позже." in bot.last().text
        assert await bot.balance() == 10000


async def test_a_rejected_request_is_refunded_and_the_reason_shown(tmp_path):
    async with running_bot(tmp_path) as bot:
        job_id = await launch_z_image(bot, "REJECT this")
        await bot.settle()
        job = await bot.app.storage.jobs.get(job_id)
        assert job.state is JobState.REFUNDED and job.error == "rejected"
        assert "Причина: запрос не прошёл модерацию сервиса (запрещённое содержание)." in bot.last().text
        assert "Content policy" not in bot.last().text  # KIE's English words are for admins
        assert len(bot.app.gateway.submitted) == 0  # rejected at submit, never retried


async def test_after_a_restart_a_job_charged_but_never_submitted_is_submitted_and_delivered(tmp_path):
    async with running_bot(tmp_path) as bot:
        now = bot.clock.now()
        await bot.send("/start")
        job = Job("orphan1", bot.user_id, bot.user_id, "z-image", {"prompt": "x", "aspect_ratio": "1:1"}, 80,
                  JobState.CREATED, now, now, now + timedelta(minutes=15))
        await cashier.launch(bot.app.storage, job)
    async with running_bot(tmp_path) as bot:  # a new process on the same data
        await bot.settle()
        assert (await bot.app.storage.jobs.get("orphan1")).state is JobState.DELIVERED
        assert len(result_messages(bot)) == 1
        assert await bot.balance() == 10000 - 80


async def test_after_a_restart_a_task_the_generator_forgot_is_refunded_once(tmp_path):
    async with running_bot(tmp_path) as bot:
        job_id = await launch_z_image(bot)
        while (await bot.app.storage.jobs.get(job_id)).task_id is None:
            await asyncio.sleep(0)
        await bot.app.runner.stop()  # the process dies with the job running
    async with running_bot(tmp_path) as bot:  # the fake generator of the new process knows no old tasks
        await bot.settle()
        job = await bot.app.storage.jobs.get(job_id)
        assert job.state is JobState.REFUNDED and job.error == "unknown_task"
        assert await bot.balance() == 10000


async def test_the_user_blocking_the_bot_does_not_leave_the_job_hanging(tmp_path):
    async with running_bot(tmp_path) as bot:
        job_id = await launch_z_image(bot)
        original = bot.chat.apply

        async def blocked(effects):
            if any(isinstance(e, SendMedia) for e in effects):
                raise RecipientBlockedError("bot was blocked by the user")
            await original(effects)

        bot.chat.apply = blocked  # the chat refuses delivery from now on
        await bot.settle()
        job = await bot.app.storage.jobs.get(job_id)
        assert job.state is JobState.DELIVERED and job.error == "blocked"


async def test_rejection_at_upload_is_reported_without_a_charge(tmp_path):
    async with running_bot(tmp_path, language="en") as bot:
        await bot.send("/start")
        await bot.press("Tools")
        await bot.press("Remove background")
        bot.app.gateway.set_offline(True)
        outcome = await bot.send(f"/photo {bot.write_photo()}")
        assert outcome.rejected == "UPLOAD_FAILED"
        assert bot.last().text.startswith("⚠️ Could not upload the file")
        assert await bot.balance() == 10000


async def test_an_exhausted_kie_account_refunds_the_user_and_alerts_admins_once(tmp_path):
    from ports.generation import GatewayQuotaError

    async with running_bot(tmp_path, ADMIN_ID=(7, 8)) as bot:
        bot.app.gateway.fail_next_submits(2, GatewayQuotaError("Credits insufficient"))
        first = await launch_z_image(bot)
        await bot.settle()
        second = await launch_z_image(bot, "again")
        await bot.settle()
        for job_id in (first, second):
            assert (await bot.app.storage.jobs.get(job_id)).state is JobState.REFUNDED
        assert "Причина: сервис генерации временно недоступен." in bot.last().text
        alerts = [e for e in bot.chat.effects if getattr(e, "chat_id", None) in (7, 8)]
        assert [a.chat_id for a in alerts] == [7, 8]  # once per admin within ten minutes
        assert alerts[0].screen.text.startswith("🚨 На счёте KIE закончились кредиты (402).")
        assert await bot.balance() == 10000
