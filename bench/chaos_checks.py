"""What bench/chaos.py verifies after the storm, from the database and the fakes' records.

Every update the load balancer got a 200 for is matched to the bot's answer by something only that update can
have caused: a pressed button by its answerCallbackQuery (the callback id), a message by a sendMessage naming it —
every update's sender is called "n<update_id>", which the main menu greets ("👋 Привет, n123!"), and a prompt is
quoted in its confirmation («c5x2»). A picture is matched to its job by the quoted prompt in its caption.

A second answer (or picture) is a documented at-least-once case when a kill -9 fell between the first and the
last one: the README's contract is that an update is marked done only after it was processed, and a result is
sent before the job is marked delivered, so a crash in between repeats a screen (never a charge). Any other
repeat is a failure.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from bench.common import ApiEvent, TimedBotApi


@dataclass
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


@dataclass
class Verdicts:
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append(Check(name, ok, detail))


def _killed_between(first: float, last: float, kills: list[float]) -> bool:
    return any(first < t < last for t in kills)


def _answers(api: TimedBotApi, update: dict[str, Any]) -> list[ApiEvent]:
    if "callback_query" in update:
        callback_id = update["callback_query"]["id"]
        return [e for e in api.events if e.method == "answercallbackquery" and e.callback_id == callback_id]
    message = update["message"]
    greeting = f", n{update['update_id']}!"
    quoted = f"«{message['text']}»"
    return [e for e in api.by_chat.get(message["chat"]["id"], ())
            if e.method == "sendmessage" and e.text and (greeting in e.text or quoted in e.text)]


def _describe(update: dict[str, Any], events: list[ApiEvent]) -> str:
    what = (f"press {update['callback_query']['data']!r}" if "callback_query" in update
            else f"message {update['message']['text']!r}")
    calls = ", ".join(f"+{(e.at - events[0].at) * 1000:.0f} ms {e.method}{' (' + e.error[:40] + ')' if e.error else ''}"
                      for e in events)
    return f"update {update['update_id']} ({what}): {calls}"


def check_answers(api: TimedBotApi, posted: dict[int, dict[str, Any]], resent: set[int], kills: list[float],
                  v: Verdicts) -> None:
    """Counts answer attempts (a repeated answerCallbackQuery fails at Telegram, but shows the update was processed
    twice), and lists the repeats that no kill -9 explains."""
    missing, exact, documented, unexplained = [], 0, [], []
    resent_ok = resent_bad = 0
    for update_id, update in posted.items():
        events = _answers(api, update)
        if not events:
            missing.append(update_id)
        elif len(events) == 1:
            exact += 1
        elif _killed_between(events[0].at, events[-1].at, kills):
            documented.append(update_id)
        else:
            unexplained.append(update_id)
        if update_id in resent:
            resent_ok += len(events) == 1
            resent_bad += len(events) != 1 and not (len(events) > 1 and _killed_between(events[0].at, events[-1].at, kills))
    v.add("every acknowledged update got its answer", not missing,
          f"{len(posted)} updates: {exact} answered once, {len(documented)} twice or more across a kill -9 "
          f"(documented at-least-once), {len(unexplained)} repeated without a kill -9, {len(missing)} never answered"
          + (f"; unanswered ids {missing[:8]}" if missing else ""))
    v.add("no update processed twice without a kill -9 in between", not unexplained,
          f"{len(unexplained)} answered again" + (f": ids {unexplained[:8]}" if unexplained else ""))
    for update_id in unexplained[:5]:
        v.notes.append("repeat without a kill -9: " + _describe(posted[update_id], _answers(api, posted[update_id])))
    v.add("Telegram-style redeliveries (same update_id posted again) answered once", resent_bad == 0,
          f"{len(resent)} updates posted twice: {resent_ok} answered exactly once, {resent_bad} not")
    if documented:
        kinds: dict[str, int] = defaultdict(int)
        for update_id in documented:
            update = posted[update_id]
            kinds["button press (answerCallbackQuery again)" if "callback_query" in update
                  else f"message {update['message']['text'][:6]!r} (a second sendMessage)"] += 1
        v.notes.append(f"at-least-once repeats after a kill -9, by kind: {dict(kinds)}")


async def check_database(dsn: str, api: TimedBotApi, posted: dict[int, dict[str, Any]], kills: list[float],
                         v: Verdicts) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        inbox = {r["update_id"]: r["done"] for r in await conn.fetch(
            "SELECT update_id, done_at IS NOT NULL AS done FROM inbox")}
        jobs = await conn.fetch("SELECT id, user_id, state, price, input->>'prompt' AS prompt FROM jobs")
        users = await conn.fetch("SELECT id, balance FROM users")
        sums = {r["user_id"]: r["total"] for r in await conn.fetch(
            "SELECT user_id, sum(amount) AS total FROM ledger GROUP BY user_id")}
        entries = await conn.fetch("SELECT key, user_id, amount, reason FROM ledger")
    finally:
        await conn.close()

    not_stored = [u for u in posted if u not in inbox]
    not_done = [u for u in posted if inbox.get(u) is False]
    v.add("every acknowledged update stored in the inbox and processed", not not_stored and not not_done,
          f"{len(posted)} acknowledged: {len(not_stored)} missing from the inbox, {len(not_done)} still pending")

    states: dict[str, int] = defaultdict(int)
    for job in jobs:
        states[job["state"]] += 1
    unfinished = sum(n for state, n in states.items() if state not in ("delivered", "refunded"))
    v.add("every job delivered or refunded", unfinished == 0, f"{len(jobs)} jobs: {dict(states)}")

    photos_missing, photos_repeated, photos_documented = [], [], []
    for job in jobs:
        if job["state"] != "delivered":
            continue
        quoted = f"«{job['prompt']}»"
        attempts = [e for e in api.by_chat.get(job["user_id"], ())
                    if e.method in ("sendphoto", "senddocument") and e.text and quoted in e.text]
        sent = [e for e in attempts if e.error is None]  # a refused send-by-URL is retried as an upload: not a repeat
        if len(sent) > 1 and not _killed_between(sent[0].at, sent[-1].at, kills):
            v.notes.append(f"picture sent again without a kill -9, job {job['id']}: "
                           + ", ".join(f"+{(e.at - attempts[0].at) * 1000:.0f} ms {e.method}"
                                       f"{' (' + e.error[:50] + ')' if e.error else ''}" for e in attempts))
        if not sent:
            photos_missing.append(job["id"])
        elif len(sent) > 1:
            (photos_documented if _killed_between(sent[0].at, sent[-1].at, kills) else photos_repeated).append(job["id"])
    v.add("every delivered job's picture reached the chat, once (or again across a kill -9)",
          not photos_missing and not photos_repeated,
          f"{states.get('delivered', 0)} delivered: {len(photos_missing)} without a picture, {len(photos_documented)} "
          f"sent again across a kill -9 (documented), {len(photos_repeated)} sent again without one")

    mismatched = [u["id"] for u in users if sums.get(u["id"], 0) != u["balance"]]
    negative = [u["id"] for u in users if u["balance"] < 0]
    v.add("ledger sum equals the balance for every user", not mismatched,
          f"{len(users)} users, {len(entries)} ledger entries; {len(mismatched)} mismatched")
    v.add("no negative balance", not negative, f"min balance {min((u['balance'] for u in users), default=0)}")

    by_key = {e["key"]: e for e in entries}
    welcome = defaultdict(int)
    for e in entries:
        if e["reason"] == "welcome":
            welcome[e["user_id"]] += 1
    wrong = []
    for job in jobs:
        launch, refund = by_key.get(f"launch:{job['id']}"), by_key.get(f"refund:{job['id']}")
        if job["price"] > 0 and (launch is None or launch["amount"] != -job["price"]):
            wrong.append(f"{job['id']}: launch entry {launch and launch['amount']}")
        if (job["state"] == "refunded") != (refund is not None and refund["amount"] == job["price"]):
            wrong.append(f"{job['id']}: state {job['state']}, refund entry {refund and refund['amount']}")
    other = [e["key"] for e in entries if e["reason"] not in ("welcome", "launch", "refund")]
    v.add("money: one launch debit per job, a refund only for refunded jobs, one welcome per user",
          not wrong and all(n == 1 for n in welcome.values()) and len(welcome) == len(users),
          f"{len(jobs)} launch debits checked; {len(wrong)} wrong" + (f" ({wrong[:4]})" if wrong else "")
          + f"; welcome entries per user {sorted(set(welcome.values()))}; other entries {len(other)}")
    return {"jobs": len(jobs), "users": len(users), "entries": len(entries)}
