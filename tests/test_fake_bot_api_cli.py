"""``python -m adapters.telegram.fake_bot_api``: the fake Bot API server on its own, with a control API to act as
a user; ``main_render.py`` runs against it offline, as the README's "Run the real server offline" shows."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any, Callable

import aiohttp
import pytest

from adapters.telegram.fake_bot_api import FakeBotApi
from adapters.telegram.fake_bot_api.__main__ import act, render
from tests.test_main_render import ROOT, free_port, start_bot, wait_healthy

USER = 4242


async def start_fake(port: int) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "adapters.telegram.fake_bot_api", "--port", str(port), "--no-repl", cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )


class User:
    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base = http, base

    async def do(self, action: str, **body: Any) -> dict[str, Any]:
        async with self.http.post(f"{self.base}/_fake/{action}", json={"chat": USER, **body}) as response:
            answer = await response.json()
        assert response.status == 200 and answer["ok"], answer
        return answer

    async def chat(self) -> list[dict[str, Any]]:
        async with self.http.get(f"{self.base}/_fake/chat/{USER}") as response:
            return (await response.json())["messages"]

    async def wait_for(self, found: Callable[[list[dict[str, Any]]], bool], timeout: float = 20) -> list[dict[str, Any]]:
        async with asyncio.timeout(timeout):
            while not found(messages := await self.chat()):
                await asyncio.sleep(0.05)
        return messages


def has_button(part: str) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda messages: any(part in label for m in messages for row in m.get("buttons", []) for label in row)


@pytest.mark.slow
async def test_the_entry_point_lets_a_user_drive_the_bot_from_start_to_the_picture(tmp_path):
    fake_port, bot_port = free_port(), free_port()
    fake = await start_fake(fake_port)
    base = f"http://127.0.0.1:{fake_port}"
    bot = None
    try:
        async with aiohttp.ClientSession() as http:
            user = User(http, base)
            async with asyncio.timeout(20):
                while True:
                    try:
                        await user.chat()
                        break
                    except aiohttp.ClientError:
                        await asyncio.sleep(0.05)
            env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DATA_DIR": str(tmp_path / "data"),
                   "TELEGRAM_BOT_TOKEN": "123456789:TEST-fake-bot-token", "TELEGRAM_API_BASE_URL": base,
                   "BOT_MODE": "polling", "PORT": str(bot_port), "KIE_MODE": "fake", "FAKE_KIE_SPEED": "50",
                   "WELCOME_BALANCE": "100", "FREE_DAILY_LIMIT": "0"}
            bot = await start_bot(env)
            await wait_healthy(f"http://127.0.0.1:{bot_port}", bot)
            await user.do("say", text="/start")
            await user.wait_for(has_button("Картинки и дизайн"))
            await user.do("press", button="Картинки и дизайн")
            await user.wait_for(has_button("Z-Image"))
            await user.do("press", button="Z-Image")
            await user.wait_for(lambda messages: not has_button("Z-Image")(messages))  # the list became the card
            await user.do("say", text="test")
            await user.wait_for(has_button("Запустить"))
            await user.do("press", button="Запустить")
            messages = await user.wait_for(lambda ms: any(m["kind"] == "photo" for m in ms))
    finally:
        for process in (bot, fake):
            if process is not None and process.returncode is None:
                process.terminate()
                async with asyncio.timeout(30):
                    await process.communicate()
    photo = [m for m in messages if m["kind"] == "photo"]
    assert len(photo) == 1 and "«test»" in photo[0]["text"] and photo[0]["file"]["bytes"] > 0
    assert [m["text"] for m in messages if m["from"] == "user"][:2] == ["/start", "test"]
    assert fake.returncode == 0 and bot is not None and bot.returncode == 0


async def test_terminal_commands_act_as_the_user_and_say_what_cannot_be_done():
    async with FakeBotApi() as api:
        assert await act(api, "1", USER, "ru") == "! no message with buttons in this chat"
        assert await act(api, "/pay", USER, "ru") == "! no invoice in this chat"
        assert (await act(api, "/photo /nonexistent/cat.png | blue", USER, "ru")).startswith("! ")
        assert await act(api, "/start", USER, "ru") is None
        [update] = api.pending_updates
        assert update["message"]["text"] == "/start" and update["message"]["from"]["language_code"] == "ru"


def test_a_message_prints_with_its_buttons_numbered_in_order():
    entry = {"from": "bot", "kind": "text", "text": "Меню", "buttons": [["a", "b"], ["c"]], "message_id": 1, "edits": 0}
    assert render(entry, False).splitlines() == ["bot> Меню", "     [1] a  [2] b", "     [3] c"]


async def test_acting_as_a_user_pays_an_invoice_and_sends_a_photo_the_bot_reads(tmp_path):
    from adapters.kie.fake_media import png_bytes
    from adapters.telegram.fake_bot_api import control
    from entrypoints.fake_stack import running_server

    async with running_server(tmp_path, BOT_MODE="polling") as client:
        api = client.api
        for step in (lambda: control.say(api, USER, "/start"), lambda: control.say(api, USER, "/balance"),
                     lambda: control.press(api, USER, "Пополнить"), lambda: control.press(api, USER, "⭐ 100")):
            step()
            await client.settle()
        paid = await control.pay(api, USER)
        await client.settle()
        assert paid["stars"] == 100 and api.charge(paid["charge_id"]) is not None
        assert any((m.text or "").startswith("✅ Оплата получена") for m in api.messages(USER))
        assert await client.server.app.storage.ledger.balance(USER) == 10000 + 15000
        await client.say(USER, "/start")
        await client.press(USER, "Картинки и дизайн")
        await client.press(USER, "Nano Banana (")  # the family's button
        await client.press(USER, "Nano Banana: правка фото")  # a model that takes a photo and a description
        control.send_photo(api, USER, png_bytes("cat"), "make it blue")
        await client.settle()
        confirmation = client.last_with_buttons(USER)  # the photo and its caption were taken: ready to launch
        assert "make it blue" in (confirmation.text or "")
        assert any("Запустить" in label for row in confirmation.buttons for label, _ in row)
