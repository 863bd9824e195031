"""The python-telegram-bot peer: a minimal bot as PTB's docs write one, webhook mode on aiohttp (PTB's custom
webhook pattern: the route puts ``Update.de_json`` on ``application.update_queue`` and answers 200 at once).
PTB's own transport (HTTPXRequest) and defaults, except ``concurrent_updates(True)`` so updates of different
users are handled concurrently, as the other targets do. Stores nothing.

    python bench/peers/ptb_bot.py PORT API_BASE_URL TOKEN SECRET
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from aiohttp import web  # noqa: E402
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update  # noqa: E402
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes  # noqa: E402

from screens import BUTTONS, ROWS, START_TEXT, pressed_text  # noqa: E402

KEYBOARD = InlineKeyboardMarkup(
    [[InlineKeyboardButton(BUTTONS[i][0], callback_data=BUTTONS[i][1]) for i in row] for row in ROWS]
)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text(START_TEXT, reply_markup=KEYBOARD)


async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await query.answer()
    await query.edit_message_text(pressed_text(query.data), reply_markup=KEYBOARD)


async def main(port: int, base: str, token: str, secret: str) -> None:
    application = (Application.builder().token(token).base_url(f"{base}/bot").base_file_url(f"{base}/file/bot")
                   .updater(None).concurrent_updates(True).build())
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(press))

    async def webhook(request: web.Request) -> web.Response:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != secret:
            return web.Response(status=403)
        await application.update_queue.put(Update.de_json(await request.json(), application.bot))
        return web.Response()

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "mode": "active"})

    app = web.Application()
    app.router.add_post("/webhook/{path}", webhook)
    app.router.add_get("/health", health)
    runner = web.AppRunner(app, access_log=None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with application:
        await application.start()
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await stop.wait()
        await runner.cleanup()
        await application.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]))
