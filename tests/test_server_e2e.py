"""The runbook's journey and the webhook's promises, over real HTTP on loopback: the aiohttp app, the
dispatcher and the Telegram messenger against a fake Bot API server, in both transports."""

from __future__ import annotations

import asyncio

import pytest

from core.i18n import Fmt
from ports.storage import JobState
from entrypoints.smoke_checks import callback_update, message_update
from entrypoints.fake_stack import SECRET_PATH, SECRET_TOKEN, running_server

USER = 4242


async def journey(client, user: int = USER) -> None:
    await client.say(user, "/start")
    await client.press(user, "Картинки и дизайн")
    await client.press(user, "Z-Image")
    await client.say(user, "test")
    await client.press(user, "Запустить")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["webhook", "polling"])
async def test_the_runbook_journey_ends_with_a_picture_in_both_transports(tmp_path, mode):
    async with running_server(tmp_path, BOT_MODE=mode) as client:
        await journey(client)
        messages = client.api.messages(USER)
        photo = [m for m in messages if m.kind == "photo"]
        assert len(photo) == 1 and "«test»" in photo[0].text
        assert [label for row in photo[0].buttons for label, _ in row] == ["🔁 Ещё раз", "🏠 Меню", "📄 Оригинал"]
        progress = [m for m in messages if m.text and m.text.startswith("✅ Готово: Z-Image")]
        assert len(progress) == 1 and progress[0].edits >= 1  # the confirmation became the progress message
        assert await client.server.app.storage.ledger.balance(USER) == 10000 - 80
        assert len(client.api.calls("answerCallbackQuery")) == 3


async def test_webhook_mode_registers_the_webhook_without_dropping_updates(tmp_path):
    async with running_server(tmp_path) as client:
        (call,) = client.api.calls("setWebhook")
        assert call.params["url"] == f"https://bot.example/webhook/{SECRET_PATH}"
        assert call.params["secret_token"] == SECRET_TOKEN
        assert set(call.params["allowed_updates"]) == {"message", "callback_query", "pre_checkout_query", "my_chat_member"}
        assert not call.params.get("drop_pending_updates")


async def test_polling_mode_deletes_the_webhook_keeping_pending_updates(tmp_path):
    async with running_server(tmp_path, BOT_MODE="polling") as client:
        await client.say(USER, "/start")
        (call,) = client.api.calls("deleteWebhook")
        assert not call.params.get("drop_pending_updates")
        assert client.api.messages(USER)[-1].text.startswith("👋 Привет")


async def test_health_reports_the_runbook_fields_from_memory(tmp_path):
    async with running_server(tmp_path) as client:
        async with client.http.get(f"{client.base}/health") as response:
            body = await response.json()
        assert response.status == 200
        assert body["ok"] is True and body["mode"] == "active" and body["lock_acquired"] is True
        assert body["ts"].endswith("Z") and body["bot_mode"] == "webhook" and body["storage"] == "json"
        assert {"version", "uptime_s", "inbox_depth", "jobs_in_flight"} <= set(body)
        assert body["kie"]["state"] == "ok" and body["kie"]["accepting"] is True


@pytest.mark.parametrize(
    "path, token, body, status",
    [
        ("wrong-path-xyz", SECRET_TOKEN, b'{"update_id": 1}', 404),
        (SECRET_PATH, "wrong_token", b'{"update_id": 1}', 403),
        (SECRET_PATH, None, b'{"update_id": 1}', 403),
        (SECRET_PATH, SECRET_TOKEN, b"{not json", 400),
        (SECRET_PATH, SECRET_TOKEN, b'{"message": {}}', 400),
        (SECRET_PATH, SECRET_TOKEN, b"[1, 2]", 400),
        (SECRET_PATH, SECRET_TOKEN, b'{"update_id": "7"}', 400),
        (SECRET_PATH, SECRET_TOKEN, b'{"update_id": 1, "pad": "' + b"x" * (1024 * 1024) + b'"}', 413),
    ],
)
async def test_bad_webhook_requests_are_rejected_cleanly(tmp_path, path, token, body, status):
    async with running_server(tmp_path) as client:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = token
        async with client.http.post(f"{client.base}/webhook/{path}", data=body, headers=headers) as response:
            assert response.status == status
        assert client.server.dispatcher.pending == 0
        assert client.api.calls("sendMessage") == []


