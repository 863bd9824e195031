"""What bench/chaos.py verifies after the storm from the fakes' records and the inbox and jobs tables (the money
invariants are bench/chaos_invariants.py's).

Every update the load balancer got a 200 for is matched to the bot's answer by something only that update can
have caused: a pressed button by its answerCallbackQuery (the callback id), a pre-checkout query by its
answerPreCheckoutQuery (the query id), a message by a sendMessage naming it — every update's sender is called
"n<update_id>", which the main menu greets ("👋 Привет, n123!"), and a prompt is quoted in its confirmation
(«c5x2») — and a successful payment by the receipt ("Оплата получена") in its chat before the chat's next payment.
A picture is matched to its job by the quoted prompt in its caption.

A second answer (or picture) is the README's documented at-least-once case when a kill -9 fell between the first
and the last one: an update is marked done only after it was processed, and a result is sent before the job is
marked delivered, so a crash in between repeats a screen (never a charge). Any other repeat is a failure.
"""

from __future__ import annotations

import statistics
from bisect import bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import asyncpg

from bench.chaos_invariants import Verdicts
from bench.chaos_load import RECEIPT, Posted
from bench.common import ApiEvent, TimedBotApi


def _killed_between(first: float, last: float, kills: list[float]) -> bool:
    return any(first < t < last for t in kills)


class Answers:
    """Each acknowledged update's answers, in arrival order."""

    def __init__(self, api: TimedBotApi, posted: dict[int, Posted]) -> None:
        self.api, self.posted = api, posted
        self._payments: dict[int, list[float]] = defaultdict(list)  # chat → first posts of its payments, sorted
        for p in posted.values():
            if "successful_payment" in p.update.get("message", {}):
                self._payments[p.chat].append(p.first_at)
        for times in self._payments.values():
            times.sort()

    def of(self, update_id: int) -> list[ApiEvent]:
        p = self.posted[update_id]
        update, chat = p.update, p.chat
        events = self.api.by_chat.get(chat, ())
        if "callback_query" in update or "pre_checkout_query" in update:
            kind = "callback_query" if "callback_query" in update else "pre_checkout_query"
            method = "answercallbackquery" if kind == "callback_query" else "answerprecheckoutquery"
            query_id = update[kind]["id"]
            return [e for e in events if e.method == method and e.callback_id == query_id]
        message = update["message"]
        if "successful_payment" in message:
            later = self._payments[chat]
            i = bisect_right(later, p.first_at)
            until = later[i] if i < len(later) else float("inf")
            return [e for e in events if e.method == "sendmessage" and RECEIPT in (e.text or "")
                    and p.first_at <= e.at < until]
        greeting, quoted = f", n{update['update_id']}!", f"«{message.get('text')}»"
        return [e for e in events if e.method == "sendmessage" and e.text and (greeting in e.text or quoted in e.text)]

    @staticmethod
    def kind(update: dict[str, Any]) -> str:
        if "callback_query" in update:
            return "button press"
        if "pre_checkout_query" in update:
            return "pre-checkout"
        message = update["message"]
        return "payment" if "successful_payment" in message else f"message {message.get('text', '')[:6]!r}"


def check_answers(answers: Answers, resent: set[int], kills: list[float], v: Verdicts) -> dict[str, int]:
    """Every acknowledged update answered; repeats counted apart: across a kill -9 (documented) or not (a bug)."""
    missing, exact, documented, unexplained = [], 0, [], []
    resent_bad = 0
    for update_id in answers.posted:
        events = answers.of(update_id)
        repeat_ok = len(events) > 1 and _killed_between(events[0].at, events[-1].at, kills)
        if not events:
            missing.append(update_id)
        elif len(events) == 1:
            exact += 1
        else:
            (documented if repeat_ok else unexplained).append(update_id)
        if update_id in resent and len(events) != 1 and not repeat_ok:
            resent_bad += 1
    v.add("every acknowledged update answered", not missing,
          f"{len(answers.posted)} updates: {exact} answered once, {len(documented)} more than once across a kill -9 "
          f"(documented at-least-once), {len(unexplained)} repeated without one, {len(missing)} never answered"
          + (f"; unanswered {[(u, Answers.kind(answers.posted[u].update)) for u in missing[:6]]}" if missing else ""))
    v.add("no update answered twice without a kill -9 in between", not unexplained,
          f"{len(unexplained)} answered again" + (f": ids {unexplained[:8]}" if unexplained else ""))
    for update_id in unexplained[:4]:
        events = answers.of(update_id)
        v.notes.append(f"repeat without a kill -9: update {update_id} ({Answers.kind(answers.posted[update_id].update)}): "
                       + ", ".join(f"+{(e.at - events[0].at) * 1000:.0f} ms {e.method}" for e in events))
    v.add("Telegram-style redeliveries (same update_id posted again) answered once", resent_bad == 0,
          f"{len(resent)} updates posted twice: {resent_bad} answered other than once")
    if documented:
        kinds = Counter(Answers.kind(answers.posted[u].update) for u in documented)
        v.notes.append(f"at-least-once repeats across a kill -9, by kind: {dict(kinds)}")
    return {"answered_once": exact, "repeats_documented": len(documented), "repeats_unexplained": len(unexplained),
            "missing": len(missing)}


