"""What KIE charged for a task (recordInfo creditsConsumed, older consumeCredits) reaches the job (issue 18.4)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.kie import envelope
from ports.generation import TaskState
from ports.storage import JobState
from tests.test_kie_e2e import bot_on_kie, job_of, start_z_image

SUCCESS = {"taskId": "t1", "state": "success", "resultJson": '{"resultUrls": ["https://cdn.example/a.png"]}'}


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("creditsConsumed", 12.5, Decimal("12.5")), ("creditsConsumed", "3", Decimal(3)), ("consumeCredits", 8, Decimal(8)),
    ("creditsConsumed", None, None), ("creditsConsumed", -1, None), ("creditsConsumed", "NaN", None),
    ("creditsConsumed", True, None), ("creditsConsumed", {"x": 1}, None),
])
def test_recordinfo_credits_consumed_is_read_exactly_or_not_at_all(field, value, expected):
    status = envelope.status_of("t1", {**SUCCESS, field: value})
    assert status.state is TaskState.SUCCESS and status.credits_consumed == expected


def test_a_failed_task_reports_its_cost_too():
    status = envelope.status_of("t1", {"taskId": "t1", "state": "fail", "failMsg": "x", "creditsConsumed": 0})
    assert status.credits_consumed == Decimal(0)


async def test_the_job_stores_what_the_fake_kie_server_charged(tmp_path):
    async with bot_on_kie(tmp_path) as (client, kie):
        await start_z_image(client)
        await client.settle()
        job = await job_of(client)
        assert job.state is JobState.DELIVERED and job.cost_credits == Decimal(1)  # the fake's default price