async def test_a_repeated_update_is_acknowledged_and_processed_once(tmp_path):
    async with running_server(tmp_path) as client:
        update = message_update(USER, "/start")
        assert [await client.post_update(update) for _ in range(3)] == [200, 200, 200]
        await client.settle()
        assert len(client.api.messages(USER)) == 1


async def test_the_webhook_acknowledges_before_processing_and_processes_afterwards(tmp_path):
    async with running_server(tmp_path) as client:
        messenger = client.server.app.core.messenger
        send, released = messenger.apply, asyncio.Event()

        async def held_apply(effects):  # Telegram cannot take our reply until the test says so
            await released.wait()
            return await send(effects)

        messenger.apply = held_apply
        async with asyncio.timeout(10):  # would hang if the ack waited for the reply (timings: bench/)
            assert await client.post_update(message_update(USER, "/start")) == 200
        assert client.api.messages(USER) == []
        released.set()
        await client.settle()
        assert client.api.messages(USER)[-1].text.startswith("👋 Привет")


async def test_one_chat_is_processed_in_order_while_chats_run_concurrently(tmp_path):
    async with running_server(tmp_path) as client:
        updates = [message_update(user, text) for user in (1, 2, 3) for text in ("/start", "/balance", "/help")]
        statuses = await asyncio.gather(*(client.post_update(u) for u in updates))
        assert set(statuses) == {200}
        await client.settle()
        for user in (1, 2, 3):
            texts = [m.text for m in client.api.messages(user)]
            assert texts[0].startswith("👋") and texts[1].startswith("💰") and texts[2].startswith("❓")


async def test_a_429_from_telegram_is_waited_out_and_the_reply_arrives(tmp_path):
    async with running_server(tmp_path) as client:
        client.api.fail_next("sendMessage", 429, retry_after=1)
        await client.say(USER, "/start")
        assert client.api.messages(USER)[-1].text.startswith("👋 Привет")
        assert len(client.api.calls("sendMessage")) == 2


async def test_a_user_who_blocked_the_bot_is_marked_and_not_retried(tmp_path):
    async with running_server(tmp_path) as client:
        client.api.block_user(USER)
        await client.say(USER, "/start")
        user = await client.server.app.storage.users.get(USER)
        assert user.blocked is True
        assert len(client.api.calls("sendMessage")) == 1


async def test_an_exception_in_a_handler_apologises_and_the_worker_goes_on(tmp_path, caplog):
    async with running_server(tmp_path) as client:
        original = client.server.app.storage.ledger.balance

        async def broken(user_id):
            raise RuntimeError("ledger exploded")

        client.server.app.storage.ledger.balance = broken
        await client.say(USER, "/balance")  # /start shows the balance read with the user: /balance reads it again
        assert client.api.messages(USER)[-1].text.startswith("😔 Что-то пошло не так")
        assert "EXCEPTION_CAUGHT" in caplog.text and "error_type=RuntimeError" in caplog.text
        client.server.app.storage.ledger.balance = original
        await client.say(USER, "/start")
        assert client.api.messages(USER)[-1].text.startswith("👋 Привет")


async def test_a_stale_button_gets_a_toast_and_the_current_menu(tmp_path):
    async with running_server(tmp_path) as client:
        await client.say(USER, "/start")
        menu = client.last_with_buttons(USER)
        assert await client.post_update(callback_update(USER, "bot_kie:old:button", menu.message_id)) == 200
        await client.settle()
        (answer,) = client.api.calls("answerCallbackQuery")
        assert answer.params["text"] == "Меню обновилось"
        assert client.api.messages(USER)[0].text.startswith("🔄 Меню обновилось")


async def test_too_many_presses_get_a_polite_toast(tmp_path):
    async with running_server(tmp_path, RATE_LIMIT_BURST="2", RATE_LIMIT_PER_SECOND="0.01") as client:
        await client.say(USER, "/start")
        menu = client.last_with_buttons(USER)
        for _ in range(3):
            await client.post_update(callback_update(USER, "help", menu.message_id))
        await client.settle()
        toasts = [c.params.get("text") for c in client.api.calls("answerCallbackQuery")]
        assert "⏳ Слишком быстро, подождите секунду." in toasts