async def check_tables(dsn: str, api: TimedBotApi, posted: dict[int, Posted], kills: list[float],
                       v: Verdicts) -> dict[str, int]:
    """Inbox rows processed, jobs finished with their picture sent once, every acknowledged payment credited."""
    conn = await asyncpg.connect(dsn)
    try:
        inbox = {r["update_id"]: r["done"] for r in await conn.fetch(
            "SELECT update_id, done_at IS NOT NULL AS done FROM inbox")}
        jobs = await conn.fetch("SELECT id, user_id, state, input->>'prompt' AS prompt FROM jobs")
        charges = {r["charge_id"] for r in await conn.fetch("SELECT charge_id FROM payments")}
    finally:
        await conn.close()

    not_stored = [u for u in posted if u not in inbox]
    not_done = [u for u in posted if inbox.get(u) is False]
    v.add("every acknowledged update stored in the inbox and processed", not not_stored and not not_done,
          f"{len(posted)} acknowledged: {len(not_stored)} missing from the inbox, {len(not_done)} still pending")

    states = Counter(job["state"] for job in jobs)
    unfinished = sum(n for state, n in states.items() if state not in ("delivered", "refunded"))
    v.add("every job delivered or refunded", unfinished == 0, f"{len(jobs)} jobs: {dict(states)}")

    missing, repeated, documented = [], [], []
    for job in jobs:
        if job["state"] != "delivered":
            continue
        quoted = f"«{job['prompt']}»"
        sent = [e for e in api.by_chat.get(job["user_id"], ()) if e.method in ("sendphoto", "senddocument")
                and e.text and quoted in e.text and e.error is None]  # a refused send-by-URL retried as upload: one
        if not sent:
            missing.append(job["id"])
        elif len(sent) > 1:
            (documented if _killed_between(sent[0].at, sent[-1].at, kills) else repeated).append(job["id"])
    v.add("every delivered job's picture sent once (or again across a kill -9)", not missing and not repeated,
          f"{states.get('delivered', 0)} delivered: {len(missing)} without a picture, {len(documented)} sent again "
          f"across a kill -9 (documented), {len(repeated)} sent again without one"
          + (f" (jobs {repeated[:4]})" if repeated else ""))

    paid = {p.update["message"]["successful_payment"]["telegram_payment_charge_id"]
            for p in posted.values() if "successful_payment" in p.update.get("message", {})}
    v.add("every acknowledged Stars payment credited", paid <= charges,
          f"{len(paid)} payments acknowledged, {len(charges)} recorded; {len(paid - charges)} not credited")
    return {"jobs": len(jobs), "pictures_again": len(documented) + len(repeated), "payments": len(paid)}


@dataclass
class Gap:
    at: float  # perf_counter of the hit
    kind: str  # kill9 | sigterm
    victim: str
    role: str  # the victim's role when hit
    affected: int  # chats with an update acknowledged before the hit and answered after it
    worst: float  # seconds from the hit to the first answer in the slowest affected chat
    median: float
    worst_update: int | None = None  # the update the slowest chat was waiting for


def failover_gaps(answers: Answers, hits: list[tuple[float, str, str, str]]) -> list[Gap]:
    """For each hit (at, kind, victim, role): the chats waiting for an answer at that moment (an update posted
    before it, first answered after it or never), and the time from the hit to each one's next answer."""
    first: dict[int, tuple[float, float | None]] = {}  # update → (first post, first answer)
    for update_id, p in answers.posted.items():
        events = answers.of(update_id)
        first[update_id] = (p.first_at, events[0].at if events else None)
    gaps = []
    for at, kind, victim, role in hits:
        waiting: dict[int, tuple[float, int]] = {}  # chat → (gap, the update it waited for)
        for update_id, (posted_at, answered_at) in first.items():
            if posted_at < at and (answered_at is None or answered_at > at):
                chat = answers.posted[update_id].chat
                after = answers.api.first_reply_after(chat, at)
                waiting[chat] = ((after - at) if after is not None else float("inf"), update_id)
        values = sorted(waiting.values())
        gaps.append(Gap(at, kind, victim, role, len(values), values[-1][0] if values else 0.0,
                        statistics.median(v for v, _ in values) if values else 0.0,
                        values[-1][1] if values else None))
    return gaps
