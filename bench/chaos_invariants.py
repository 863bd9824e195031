"""The invariants bench/chaos.py checks after a run, as pure functions over rows (so tests/test_chaos_checks.py can
feed them a tiny synthetic database and see each one fail), plus the loader that reads those rows.

Money (every amount in the smallest unit):
- each user's ledger entries sum to the balance, and the ``balance_after`` of each entry, in insertion order, is
  the running sum (a lost or interleaved update shows here even when the final sums agree);
- no balance and no ``balance_after`` is negative;
- no ledger key twice (the table has a unique constraint; checked anyway: a migration could drop it);
- per job: exactly one ``launch:<job>`` debit of its price, a ``refund:<job>`` credit of its price if and only if it
  was refunded; per Stars payment: exactly one ``stars:<charge>`` credit of its amount; no ``launch:``/``refund:``
  entry for a job that does not exist and no ``stars:`` entry for a charge that does not (money moved for nothing);
- one ``welcome:<user>`` per user at most.

KIE: the most ``createTask`` calls that arrived within any ``window`` seconds (sliding, at the fake server).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import asyncpg

Row = dict[str, Any]


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

    def failed(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]

    def by_name(self, prefix: str) -> Check:
        return next(check for check in self.checks if check.name.startswith(prefix))


@dataclass
class Rows:
    users: list[Row]  # id, balance
    ledger: list[Row]  # seq, key, user_id, amount, balance_after, reason
    jobs: list[Row]  # id, user_id, state, price
    payments: list[Row]  # charge_id, user_id, amount, refunded


async def load_rows(dsn: str) -> Rows:
    conn = await asyncpg.connect(dsn)
    try:
        users = await conn.fetch("SELECT id, balance FROM users")
        ledger = await conn.fetch("SELECT seq, key, user_id, amount, balance_after, reason FROM ledger ORDER BY seq")
        jobs = await conn.fetch("SELECT id, user_id, state, price FROM jobs")
        payments = await conn.fetch(
            "SELECT charge_id, user_id, amount, refunded_at IS NOT NULL AS refunded FROM payments")
    finally:
        await conn.close()
    return Rows(*([dict(r) for r in rows] for rows in (users, ledger, jobs, payments)))


def check_money(rows: Rows, v: Verdicts) -> None:
    by_user: dict[int, list[Row]] = defaultdict(list)
    for entry in sorted(rows.ledger, key=lambda e: e["seq"]):
        by_user[entry["user_id"]].append(entry)

    mismatched = [u["id"] for u in rows.users if sum(e["amount"] for e in by_user.get(u["id"], ())) != u["balance"]]
    orphans = sorted(set(by_user) - {u["id"] for u in rows.users})
    v.add("ledger sum equals the balance for every user", not mismatched and not orphans,
          f"{len(rows.users)} users, {len(rows.ledger)} entries; {len(mismatched)} mismatched"
          + (f" (users {mismatched[:5]})" if mismatched else "") + f", {len(orphans)} entries' users missing")

    broken = []
    for user_id, entries in by_user.items():
        running = 0
        for entry in entries:
            running += entry["amount"]
            if entry["balance_after"] != running:
                broken.append(f"{entry['key']}: balance_after {entry['balance_after']}, running sum {running}")
                break
    v.add("each entry's balance_after is the running sum", not broken,
          f"{len(by_user)} users' chains; {len(broken)} broken" + (f" ({broken[:3]})" if broken else ""))

    negative = [u["id"] for u in rows.users if u["balance"] < 0]
    negative_after = [e["key"] for e in rows.ledger if e["balance_after"] < 0]
    lowest = min((u["balance"] for u in rows.users), default=0)
    v.add("no negative balance", not negative and not negative_after,
          f"min balance {lowest}; {len(negative)} users and {len(negative_after)} entries below 0")

    repeated = [key for key, n in Counter(e["key"] for e in rows.ledger).items() if n > 1]
    v.add("no ledger key twice", not repeated, f"{len(repeated)} repeated keys" + (f": {repeated[:5]}" if repeated else ""))

    v.add(*_movements(rows))


def _movements(rows: Rows) -> tuple[str, bool, str]:
    """One debit per job, a refund only for refunded jobs, one credit per Stars charge, nothing for nothing."""
    by_key: dict[str, list[Row]] = defaultdict(list)
    for entry in rows.ledger:
        by_key[entry["key"]].append(entry)
    wrong: list[str] = []
    for job in rows.jobs:
        launch, refund = by_key.get(f"launch:{job['id']}", []), by_key.get(f"refund:{job['id']}", [])
        if [e["amount"] for e in launch] != ([-job["price"]] if job["price"] > 0 else []):
            wrong.append(f"job {job['id']}: launch entries {[e['amount'] for e in launch]}, price {job['price']}")
        refunded = job["state"] == "refunded"
        if [e["amount"] for e in refund] != ([job["price"]] if refunded and job["price"] > 0 else []):
            wrong.append(f"job {job['id']} ({job['state']}): refund entries {[e['amount'] for e in refund]}")
    for payment in rows.payments:
        credit = by_key.get(f"stars:{payment['charge_id']}", [])
        if [e["amount"] for e in credit] != [payment["amount"]]:
            wrong.append(f"charge {payment['charge_id']}: credits {[e['amount'] for e in credit]}, paid {payment['amount']}")
    jobs, charges = {j["id"] for j in rows.jobs}, {p["charge_id"] for p in rows.payments}
    for key in by_key:
        kind, _, ref = key.partition(":")
        if (kind in ("launch", "refund") and ref not in jobs) or (kind == "stars" and ref not in charges):
            wrong.append(f"{key}: no such {'charge' if kind == 'stars' else 'job'}")
    welcomes = Counter(e["user_id"] for e in rows.ledger if e["reason"] == "welcome")
    wrong += [f"user {user}: {n} welcome credits" for user, n in welcomes.items() if n > 1]
    kinds = Counter(e["reason"] for e in rows.ledger)
    return ("money: one debit per job, a refund only if refunded, one credit per Stars charge, nothing for nothing",
            not wrong, f"{len(rows.jobs)} jobs, {len(rows.payments)} charges, entries by reason {dict(kinds)}; "
            f"{len(wrong)} wrong" + (f": {wrong[:4]}" if wrong else ""))


def busiest_window(times: list[float], window: float) -> tuple[int, float]:
    """(the most calls within any ``window`` seconds, when that window started); ``times`` in seconds."""
    ordered = sorted(times)
    best, start = 0, 0.0
    for i, t in enumerate(ordered):
        n = bisect_right(ordered, t + window - 1e-9) - i  # calls in [t, t + window)
        if n > best:
            best, start = n, t
    return best, start


def check_kie_budget(times: list[float], codes: list[int], limit: int, window: float, v: Verdicts) -> None:
    """Every createTask that reached KIE counts, refused ones too (KIE answers 429 past the budget: a call it
    refused was a call over the budget). ``codes[i]`` is the envelope code answered to ``times[i]``."""
    most, start = busiest_window(times, window)
    accepted, _ = busiest_window([t for t, code in zip(times, codes) if code == 200], window)
    refused = sum(1 for code in codes if code == 429)
    v.add(f"KIE createTask within {limit} per {window:g} s (sliding, at the fake server)", most <= limit and not refused,
          f"{len(times)} calls; busiest {window:g} s window {most} calls (from +{start:.1f} s), {accepted} accepted; "
          f"{refused} answered 429")
