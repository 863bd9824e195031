"""Run the fake Bot API server on its own and chat with the bot through it, offline:

    python -m adapters.telegram.fake_bot_api --port 8081 [--chat 1001] [--lang ru] [--token T] [--no-repl]

Point the bot at it (``TELEGRAM_API_BASE_URL=http://127.0.0.1:8081`` and the printed token) in polling or
webhook mode: it behaves as a local Bot API server (``telegram-bot-api --local``), so a webhook may be
``http://127.0.0.1:PORT`` and updates are POSTed to it. In the terminal, as the user ``--chat``:

    any text      sent as a message (``/start`` too)
    N             press button N of the last message with buttons (numbered as printed)
    /photo PATH [| caption]    send a picture
    /pay          pay the last Stars invoice
    /chat         print the whole chat again
    /quit         stop (Ctrl-D too)

The bot's messages are printed as they arrive or change. Other programs act through the HTTP control API
(:mod:`.control`), e.g. ``curl -d '{"chat": 1001, "text": "/start"}' http://127.0.0.1:8081/_fake/say``.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from adapters.telegram.fake_bot_api import control
from adapters.telegram.fake_bot_api.models import TOKEN
from adapters.telegram.fake_bot_api.server import FakeBotApi

WATCH_S = 0.2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m adapters.telegram.fake_bot_api", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8081, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--token", default=TOKEN, help="the bot token it accepts (default: %(default)s)")
    parser.add_argument("--chat", type=int, default=1001, help="the user id you chat as in the terminal")
    parser.add_argument("--lang", default="ru", help="the user's language_code")
    parser.add_argument("--no-repl", action="store_true", help="no terminal chat: serve the control API only")
    return parser.parse_args(argv)


def render(entry: dict[str, Any], changed: bool) -> str:
    """One chat message for the terminal, buttons numbered as ``press`` counts them."""
    head = "✎ " if changed else ""
    kind = "" if entry["kind"] in ("text", "user") else f"[{entry['kind']}] "
    lines = [f"{'bot' if entry['from'] == 'bot' else 'you'}> {head}{kind}{entry['text']}".rstrip()]
    if "file" in entry:
        lines.append(f"     {entry['file']}")
    if "stars" in entry:
        lines.append(f"     invoice: {entry['stars']} ⭐ — /pay to pay it")
    number = 1
    for row in entry.get("buttons", []):
        cells = []
        for label in row:
            cells.append(f"[{number}] {label}")
            number += 1
        lines.append("     " + "  ".join(cells))
    return "\n".join(lines)


async def watch(api: FakeBotApi, chat_id: int) -> None:
    """Print the bot's messages in ``chat_id`` as they arrive or are edited."""
    seen: dict[int, tuple[int, str]] = {}
    while True:
        for entry in control.chat_json(api, chat_id):
            state = (entry["edits"], entry["text"])
            if entry["from"] == "bot" and seen.get(entry["message_id"]) != state:
                print(render(entry, entry["message_id"] in seen), flush=True)
            seen[entry["message_id"]] = state
        await asyncio.sleep(WATCH_S)


async def act(api: FakeBotApi, line: str, chat_id: int, lang: str) -> str | None:
    """One terminal command; the text to print (an error or a note), or None."""
    try:
        if line.isdigit():
            control.press(api, chat_id, line, lang)
        elif line.startswith("/photo"):
            path, _, caption = line.removeprefix("/photo").partition("|")
            control.send_photo(api, chat_id, Path(path.strip()).expanduser().read_bytes(), caption.strip(), lang)
        elif line == "/pay":
            paid = await control.pay(api, chat_id)
            return f"paid {paid['stars']} ⭐ (charge {paid['charge_id']})"
        elif line == "/chat":
            return "\n".join(render(entry, False) for entry in control.chat_json(api, chat_id)) or "(empty chat)"
        else:
            control.say(api, chat_id, line, lang)
    except (control.UserActionError, OSError) as error:
        return f"! {error}"
    return None


def stdin_lines() -> asyncio.Queue[str]:
    """Lines typed in the terminal ("" at its end), read by a daemon thread so a blocked read never holds up
    the exit (an executor thread would)."""
    loop, lines = asyncio.get_running_loop(), asyncio.Queue[str]()

    def read() -> None:
        while True:
            line = sys.stdin.readline()
            loop.call_soon_threadsafe(lines.put_nowait, line)
            if not line:
                return

    threading.Thread(target=read, name="stdin", daemon=True).start()
    return lines


async def repl(api: FakeBotApi, chat_id: int, lang: str) -> None:
    lines = stdin_lines()
    watcher = asyncio.create_task(watch(api, chat_id))
    try:
        while True:
            line = await lines.get()
            if not line or line.strip() == "/quit":
                return
            if line.strip():
                note = await act(api, line.strip(), chat_id, lang)
                if note:
                    print(note, flush=True)
    finally:
        watcher.cancel()


async def serve(args: argparse.Namespace) -> None:
    async with FakeBotApi(args.token, local=True, deliver_webhooks=True, port=args.port, control=True) as api:
        print(f"fake Bot API on {api.base_url}\n"
              f"  TELEGRAM_API_BASE_URL={api.base_url} TELEGRAM_BOT_TOKEN={api.token}\n"
              f"  control API: {api.base_url}/_fake/ (say, photo, press, pay, chat/<id>)", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        waiters = [asyncio.create_task(stop.wait())]
        if not args.no_repl:
            print(f"chatting as user {args.chat}: type a message, a button number, /photo PATH, /pay, /chat, /quit",
                  flush=True)
            waiters.append(asyncio.create_task(repl(api, args.chat, args.lang)))
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        asyncio.run(serve(args))
    except OSError as error:
        print(f"cannot start: --port {args.port}: {error.strerror or error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
