"""Black-box check of a running deployment (the runbook's "Post-Release" smoke test):

    python scripts/smoke.py --url https://<app>.onrender.com [--secret-path P --secret-token T] [--n 20]

Checks /health (schema, mode), 404 on a wrong webhook path, and — given the secret path and token —
403 on a wrong or missing secret, 400 on a malformed body, and webhook fast-ack p50/p95 over N harmless
updates (an edited-message update the bot stores and ignores, with an id no real update can have).
Exits 1 if any check fails. Sends nothing to users.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from entrypoints.smoke_checks import Check, check_fast_ack, check_health, check_rejections, report  # noqa: E402


async def run(url: str, path: str | None, token: str | None, n: int) -> list[Check]:
    base = url.rstrip("/")
    timeout = aiohttp.ClientTimeout(total=15)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        checks = [await check_health(http, base)]
        checks += await check_rejections(http, base, path, token)
        if path and token:
            ack, _ = await check_fast_ack(http, base, path, token, n)
            checks.append(ack)
        return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Black-box check of a running bot deployment.")
    parser.add_argument("--url", required=True, help="the service root, e.g. https://trt.onrender.com")
    parser.add_argument("--secret-path", help="WEBHOOK_SECRET_PATH of the deployment")
    parser.add_argument("--secret-token", help="WEBHOOK_SECRET_TOKEN of the deployment")
    parser.add_argument("--n", type=int, default=20, help="harmless updates to time the acknowledgement")
    args = parser.parse_args(argv)
    try:
        checks = asyncio.run(run(args.url, args.secret_path, args.secret_token, args.n))
    except aiohttp.ClientError as error:
        print(f"❌ cannot reach {args.url}: {type(error).__name__}: {error}")
        return 1
    return report(checks)


if __name__ == "__main__":
    sys.exit(main())
