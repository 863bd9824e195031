"""The terminal simulator: the real core on the fake generator and JSON storage, in a terminal.

    python -m entrypoints.simulator [--user 1001] [--lang ru|en] [--balance 100] [--data-dir ./data]

Screens are printed with numbered buttons; a number presses a button, other text is sent as a message,
/photo PATH sends an image. Results appear as file paths. Needs no environment variables.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from decimal import Decimal
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.patch_stdout import patch_stdout

from adapters.system.files import LocalFileReader
from core.i18n import resolve_language
from core.money import format_money
from entrypoints.settings import SettingsError, load_settings
from entrypoints.simulator_chat import SimulatedChat
from entrypoints.simulator_driver import HELP, SimulatorDriver, SimulatorError
from entrypoints.wiring import App, build_app
from ports.catalog import CatalogError
from ports.events import UserRef
from ports.storage import StorageUnavailableError

DEFAULT_SIMULATOR_BALANCE = Decimal("100")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m entrypoints.simulator", description=__doc__.split("\n\n")[0])
    parser.add_argument("--user", type=int, default=1001, help="simulated Telegram user id (default 1001)")
    parser.add_argument("--lang", choices=("ru", "en"), help="the user's language (default: DEFAULT_LANGUAGE, ru)")
    parser.add_argument(
        "--balance", type=Decimal, default=None,
        help=f"starting balance of a new user in major units (default {DEFAULT_SIMULATOR_BALANCE}, or WELCOME_BALANCE)",
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="where state and files live (default DATA_DIR or ./data)")
    parser.add_argument("--speed", type=float, default=None, help="fake generator speed-up (default 1 = realistic seconds)")
    parser.add_argument("--name", default="Tester", help="the user's first name")
    return parser.parse_args(argv)


async def status_line(app: App, user_id: int) -> str:
    user = await app.storage.users.get(user_id)
    language = resolve_language(user.language if user else None, user.language_code if user else None, app.settings.DEFAULT_LANGUAGE)
    balance = await app.storage.ledger.balance(user_id) if user else 0
    money = format_money(balance, app.services.settings.prices.currency, language)
    return f" user {user_id} · {language} · balance {money} · jobs running {app.runner.in_flight} · /quit to leave"


async def run(args: argparse.Namespace) -> int:
    env = dict(os.environ)
    balance = args.balance if args.balance is not None else (None if env.get("WELCOME_BALANCE") else DEFAULT_SIMULATOR_BALANCE)
    try:
        settings = load_settings(
            env, DATA_DIR=args.data_dir, WELCOME_BALANCE=balance, FAKE_KIE_SPEED=args.speed, KIE_MODE="fake"
        )
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    chat = SimulatedChat(output=lambda text: print(text + "\n"))
    user = UserRef(args.user, language_code=args.lang or settings.DEFAULT_LANGUAGE, first_name=args.name)
    async with build_app(settings, messenger=chat, media=LocalFileReader()) as app:
        driver = SimulatorDriver(app.core, chat, user)
        status = {"text": ""}
        session: PromptSession[str] = PromptSession()

        async def refresh() -> None:
            while True:
                status["text"] = await status_line(app, user.id)
                session.app.invalidate()
                await asyncio.sleep(0.5)

        print(HELP + "\n")
        with patch_stdout():
            await driver.send("/start")
            if args.lang:
                await app.storage.users.set_language(user.id, args.lang)
            refresher = asyncio.create_task(refresh())
            try:
                while True:
                    line = await session.prompt_async("> ", bottom_toolbar=lambda: status["text"])
                    if line.strip() in ("/quit", "/exit"):
                        break
                    if not line.strip():
                        continue
                    try:
                        await driver.send(line)
                    except SimulatorError as error:
                        print(f"⚠️ {error}")
            except (EOFError, KeyboardInterrupt):
                pass
            finally:
                refresher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await refresher
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        return asyncio.run(run(parse_args(argv)))
    except (StorageUnavailableError, CatalogError) as error:
        print(f"cannot start: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
