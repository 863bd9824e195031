"""The send path alone: client CPU per Bot API call for the three ways the bot can make it.

    python bench/peers/send_path.py [--n 2000] [--repeats 3]

- ``httpx+ptb``: PTB's default HTTPXRequest and ``Bot.send_message``/``edit_message_text`` (main before issue 15);
- ``aiohttp+ptb``: adapters/telegram/aiohttp_request.py under the same PTB methods (PTB builds its objects);
- ``aiohttp+json``: adapters/telegram/bot_calls.py, the JSON built by hand (what the messenger does now).

The fake Bot API runs in a child process, so this process's CPU time (os.times) is the client's alone. Each call
is one sendMessage with a 3-button keyboard then one editMessageText, sequentially over keep-alive connections.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import telegram  # noqa: E402
from telegram import InlineKeyboardButton, InlineKeyboardMarkup  # noqa: E402

from adapters.telegram.aiohttp_request import aiohttp_bot  # noqa: E402
from adapters.telegram.bot_calls import BotCalls  # noqa: E402
from adapters.telegram.fake_bot_api import FakeBotApi  # noqa: E402
from adapters.telegram.markup import inline_keyboard_json  # noqa: E402
from ports.screens import Button  # noqa: E402

CHAT = 77
TEXT = "Привет! Выберите раздел:"
KEYBOARD = ((Button("🎨 Картинки и дизайн", data="c:img"), Button("🎬 Видео", data="c:vid")), (Button("💰 Баланс", data="bal"),))


def _serve(queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    async def main() -> None:
        async with FakeBotApi() as api:
            queue.put((api.base_url, api.token))
            await asyncio.Event().wait()

    asyncio.run(main())


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


async def measure(variant: str, base: str, token: str, n: int) -> float:
    """Client CPU ms per call (a sendMessage and an editMessageText count as two)."""
    if variant == "httpx+ptb":
        bot = telegram.Bot(token, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot")
    else:
        bot = aiohttp_bot(token, f"{base}/bot", f"{base}/file/bot")
    ptb_markup = InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.data) for b in row]
                                       for row in KEYBOARD])
    async with bot:
        calls = BotCalls(bot)
        sent = await bot.send_message(CHAT, TEXT)

        counter = iter(range(10**9))

        async def one() -> None:
            edited = f"{TEXT} {next(counter)}"  # a new text each time: an identical edit is refused
            if variant == "aiohttp+json":
                await calls.send_message(CHAT, TEXT, inline_keyboard_json(KEYBOARD))
                await calls.edit_message_text(CHAT, sent.message_id, edited, inline_keyboard_json(KEYBOARD))
            else:
                await bot.send_message(CHAT, TEXT, parse_mode="HTML", reply_markup=ptb_markup)
                await bot.edit_message_text(edited, chat_id=CHAT, message_id=sent.message_id, parse_mode="HTML",
                                            reply_markup=ptb_markup)

        for _ in range(50):
            await one()  # warm: connections, caches
        started = _cpu()
        for _ in range(n):
            await one()
        return (_cpu() - started) * 1000 / (2 * n)


async def main_async(args: argparse.Namespace, base: str, token: str) -> None:
    results: dict[str, list[float]] = {}
    for repeat in range(args.repeats):
        for variant in ("httpx+ptb", "aiohttp+ptb", "aiohttp+json"):
            results.setdefault(variant, []).append(await measure(variant, base, token, args.n))
    first = statistics.median(results["httpx+ptb"])
    for variant, values in results.items():
        median = statistics.median(values)
        print(f"{variant:<13} client CPU {median:.3f} ms/call (runs {', '.join(f'{v:.3f}' for v in values)}); "
              f"{median / first:.2f}x of httpx+ptb")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    server = multiprocessing.Process(target=_serve, args=(queue,), daemon=True)
    server.start()
    try:
        base, token = queue.get(timeout=30)
        asyncio.run(main_async(args, base, token))
    finally:
        server.terminate()
        server.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
