"""The aiogram peer: a minimal aiogram 3 bot as its docs write one, webhook mode with aiogram's own aiohttp
integration (``SimpleRequestHandler``: answers 200 at once and handles the update in the background). aiogram's
own transport (``AiohttpSession``) pointed at the fake Bot API. Stores nothing. Runs in bench/.venv-peers.

    python bench/peers/aiogram_bot.py PORT API_BASE_URL TOKEN SECRET
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from aiogram import Bot, Dispatcher, Router  # noqa: E402
from aiogram.client.session.aiohttp import AiohttpSession  # noqa: E402
from aiogram.client.telegram import TelegramAPIServer  # noqa: E402
from aiogram.filters import CommandStart  # noqa: E402
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message  # noqa: E402
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application  # noqa: E402
from aiohttp import web  # noqa: E402

from screens import BUTTONS, ROWS, START_TEXT, pressed_text  # noqa: E402

KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[[InlineKeyboardButton(text=BUTTONS[i][0], callback_data=BUTTONS[i][1]) for i in row] for row in ROWS]
)
router = Router()


@router.message(CommandStart())
async def start(message: Message) -> None:
    await message.answer(START_TEXT, reply_markup=KEYBOARD)


@router.callback_query()
async def press(query: CallbackQuery) -> None:
    await query.answer()
    await query.message.edit_text(pressed_text(query.data), reply_markup=KEYBOARD)


async def main(port: int, base: str, token: str, secret: str) -> None:
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(base)))
    dispatcher = Dispatcher()
    dispatcher.include_router(router)

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "mode": "active"})

    app = web.Application()
    SimpleRequestHandler(dispatcher=dispatcher, bot=bot, secret_token=secret).register(app, path="/webhook/{path}")
    app.router.add_get("/health", health)
    setup_application(app, dispatcher, bot=bot)
    runner = web.AppRunner(app, access_log=None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]))
