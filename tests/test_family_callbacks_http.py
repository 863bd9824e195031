"""The fake KIE server's callbacks for the dedicated families: a failed delivery is retried where KIE documents it
(Flux Kontext: 3 retries at 1, 5, 15 min; Suno's staged callbacks too), a market callback is not."""

from __future__ import annotations

import asyncio

import httpx
from aiohttp import web

from adapters.kie.fake_server import FakeKieServer
from tests.test_kie_e2e import free_port

HEADERS = {"Authorization": "Bearer test-kie-key", "User-Agent": "trt-test/1"}


class Receiver:
    """A callback endpoint that answers 500 to its first ``failures`` POSTs, then 200."""

    def __init__(self, failures: int) -> None:
        self.failures, self.bodies = failures, []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/cb"

    async def __aenter__(self) -> "Receiver":
        app = web.Application()
        app.router.add_post("/cb", self._post)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._runner.cleanup()

    async def _post(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.json())
        if len(self.bodies) <= self.failures:
            return web.json_response({"error": "down"}, status=500)
        return web.json_response({"code": 200})


async def create(kie: FakeKieServer, path: str, body: dict) -> str:
    async with httpx.AsyncClient() as client:
        answer = (await client.post(f"{kie.api_base_url}{path}", json=body, headers=HEADERS)).json()
    assert answer["code"] == 200, answer
    return answer["data"]["taskId"]


async def test_a_failed_kontext_callback_is_retried_until_delivered(tmp_path):
    async with FakeKieServer(files_dir=tmp_path, speed=40) as kie, Receiver(failures=2) as receiver:
        kie.callback_retry_delays = (0.1, 0.1, 0.1)
        task_id = await create(kie, "/api/v1/flux/kontext/generate", {"prompt": "a fox", "callBackUrl": receiver.url})
        attempts = await kie.wait_for_callbacks(3, timeout=10)
        assert [attempt.status for attempt in attempts] == [500, 500, 200]
        assert {body["data"]["taskId"] for body in receiver.bodies} == {task_id}


async def test_kontext_gives_up_after_three_retries_and_a_market_callback_is_not_retried(tmp_path):
    async with FakeKieServer(files_dir=tmp_path, speed=40) as kie, Receiver(failures=100) as receiver:
        kie.callback_retry_delays = (0.05, 0.05, 0.05)
        await create(kie, "/api/v1/flux/kontext/generate", {"prompt": "a fox", "callBackUrl": receiver.url})
        await create(kie, "/api/v1/jobs/createTask",
                     {"model": "z-image", "input": {"prompt": "a fox"}, "callBackUrl": receiver.url})
        await kie.wait_for_callbacks(5, timeout=10)
        await asyncio.sleep(0.5)
        by_api = [attempt.body.get("data", {}).get("taskId") for attempt in kie.callbacks]
        assert len(kie.callbacks) == 5 and len(set(by_api)) == 2  # 1 + 3 retries for Kontext, 1 for the market


async def test_suno_stage_callbacks_are_retried_after_a_failure(tmp_path):
    async with FakeKieServer(files_dir=tmp_path, speed=15) as kie, Receiver(failures=1) as receiver:
        kie.callback_retry_delays = (0.1,)
        await create(kie, "/api/v1/generate", {"prompt": "rain", "customMode": False, "instrumental": False,
                                               "model": "V5", "callBackUrl": receiver.url})
        async with asyncio.timeout(15):
            while not any(body["data"]["callbackType"] == "complete" for body in receiver.bodies):
                await asyncio.sleep(0.05)
        kinds = [body["data"]["callbackType"] for body in receiver.bodies]
        assert kinds[0] == "text" and kinds.count("text") == 2  # the first (failed) delivery was sent again
        assert kie.callbacks[0].status == 500 and all(attempt.status == 200 for attempt in kie.callbacks[1:])
