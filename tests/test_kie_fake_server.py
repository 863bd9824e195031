"""FakeKieServer over real HTTP with raw httpx requests (not the project's client): envelopes, auth, Cloudflare,
the task lifecycle on a VirtualClock, callbacks, uploads, file serving and scripted failures."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import signal
import sys
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from adapters.kie import fake_media
from adapters.kie.fake_server import FakeKieServer, ModelRules
from adapters.system.clock import VirtualClock
from ports.catalog import OutputKind

LIMIT = 10  # seconds: every test is bounded
ROOT = Path(__file__).resolve().parents[1]
UA = "trt-bot-tests/1.0"
CREATE = "/api/v1/jobs/createTask"
RECORD = "/api/v1/jobs/recordInfo"
CREDIT = "/api/v1/chat/credit"
ORDER = ["waiting", "queuing", "generating", "success"]
PNG = b"\x89PNG\r\n\x1a\n"


def client(kie: FakeKieServer, *, key: str | None = None, **kwargs) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {key or kie.api_key}", "User-Agent": UA}
    return httpx.AsyncClient(headers=headers, timeout=kwargs.pop("timeout", 5.0), **kwargs)


async def create(http: httpx.AsyncClient, kie: FakeKieServer, prompt: str = "a cat", **body) -> dict:
    model, inputs = body.pop("model", "google/imagen4-fast"), body.pop("input", {"prompt": prompt})
    payload = {"model": model, "input": inputs, **body}
    return (await http.post(kie.api_base_url + CREATE, json=payload)).json()


async def record(http: httpx.AsyncClient, kie: FakeKieServer, task_id: str) -> dict:
    reply = await http.get(kie.api_base_url + RECORD, params={"taskId": task_id})
    assert reply.status_code == 200
    return reply.json()


class Receiver:
    """A tiny callback endpoint (and file host for file-url-upload)."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict, dict]] = []
        self.file = b"receiver file bytes"
        self.url = ""

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/cb", self._callback)
        app.router.add_get("/file.txt", self._file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._runner.cleanup()

    async def _file(self, request: web.Request) -> web.Response:
        return web.Response(body=self.file, content_type="text/plain")

    async def _callback(self, request: web.Request) -> web.Response:
        self.posts.append((await request.json(), dict(request.headers)))
        return web.json_response({"code": 200, "msg": "success"})


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
async def kie(clock, tmp_path):
    async with FakeKieServer(clock=clock, files_dir=tmp_path / "kie") as server:
        yield server


@pytest.fixture
async def receiver():
    async with Receiver() as server:
        yield server


# --- envelopes, auth, Cloudflare ---------------------------------------------------------------------------


async def test_task_runs_waiting_to_success_never_backwards_with_string_fields_and_real_png(kie, clock):
    async with asyncio.timeout(LIMIT), client(kie) as http:
        created = await create(http, kie, "a red fox", callBackUrl="http://127.0.0.1:9/none")
        assert created["code"] == 200 and created["msg"] == "success"
        task_id = created["data"]["taskId"]
        assert kie.task_ids == [task_id]
        seen = []
        for _ in range(25):
            answer = await record(http, kie, task_id)
            assert answer["code"] == 200 and answer["msg"] == "success" and "message" not in answer
            seen.append(answer["data"]["state"])
            clock.advance(0.2)
        assert seen == sorted(seen, key=ORDER.index) and set(seen) == set(ORDER)
        data = answer["data"]
        assert json.loads(data["param"]) == {"model": "google/imagen4-fast", "input": {"prompt": "a red fox"},
                                             "callBackUrl": "http://127.0.0.1:9/none"}
        urls = json.loads(data["resultJson"])["resultUrls"]
        assert data["failCode"] == "" and data["failMsg"] == "" and data["progress"] == 100
        assert data["createTime"] < data["completeTime"] == data["updateTime"]
        assert data["costTime"] == data["completeTime"] - data["createTime"]
        assert urls[0].startswith(kie.api_base_url + "/files/")
        image = await http.get(urls[0])
        assert image.status_code == 200 and image.content.startswith(PNG) and len(image.content) > 1000
        assert kie.uploaded_bytes(urls[0]) == image.content
        assert (await http.get(kie.api_base_url + CREDIT)).json() == {"code": 200, "msg": "success", "data": 999}
        assert await kie.task_state(task_id) == "success"


async def test_missing_or_wrong_key_is_an_envelope_401_and_never_recorded(kie):
    async with asyncio.timeout(LIMIT):
        async with httpx.AsyncClient(headers={"User-Agent": UA}) as anonymous, client(kie, key="nope") as wrong:
            for http in (anonymous, wrong):
                reply = await http.get(kie.api_base_url + CREDIT)
                assert reply.status_code == 200
                assert reply.json()["code"] == 401 and reply.json()["msg"] == "You do not have access permissions"
            reply = await wrong.post(kie.upload_base_url + "/api/file-base64-upload", json={"base64Data": "aGk="})
            assert reply.json()["code"] == 401
        assert [r.auth for r in kie.requests] == ["missing", "wrong", "wrong"]
        assert all("authorization" not in {k.lower() for k in r.headers} for r in kie.requests)
        assert kie.gateway.uploads == []


async def test_cloudflare_refuses_no_user_agent_and_the_httpx_default(kie):
    async with asyncio.timeout(LIMIT), httpx.AsyncClient(headers={"Authorization": f"Bearer {kie.api_key}"}) as http:
        default = await http.get(kie.api_base_url + CREDIT)  # python-httpx/0.28.1
        del http.headers["User-Agent"]
        bare = await http.post(kie.api_base_url + CREATE, json={"model": "x", "input": {"prompt": "p"}})
        upload = await http.post(kie.upload_base_url + "/api/file-base64-upload", json={"base64Data": "aGk="})
        for reply in (default, bare, upload):
            assert reply.status_code == 403 and reply.text == "error code: 1010"
        assert [r.headers.get("User-Agent") for r in kie.requests] == [f"python-httpx/{httpx.__version__}", None, None]
        assert kie.task_ids == []


async def test_unknown_task_is_422_record_info_is_null_and_message_key_switch(kie):
    async with asyncio.timeout(LIMIT), client(kie) as http:
        assert await record(http, kie, "task_nope") == {"code": 422, "msg": "recordInfo is null", "data": None}
        task_id = (await create(http, kie))["data"]["taskId"]
        kie.use_message_key = True
        answer = await record(http, kie, task_id)
        assert answer["message"] == "success" and "msg" not in answer and answer["data"]["state"] == "waiting"


async def test_unknown_path_answers_a_404_envelope(kie):
    async with asyncio.timeout(LIMIT), client(kie) as http:
        reply = await http.post(kie.api_base_url + "/api/v1/jobs/cancelTask", json={"taskId": "x"})
        assert reply.status_code == 200 and reply.json()["code"] == 404


# --- createTask validation, credits, rate limit --------------------------------------------------------------

RULES = {
    "seedream/4.5-edit": ModelRules(required=("prompt", "image_urls"), output=OutputKind.IMAGE, credits=Decimal(7)),
    "elevenlabs/speech-to-text": ModelRules(required=("audio_url",), output=OutputKind.TEXT),
}


@pytest.mark.parametrize("validation_code", [500, 422])
async def test_model_rules_unknown_model_missing_field_and_text_output(clock, tmp_path, validation_code):
    async with asyncio.timeout(LIMIT), FakeKieServer(clock=clock, files_dir=tmp_path, models=RULES,
                                                     validation_code=validation_code) as kie, client(kie) as http:
        unknown = await create(http, kie, model="openai/4o-image")
        assert unknown == {"code": 422, "msg": "The page does not exist or is not published", "data": None}
        missing = await create(http, kie, model="seedream/4.5-edit", input={"prompt": "p", "image_urls": []})
        assert missing["code"] == validation_code and missing["msg"] == "This field is required"
        ok = await create(http, kie, model="seedream/4.5-edit", input={"prompt": "p", "image_urls": ["http://x/a.png"]})
        text = await create(http, kie, model="elevenlabs/speech-to-text", input={"audio_url": "http://x/a.ogg"})
        clock.advance(60)
        result = json.loads((await record(http, kie, text["data"]["taskId"]))["data"]["resultJson"])
        assert isinstance(result["resultObject"]["text"], str) and result["resultObject"]["text"]
        assert await kie.task_state(ok["data"]["taskId"]) == "success"
        assert kie.credits == Decimal(1000 - 7 - 1)


async def test_out_of_credits_is_402_and_reject_is_a_400_content_policy(kie, clock):
    async with asyncio.timeout(LIMIT), client(kie) as http:
        rejected = await create(http, kie, "REJECT this")
        assert rejected["code"] == 400 and "policy" in rejected["msg"].lower()
        kie.set_credits(Decimal("0.5"))
        assert await create(http, kie) == {"code": 402, "msg": "Credits insufficient", "data": None}
        kie.set_credits(Decimal(1))
        task_id = (await create(http, kie))["data"]["taskId"]
        clock.advance(10)
        assert (await record(http, kie, task_id))["data"]["state"] == "success"
        assert (await http.get(kie.api_base_url + CREDIT)).json()["data"] == 0
        assert (await create(http, kie))["code"] == 402


async def test_the_21st_create_within_10_seconds_is_rate_limited(kie, clock):
    async with asyncio.timeout(LIMIT), client(kie) as http:
        codes = [(await create(http, kie))["code"] for _ in range(21)]
        assert codes == [200] * 20 + [429]
        assert (await create(http, kie)) == {"code": 429, "msg": "Rate limited", "data": None}
        clock.advance(10.01)
        assert (await create(http, kie))["code"] == 200
        assert len(kie.task_ids) == 21


# --- failures and callbacks ------------------------------------------------------------------------------------


async def test_fail_prompt_ends_in_fail_with_a_501_callback_and_no_debit(kie, clock, receiver):
    async with asyncio.timeout(LIMIT), client(kie) as http:
        task_id = (await create(http, kie, "please FAIL", callBackUrl=receiver.url + "/cb"))["data"]["taskId"]
        clock.advance(30)
        attempts = await kie.wait_for_callbacks(1)
        data = (await record(http, kie, task_id))["data"]
        assert data["state"] == "fail" and data["failCode"] == "500" and "FAIL" in data["failMsg"]
        assert data["resultJson"] is None and kie.credits == 1000
        assert attempts[0].status == 200 and attempts[0].task_id == task_id
        body, headers = receiver.posts[0]
        assert body == {"code": 501, "msg": "Playground task failed.", "data": data}
        assert headers["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("mode, expected", [("once", 1), ("twice", 2), ("never", 0)])
async def test_callback_modes_once_twice_never(kie, clock, receiver, mode, expected):
    async with asyncio.timeout(LIMIT), client(kie) as http:
        kie.set_callback_mode(mode)
        task_id = (await create(http, kie, callBackUrl=receiver.url + "/cb"))["data"]["taskId"]
        clock.advance(30)  # nobody polls: the ticker notices the task finished
        await kie.settle()  # everything due by now is delivered; nothing else is pending
        assert len(receiver.posts) == len(kie.callbacks) == expected and kie.callbacks_due == 0
        for body, _ in receiver.posts:
            assert body["code"] == 200 and body["msg"] == "Playground task completed successfully."
            assert body["data"]["taskId"] == task_id and json.loads(body["data"]["resultJson"])["resultUrls"]
        assert await kie.task_state(task_id) == "success" and kie.credits == 999


async def test_late_callback_arrives_delay_seconds_after_the_task_finished(kie, clock, receiver):
    async with asyncio.timeout(LIMIT), client(kie) as http:
        kie.set_callback_mode("late", delay=120)
        task_id = (await create(http, kie, callBackUrl=receiver.url + "/cb"))["data"]["taskId"]
        clock.advance(30)
        assert await kie.task_state(task_id) == "success"
        await kie.settle()
        assert receiver.posts == [] and kie.callbacks_due == 1  # finished, its callback held for 120 s
        clock.advance(119.9)
        await kie.settle()
        assert receiver.posts == []
        clock.advance(0.1)
        await kie.settle()
        assert [body["data"]["taskId"] for body, _ in receiver.posts] == [task_id] and kie.callbacks_due == 0


async def test_callback_failures_are_recorded_not_retried_and_can_be_signed(clock, tmp_path, receiver):
    async with asyncio.timeout(LIMIT), FakeKieServer(clock=clock, files_dir=tmp_path, webhook_hmac_key="s3cret") as kie:
        async with client(kie) as http:
            await create(http, kie, callBackUrl="http://127.0.0.1:9/unreachable")
            signed = (await create(http, kie, callBackUrl=receiver.url + "/cb"))["data"]["taskId"]
            clock.advance(30)
            await kie.settle()
            attempts = list(kie.callbacks)
        assert len(kie.callbacks) == 2 and kie.callbacks_due == 0
        failed = next(a for a in attempts if a.status is None)
        assert failed.error and failed.url.endswith("/unreachable")
        headers = receiver.posts[0][1]
        message = f"{signed}.{headers['X-Webhook-Timestamp']}".encode()
        expected = base64.b64encode(hmac.new(b"s3cret", message, hashlib.sha256).digest()).decode()
        assert headers["X-Webhook-Signature"] == expected


async def test_gateway_scripting_passes_through_fail_and_hang(kie, clock):
    async with asyncio.timeout(LIMIT), client(kie) as http:
        kie.fail_next_tasks(1, "NSFW content detected", code="400")
        kie.hang_next_tasks(1)
        failed = (await create(http, kie))["data"]["taskId"]
        hung = (await create(http, kie))["data"]["taskId"]
        clock.advance(3600)
        data = (await record(http, kie, failed))["data"]
        assert (data["state"], data["failCode"], data["failMsg"]) == ("fail", "400", "NSFW content detected")
        assert (await record(http, kie, hung))["data"]["state"] == "generating"


# --- uploads and files -----------------------------------------------------------------------------------------


async def test_uploads_stream_base64_and_url_return_a_download_url_with_the_same_bytes(kie, receiver):
    png = fake_media.png_bytes("upload")
    base = kie.upload_base_url
    async with asyncio.timeout(LIMIT), client(kie) as http:
        stream = await http.post(base + "/api/file-stream-upload", files={"file": ("me.png", png, "image/png")},
                                 data={"uploadPath": "images/user-uploads"})
        plain = await http.post(base + "/api/file-base64-upload",
                                json={"base64Data": base64.b64encode(png).decode(), "fileName": "b.png"})
        data_url = await http.post(base + "/api/file-base64-upload",
                                   json={"base64Data": "data:image/png;base64," + base64.b64encode(png).decode()})
        by_url = await http.post(base + "/api/file-url-upload", json={"fileUrl": receiver.url + "/file.txt"})
        expected = [png, png, png, receiver.file]
        for reply, content in zip((stream, plain, data_url, by_url), expected, strict=True):
            answer = reply.json()
            assert answer["success"] is True and answer["code"] == 200 and answer["msg"] == "File uploaded successfully"
            info = answer["data"]
            assert info["downloadUrl"].startswith(base + "/files/") and info["fileSize"] == len(content)
            assert (await http.get(info["downloadUrl"])).content == content == kie.uploaded_bytes(info["downloadUrl"])
        assert stream.json()["data"]["filePath"] == "images/user-uploads/me.png"
        assert data_url.json()["data"]["mimeType"] == "image/png" and by_url.json()["data"]["mimeType"] == "text/plain"
        assert [r.endpoint for r in kie.requests] == ["file-stream-upload", "file-base64-upload",
                                                      "file-base64-upload", "file-url-upload"]
        assert kie.requests[0].body["file"] == {"filename": "me.png", "content_type": "image/png", "size": len(png)}


async def test_bad_uploads_answer_400_envelopes(kie):
    base = kie.upload_base_url
    async with asyncio.timeout(LIMIT), client(kie) as http:
        empty = await http.post(base + "/api/file-stream-upload", files={"file": ("e.png", b"", "image/png")})
        garbage = await http.post(base + "/api/file-base64-upload", json={"base64Data": "not base64!!"})
        missing = await http.post(base + "/api/file-url-upload", json={"fileUrl": kie.api_base_url + "/files/nope"})
        for reply in (empty, garbage, missing):
            assert reply.status_code == 200 and reply.json()["code"] == 400 and reply.json()["success"] is False
        assert kie.gateway.uploads == []


async def test_files_outside_what_was_handed_out_are_404(kie, clock, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    fake_media.write_file(kie.files_dir / "results" / "unlisted.png", PNG)
    async with asyncio.timeout(LIMIT), client(kie) as http:
        task_id = (await create(http, kie))["data"]["taskId"]
        clock.advance(30)
        url = json.loads((await record(http, kie, task_id))["data"]["resultJson"])["resultUrls"][0]
        assert (await http.get(url)).status_code == 200
        api, upload = kie.api_base_url, kie.upload_base_url
        for probe in (f"{api}/files/results/unlisted.png", f"{api}/files/..%2Fsecret.txt",
                      f"{api}/files/results/%2e%2e/%2e%2e/secret.txt", f"{api}/files/{secret}",
                      f"{api}/files/%2F{str(secret).lstrip('/')}", f"{upload}/files/{url.split('/files/')[1]}",
                      f"{api}/tmp/forged/secret.txt"):
            reply = await http.get(probe)
            assert reply.status_code == 404 and b"secret" not in reply.content, probe


async def test_download_url_gives_a_temporary_link_for_kie_files_and_422_for_external(kie, clock):
    async with asyncio.timeout(LIMIT), client(kie) as http:
        task_id = (await create(http, kie))["data"]["taskId"]
        clock.advance(30)
        url = json.loads((await record(http, kie, task_id))["data"]["resultJson"])["resultUrls"][0]
        endpoint = kie.api_base_url + "/api/v1/common/download-url"
        answer = (await http.post(endpoint, json={"url": url})).json()
        assert answer["code"] == 200 and isinstance(answer["data"], str)
        assert (await http.get(answer["data"])).content == kie.uploaded_bytes(url)
        external = await http.post(endpoint, json={"url": "https://x.org/a.png"})
        assert external.json()["code"] == 422
        clock.advance(20 * 60 + 1)
        assert (await http.get(answer["data"])).status_code == 404


async def test_result_urls_expire_when_url_ttl_is_set(clock, tmp_path):
    async with asyncio.timeout(LIMIT), FakeKieServer(clock=clock, files_dir=tmp_path, url_ttl=60) as kie:
        async with client(kie) as http:
            task_id = (await create(http, kie))["data"]["taskId"]
            clock.advance(30)
            url = json.loads((await record(http, kie, task_id))["data"]["resultJson"])["resultUrls"][0]
            assert (await http.get(url)).status_code == 200
            clock.advance(61)
            assert (await http.get(url)).status_code == 404


# --- scripted transport trouble ----------------------------------------------------------------------------------


async def test_scripted_http_502_and_envelope_455_then_normal_service(kie):
    async with asyncio.timeout(LIMIT), client(kie) as http:
        kie.fail_next("credit", http_status=502, msg="Bad Gateway")
        kie.fail_next("createTask", code=455, msg="Service unavailable: maintenance", count=2)
        kie.fail_next("upload", code=500)
        gateway = await http.get(kie.api_base_url + CREDIT)
        assert gateway.status_code == 502 and gateway.text == "Bad Gateway"
        assert (await http.get(kie.api_base_url + CREDIT)).json()["data"] == 1000
        for _ in range(2):
            answer = await create(http, kie)
            assert answer == {"code": 455, "msg": "Service unavailable: maintenance", "data": None}
        assert (await create(http, kie))["code"] == 200
        upload = await http.post(kie.upload_base_url + "/api/file-base64-upload", json={"base64Data": "aGk="})
        assert upload.json()["code"] == 500
        assert len(kie.task_ids) == 1 and kie.gateway.uploads == []
    with pytest.raises(ValueError):
        kie.fail_next("cancelTask")


async def test_delay_next_makes_a_client_time_out_once(kie):
    async with asyncio.timeout(LIMIT), client(kie, timeout=0.3) as http:
        kie.delay_next("recordInfo", 1.0)
        with pytest.raises(httpx.ReadTimeout):
            await http.get(kie.api_base_url + RECORD, params={"taskId": "x"})
        assert (await http.get(kie.api_base_url + RECORD, params={"taskId": "x"})).json()["code"] == 422


# --- the standalone server ---------------------------------------------------------------------------------------


async def test_python_m_runs_until_ctrl_c_and_prints_both_urls(tmp_path):
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "adapters.kie.fake_server", "--port", "0", "--api-key", "K", "--files-dir", str(tmp_path),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(LIMIT):
            api = (await process.stdout.readline()).decode().split()[-1]
            upload = (await process.stdout.readline()).decode().split()[-1]
            assert api.startswith("http://127.0.0.1:") and upload.startswith("http://127.0.0.1:") and api != upload
            async with httpx.AsyncClient(headers={"Authorization": "Bearer K", "User-Agent": UA}) as http:
                assert (await http.get(api + CREDIT)).json()["data"] == 1000
            process.send_signal(signal.SIGINT)
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_defaults_run_on_real_time_with_speed_and_remove_their_temp_dir():
    async with asyncio.timeout(LIMIT):
        async with FakeKieServer(speed=40) as kie, client(kie) as http:  # SystemClock; an image takes 0.1 s
            task_id = (await create(http, kie, callBackUrl="http://127.0.0.1:9/none"))["data"]["taskId"]
            await kie.wait_for_callbacks(1)  # the ticker finished it on its own
            url = json.loads((await record(http, kie, task_id))["data"]["resultJson"])["resultUrls"][0]
            assert (await http.get(url)).content.startswith(PNG)
            files_dir = kie.files_dir
            assert files_dir.is_dir()
        assert not files_dir.exists()
