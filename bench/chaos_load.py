"""Steady load for bench/chaos.py: simulated users doing journeys back to back over webhooks spread across the
instances, and the load balancer in front of them.

- An image journey is bench/journey.py's (/start → category → Z-Image → prompt → 🚀 Запустить → picture: a paid
  launch). A top-up journey is /start → 💰 Баланс → 💳 Пополнить → ⭐ 100 → the invoice → the pre-checkout query (answered) →
  the successful payment (credited, receipt). A share (--topup-share) of journeys are top-ups.
- The balancer posts each update to a random instance; a connection error or 502/503/504 is retried at once on
  another instance, then with backoff once all have failed (a load balancer with health checks, and Telegram's
  redelivery, do both), until ``deadline`` seconds. For every acknowledged update it keeps when it was first
  posted, which instance acknowledged it and that instance's role then (leader or follower).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.chaos_cluster import Node, RoleWatch
from bench.common import SECRET_HEADER, SECRET_PATH, SECRET_TOKEN, TimedBotApi
from bench.journey import Recorder, User, has_button, text_update
from entrypoints.smoke_checks import user_json

BALANCE = "Баланс"
TOPUP = "Пополнить"
PACKAGE = "⭐ 100 →"  # the arrow keeps "⭐ 1000 →" out
STARS = 100
RECEIPT = "Оплата получена"


@dataclass
class Posted:
    update: dict[str, Any]
    first_at: float  # perf_counter of the first attempt
    acked_at: float
    target: str  # the instance that acknowledged it
    role: str  # its role when it did ("leader", "follower")

    @property
    def chat(self) -> int:
        update = self.update
        for kind in ("callback_query", "pre_checkout_query"):
            if kind in update:
                return update[kind]["from"]["id"]
        return update["message"]["chat"]["id"]


class Balancer:
    def __init__(self, http: aiohttp.ClientSession, nodes: list[Node], watch: RoleWatch, rng: random.Random,
                 deadline: float) -> None:
        self.http, self.nodes, self.watch, self.rng, self.deadline = http, nodes, watch, rng, deadline
        self.posted: dict[int, Posted] = {}
        self.attempts: Counter[str] = Counter()  # HTTP status of every attempt ("0": connection error)

    async def post(self, update: dict[str, Any]) -> int:
        body = json.dumps(update).encode()
        headers = {SECRET_HEADER: SECRET_TOKEN, "Content-Type": "application/json"}
        started = time.perf_counter()
        status, backoff, untried = 0, 0, []
        while time.perf_counter() - started < self.deadline:
            if not untried:
                untried = self.rng.sample(self.nodes, len(self.nodes))
            node = untried.pop()
            role = self.watch.current.get(node.name, "down")
            try:
                async with self.http.post(f"http://127.0.0.1:{node.port}/webhook/{SECRET_PATH}", data=body,
                                          headers=headers) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            self.attempts[str(status)] += 1
            if status == 200:
                self.posted.setdefault(update["update_id"], Posted(update, started, time.perf_counter(), node.name, role))
                return 200
            if status not in (0, 502, 503, 504):
                return status
            if not untried:  # every instance failed once: back off before the next round
                await asyncio.sleep(min(0.05 * 2**backoff, 1.0) * self.rng.uniform(0.5, 1.0))
                backoff += 1
        return status


@dataclass
class Tally:
    topups: int = 0
    browsed: int = 0  # journeys to the launch screen (the scale runs)
    topups_stuck: Counter[str] = field(default_factory=Counter)


class ChaosUser(User):
    """bench/journey.py's user, plus the top-up journey."""

    def __init__(self, *args: Any, tally: Tally, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tally = tally

    async def browse(self, prompt: str) -> bool:
        """The image journey up to the launch screen, without launching: the update load with no KIE in it."""
        if not await self.to_launch_screen(prompt):
            return False
        self.tally.browsed += 1
        return True

    async def topup(self) -> bool:
        for step in (self._start_topup, self._pay):
            if not await step():
                return False
        self.tally.topups += 1
        return True

    async def _start_topup(self) -> bool:
        api, user = self.api, self.id
        if not await self._step(text_update(user, "/start", self.tag), lambda: has_button(api, user, BALANCE), "t-start"):
            return False
        if not await self._press(BALANCE, lambda: has_button(api, user, TOPUP), "t-balance"):
            return False
        if not await self._press(TOPUP, lambda: has_button(api, user, PACKAGE), "t-topup"):
            return False
        since = time.perf_counter()
        return await self._press(PACKAGE, lambda: self._invoice_since(since), "t-package")

    def _invoice_since(self, since: float) -> bool:
        return any(e.method == "sendinvoice" and e.at >= since for e in self.api.by_chat.get(self.id, ()))

    async def _pay(self) -> bool:
        api, user = self.api, self.id
        invoice = next((m for m in reversed(api.messages(user)) if m.kind == "invoice" and m.invoice), None)
        if invoice is None:
            self.tally.topups_stuck["no invoice"] += 1
            return False
        pre_checkout, paid = api.pay_invoice(user, invoice.invoice["payload"], STARS, user=user_json(user))
        api.register_update(pre_checkout)
        query_id = pre_checkout["pre_checkout_query"]["id"]

        def answered() -> bool:
            return any(e.method == "answerprecheckoutquery" and e.callback_id == query_id
                       for e in api.by_chat.get(user, ()))

        if not await self._step(pre_checkout, answered, "t-precheckout"):
            return False
        since = time.perf_counter()

        def receipt() -> bool:
            return any(e.method == "sendmessage" and e.at >= since and RECEIPT in (e.text or "")
                       for e in api.by_chat.get(user, ()))

        api.register_update(paid)
        return await self._step(paid, receipt, "t-paid")


async def drive(api: TimedBotApi, balancer: Balancer, recorder: Recorder, tally: Tally, user_ids: list[int],
                end: float, rng: random.Random, topup_share: float, step_timeout: float, launch: bool = True) -> None:
    """Users do journeys back to back until ``end`` (perf_counter); a journey under way is finished. Without
    ``launch`` the image journeys stop at the launch screen."""

    async def loop(uid: int) -> None:
        user, n = ChaosUser(api, balancer.post, recorder, uid, step_timeout, tag=True, tally=tally), 0
        while time.perf_counter() < end:
            n += 1
            if rng.random() < topup_share:
                await user.topup()
            elif launch:
                await user.journey(f"c{uid}x{n}")
            else:
                await user.browse(f"c{uid}x{n}")

    await asyncio.gather(*(loop(uid) for uid in user_ids))
