"""Checks of a running bot over HTTP, as the runbook's verification steps describe them: /health, the
webhook's rejections, and acknowledgement timing. Used by scripts/smoke.py (a deployed bot),
scripts/smoke_webhook.py (an in-process bot on fakes) and the tests."""

from __future__ import annotations

import itertools
import secrets
import statistics
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ACK_LIMIT_MS = 200.0  # the runbook's fast-ack promise
# Probe updates use ids far above Telegram's (which start near 10^8 and grow by one per update), so a
# probe can never shadow a real update in the inbox's duplicate check.
PROBE_ID_BASE = 1 << 40

_ids = itertools.count(int(time.time() * 1000) % 10**9)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""

    def line(self) -> str:
        return f"{'✅' if self.ok else '❌'} {self.name}" + (f": {self.detail}" if self.detail else "")


def report(checks: list[Check]) -> int:
    """Print one line per check and a total; the exit status (1 when any check failed)."""
    for check in checks:
        print(check.line())
    failed = [c for c in checks if not c.ok]
    print(f"{len(checks) - len(failed)}/{len(checks)} checks passed")
    return 1 if failed else 0


def user_json(user_id: int, language: str = "ru") -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": f"User{user_id}", "language_code": language}


def message_update(user_id: int, text: str, language: str = "ru") -> dict[str, Any]:
    message = {
        "message_id": next(_ids), "date": int(time.time()), "text": text,
        "chat": {"id": user_id, "type": "private"}, "from": user_json(user_id, language),
    }
    return {"update_id": next(_ids), "message": message}


def callback_update(user_id: int, data: str, message_id: int, language: str = "ru") -> dict[str, Any]:
    query = {
        "id": f"cb{next(_ids)}", "from": user_json(user_id, language), "chat_instance": "1", "data": data,
        "message": {"message_id": message_id, "date": int(time.time()), "chat": {"id": user_id, "type": "private"}},
    }
    return {"update_id": next(_ids), "callback_query": query}


def probe_update() -> dict[str, Any]:
    """A harmless update the bot stores and ignores (an edit of an old message)."""
    update = message_update(1, "smoke probe")
    return {"update_id": PROBE_ID_BASE + secrets.randbelow(1 << 30), "edited_message": update["message"]}


async def check_health(http: aiohttp.ClientSession, base: str) -> Check:
    try:
        async with http.get(f"{base}/health") as response:
            body = await response.json(content_type=None)
    except (aiohttp.ClientError, ValueError) as error:
        return Check("health", False, f"{type(error).__name__}: {error}")
    problems = []
    if response.status != 200:
        problems.append(f"HTTP {response.status}")
    if body.get("ok") is not True:
        problems.append("ok is not true")
    if body.get("mode") not in ("active", "passive"):
        problems.append(f"mode={body.get('mode')!r}")
    if not isinstance(body.get("lock_acquired"), bool):
        problems.append("lock_acquired is not a boolean")
    if not str(body.get("ts", "")).endswith("Z"):
        problems.append("ts is not ISO-8601 UTC ending in Z")
    detail = "; ".join(problems) or f"mode={body['mode']} lock_acquired={body['lock_acquired']} bot_mode={body.get('bot_mode')}"
    return Check("health", not problems, detail)


async def post_update(
    http: aiohttp.ClientSession, base: str, path: str, token: str | None, body: bytes | dict[str, Any]
) -> int:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers[SECRET_HEADER] = token
    kwargs: dict[str, Any] = {"json": body} if isinstance(body, dict) else {"data": body}
    if isinstance(body, dict):
        headers.pop("Content-Type")
    async with http.post(f"{base}/webhook/{path}", headers=headers, **kwargs) as response:
        return response.status


async def check_rejections(http: aiohttp.ClientSession, base: str, path: str | None, token: str | None) -> list[Check]:
    """Wrong path → 404; with the real path: wrong or missing secret → 403, malformed body → 400."""
    checks = []
    status = await post_update(http, base, "not-the-secret-" + secrets.token_hex(4), token or "x", probe_update())
    checks.append(Check("unknown webhook path → 404", status == 404, f"got {status}"))
    if path is not None:
        status = await post_update(http, base, path, "wrong_" + secrets.token_hex(8), probe_update())
        checks.append(Check("wrong secret token → 403", status == 403, f"got {status}"))
        status = await post_update(http, base, path, None, probe_update())
        checks.append(Check("missing secret token → 403", status == 403, f"got {status}"))
    if path is not None and token is not None:
        status = await post_update(http, base, path, token, b"{not json")
        checks.append(Check("malformed JSON → 400", status == 400, f"got {status}"))
    return checks


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


async def check_fast_ack(
    http: aiohttp.ClientSession, base: str, path: str, token: str, count: int = 20
) -> tuple[Check, list[float]]:
    """``count`` harmless updates posted one after another; p50/p95/p99 of the time to a 200 (the check
    holds the p95 to the runbook's 200 ms)."""
    times, statuses = [], []
    for _ in range(count):
        started = time.perf_counter()
        statuses.append(await post_update(http, base, path, token, probe_update()))
        times.append((time.perf_counter() - started) * 1000)
    p50, p95, p99 = statistics.median(times), percentile(times, 0.95), percentile(times, 0.99)
    ok = set(statuses) == {200} and p95 < ACK_LIMIT_MS
    detail = f"n={count} p50={p50:.1f} ms p95={p95:.1f} ms p99={p99:.1f} ms max={max(times):.1f} ms (limit {ACK_LIMIT_MS:.0f} ms)"
    if set(statuses) != {200}:
        detail += f"; statuses {sorted(set(statuses))}"
    return Check("webhook fast-ack", ok, detail), times
