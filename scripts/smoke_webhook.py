"""Offline release check (the runbook's "Pre-Release" first line): boots the bot in-process in webhook
mode against a fake Telegram Bot API server and the fake generator, then checks /health, webhook fast-ack
timing, secret and path rejection, and the runbook journey /start → cat:image → model → "test" →
Запустить → a picture. Prints one line per check; exits 1 if any fails.

    python scripts/smoke_webhook.py [--acks 50]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from entrypoints.fake_stack import SECRET_PATH, SECRET_TOKEN, Client, running_server  # noqa: E402
from entrypoints.smoke_checks import Check, check_fast_ack, check_health, check_rejections, report  # noqa: E402

USER = 777_000_001


async def journey(client: Client) -> Check:
    """The runbook's E2E: what the user sees at each step, ending with the picture."""
    try:
        await client.say(USER, "/start")
        await client.press(USER, "Картинки и дизайн")
        await client.press(USER, "Z-Image")
        await client.say(USER, "test")
        await client.press(USER, "Запустить")
    except (LookupError, TimeoutError) as error:
        return Check("E2E /start → cat:image → model → test → Запустить", False, f"stuck: {type(error).__name__}")
    photos = [m for m in client.api.messages(USER) if m.kind == "photo"]
    ok = len(photos) == 1 and "«test»" in (photos[0].text or "")
    return Check("E2E /start → cat:image → model → test → Запустить", ok, f"{len(photos)} picture(s) delivered")


async def run(acks: int) -> list[Check]:
    with tempfile.TemporaryDirectory(prefix="trt-smoke-") as directory:
        async with running_server(Path(directory), LOG_LEVEL="WARNING") as client:
            checks = [await check_health(client.http, client.base)]
            ack, _ = await check_fast_ack(client.http, client.base, SECRET_PATH, SECRET_TOKEN, acks)
            checks.append(ack)
            checks += await check_rejections(client.http, client.base, SECRET_PATH, SECRET_TOKEN)
            checks.append(await journey(client))
            return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--acks", type=int, default=50, help="updates posted to time the acknowledgement")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    checks = asyncio.run(run(args.acks))
    return report(checks)


if __name__ == "__main__":
    sys.exit(main())