@pytest.mark.slow
async def test_the_job_keeps_the_cid_of_the_update_that_launched_it(tmp_path, caplog):
    caplog.set_level("INFO")
    async with running_server(tmp_path) as client:
        await journey(client)
        job = (await client.server.app.storage.jobs.for_user(USER))[0]
        assert job.state is JobState.DELIVERED and job.cid not in ("", "-")
        launch_lines = [r for r in caplog.records if getattr(r, "cid", None) == job.cid or f"cid={job.cid}" in r.getMessage()]
        assert any("CALLBACK_ACCEPTED" in r.getMessage() for r in launch_lines)
        job_lines = [line for line in caplog.text.splitlines() if f"job={job.id}" in line]
        # Every line about the job, from submission to delivery, carries the launch's cid (KIE_SUBMIT too).
        assert [line.split(": ")[1].split()[0] for line in job_lines if ": JOB_" in line] == ["JOB_SUBMITTED", "JOB_DELIVERED"]
        assert job_lines and all(f"cid={job.cid}" in line for line in job_lines)


async def test_a_slow_handler_still_answers_the_button_while_it_works(tmp_path):
    async with running_server(tmp_path) as client:
        await client.say(USER, "/start")
        storage = client.server.app.storage
        original, released = storage.ledger.entries, asyncio.Event()

        async def slow_entries(user_id, limit=20):
            await released.wait()  # the handler is stuck until the button has been answered
            return await original(user_id, limit)

        storage.ledger.entries = slow_entries
        menu = client.last_with_buttons(USER)
        assert await client.post_update(callback_update(USER, "balance", menu.message_id)) == 200
        async with asyncio.timeout(10):  # answered after CALLBACK_ANSWER_WITHIN (0.8 s); timings: bench/
            while not client.api.calls("answerCallbackQuery"):
                await asyncio.sleep(0.02)
        assert not client.api.calls("editMessageText")  # answered while the handler still works
        released.set()
        await client.settle()
        assert client.api.messages(USER)[0].text.startswith("💰 Баланс")
        assert len(client.api.calls("answerCallbackQuery")) == 1


@pytest.mark.slow
async def test_a_photo_sent_in_telegram_is_fetched_uploaded_and_used(tmp_path):
    from adapters.kie.fake_media import png_bytes

    async with running_server(tmp_path) as client:
        await client.say(USER, "/start")
        await client.press(USER, "Инструменты")
        await client.press(USER, "Удалить фон")
        client.api.add_file("photo-file-1", png_bytes("cat"))
        sizes = [{"file_id": "photo-file-1", "file_unique_id": "u1", "width": 256, "height": 256, "file_size": 1000}]
        update = message_update(USER, "")
        update["message"].pop("text")
        update["message"]["photo"] = sizes
        assert await client.post_update(update) == 200
        await client.settle()
        assert client.last_with_buttons(USER).text.startswith("🧾 Проверьте заказ")
        await client.press(USER, "Запустить")
        (upload,) = client.server.app.gateway.uploads
        assert upload.size == len(png_bytes("cat")) and upload.mime_type == "image/png"
        job = (await client.server.app.storage.jobs.for_user(USER))[0]
        assert job.input["image"] == upload.url and job.state is JobState.DELIVERED
        [result] = [m for m in client.api.messages(USER) if m.kind in ("photo", "document")]
        assert result.kind == "document" and "прозрачный фон" in result.text  # a cut-out keeps its transparency


@pytest.mark.slow
async def test_a_graceful_stop_lets_the_running_handler_finish(tmp_path):
    async with running_server(tmp_path) as client:
        storage = client.server.app.storage
        original, running = storage.ledger.balance, asyncio.Event()

        async def slow_balance(user_id):
            running.set()
            await asyncio.sleep(1.0)
            return await original(user_id)

        storage.ledger.balance = slow_balance
        assert await client.post_update(message_update(USER, "/balance")) == 200  # /balance reads the ledger
        async with asyncio.timeout(10):
            await running.wait()  # the handler is running now (no guess at how long that takes)
        await client.server.stop(grace=5)
        title = Fmt("ru", client.server.app.services.settings.prices.currency).t("balance.title", balance="\x00")
        assert client.api.messages(USER)[-1].text.startswith(title.split("\x00")[0])  # the balance screen
        assert client.server.dispatcher.pending == 0
