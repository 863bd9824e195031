"""The chaos run's invariant checks (bench/chaos_invariants.py) pass on a consistent ledger and fail, each one, on a
synthetic database broken the way it guards against: so a chaos run cannot pass by checking nothing."""

from __future__ import annotations

from datetime import datetime, timezone

import asyncpg
import pytest

from bench.chaos_invariants import Rows, Verdicts, busiest_window, check_kie_budget, check_money, load_rows
from tests.pg import scratch_database

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def consistent() -> Rows:
    """Two users: a welcome, a paid job delivered, a job refunded, a Stars top-up."""
    ledger = [
        (1, "welcome:1", 1, 1000, "welcome"), (2, "welcome:2", 2, 1000, "welcome"),
        (3, "launch:j1", 1, -80, "launch"), (4, "launch:j2", 2, -80, "launch"),
        (5, "refund:j2", 2, 80, "refund"), (6, "stars:c1", 1, 15000, "topup"),
    ]
    running: dict[int, int] = {}
    entries = []
    for seq, key, user, amount, reason in ledger:
        running[user] = running.get(user, 0) + amount
        entries.append({"seq": seq, "key": key, "user_id": user, "amount": amount, "balance_after": running[user],
                        "reason": reason})
    return Rows(
        users=[{"id": 1, "balance": 15920}, {"id": 2, "balance": 1000}],
        ledger=entries,
        jobs=[{"id": "j1", "user_id": 1, "state": "delivered", "price": 80},
              {"id": "j2", "user_id": 2, "state": "refunded", "price": 80}],
        payments=[{"charge_id": "c1", "user_id": 1, "amount": 15000, "refunded": False}],
    )


def verdicts(rows: Rows) -> Verdicts:
    v = Verdicts()
    check_money(rows, v)
    return v


def failed_names(rows: Rows) -> list[str]:
    return [check.name.split(":")[0] for check in verdicts(rows).failed()]


def test_a_consistent_ledger_passes_every_check():
    v = verdicts(consistent())
    assert len(v.checks) == 5 and v.failed() == []


def test_a_balance_that_differs_from_its_ledger_fails():
    rows = consistent()
    rows.users[1]["balance"] = 1080  # a credit without an entry
    assert failed_names(rows) == ["ledger sum equals the balance for every user"]


def test_a_broken_running_balance_fails_even_when_the_sums_agree():
    rows = consistent()
    rows.ledger[2]["balance_after"] = 1000  # the debit of j1 written over a stale balance
    assert failed_names(rows) == ["each entry's balance_after is the running sum"]


def test_a_negative_balance_fails():
    rows = consistent()
    rows.ledger.append({"seq": 7, "key": "launch:j3", "user_id": 2, "amount": -1080, "balance_after": -80,
                        "reason": "launch"})
    rows.jobs.append({"id": "j3", "user_id": 2, "state": "delivered", "price": 1080})
    rows.users[1]["balance"] = -80
    assert failed_names(rows) == ["no negative balance"]


def test_a_repeated_key_fails_and_so_does_the_double_debit():
    rows = consistent()
    rows.ledger.append({"seq": 7, "key": "launch:j1", "user_id": 1, "amount": -80, "balance_after": 15840,
                        "reason": "launch"})
    rows.users[0]["balance"] = 15840
    assert failed_names(rows) == ["no ledger key twice", "money"]


@pytest.mark.parametrize("breakage", [
    "refund of a delivered job", "no refund of a refunded job", "two Stars credits", "debit for no job",
    "job never charged", "second welcome",
])
def test_each_wrong_movement_fails_the_money_check(breakage):
    rows = consistent()
    extra = {
        "refund of a delivered job": ("refund:j1", 1, 80, "refund"),
        "two Stars credits": ("stars:c1:again", 1, 15000, "topup"),
        "debit for no job": ("launch:ghost", 1, -80, "launch"),
        "second welcome": ("welcome:1:again", 1, 1000, "welcome"),
    }.get(breakage)
    if breakage == "two Stars credits":  # the same charge under another key: a second row in payments
        rows.payments.append({"charge_id": "c1:again", "user_id": 1, "amount": 15000, "refunded": False})
        rows.ledger.append({"seq": 8, "key": "stars:c1", "user_id": 1, "amount": 15000, "balance_after": 0,
                            "reason": "topup"})
        extra = None
    if breakage == "no refund of a refunded job":
        rows.ledger = [e for e in rows.ledger if e["key"] != "refund:j2"]
    if breakage == "job never charged":
        rows.ledger = [e for e in rows.ledger if e["key"] != "launch:j1"]
    if extra:
        rows.ledger.append({"seq": 9, "key": extra[0], "user_id": extra[1], "amount": extra[2], "balance_after": 0,
                            "reason": extra[3]})
    money = next(c for c in verdicts(rows).checks if c.name.startswith("money"))
    assert not money.ok, money.detail


def test_the_busiest_window_counts_calls_in_any_ten_seconds():
    times = [0.0, 1.0, 9.5, 10.0, 10.2, 19.9, 30.0]
    assert busiest_window(times, 10.0) == (4, 1.0)  # 1.0, 9.5, 10.0, 10.2
    assert busiest_window([], 10.0) == (0, 0.0)
    v = Verdicts()
    check_kie_budget(times, [200] * 7, limit=3, window=10.0, v=v)
    check_kie_budget(times, [200] * 7, limit=4, window=10.0, v=v)
    check_kie_budget(times, [200] * 6 + [429], limit=4, window=10.0, v=v)  # a refusal is a call over the budget
    assert [c.ok for c in v.checks] == [False, True, False]


FILLERS = {"text": "", "jsonb": "{}", "bigint": 0, "integer": 0, "smallint": 0, "boolean": False,
           "timestamp with time zone": NOW, "double precision": 0.0, "numeric": 0}


async def insert(conn: asyncpg.Connection, table: str, values: dict) -> None:
    """INSERT with every other NOT NULL column without a default filled with a dummy of its type (so later
    migrations adding such columns do not break this test)."""
    columns = await conn.fetch(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1 AND is_nullable = 'NO' "
        "AND column_default IS NULL AND is_identity = 'NO' AND is_generated = 'NEVER'", table)
    row = {c["column_name"]: FILLERS[c["data_type"]] for c in columns} | values
    names = ", ".join(row)
    marks = ", ".join(f"${i}" for i in range(1, len(row) + 1))
    await conn.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", *row.values())


async def test_the_checks_read_a_real_database_and_catch_what_its_constraints_would_not():
    """Through load_rows on a migrated scratch database: consistent → pass; then, with the CHECK constraints
    dropped (what a bad migration could do), a negative balance and a repeated key are caught."""
    async with scratch_database(migrated=True) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            rows = consistent()
            for user in rows.users:
                await insert(conn, "users", {"id": user["id"], "balance": user["balance"]})
            for job in rows.jobs:
                await insert(conn, "jobs", {"id": job["id"], "user_id": job["user_id"], "chat_id": job["user_id"],
                                            "model_id": "z-image", "price": job["price"], "state": job["state"]})
            await insert(conn, "payments", {"charge_id": "c1", "user_id": 1, "amount": 15000, "currency": "RUB", "stars": 100})
            for e in rows.ledger:
                await insert(conn, "ledger", {k: e[k] for k in ("key", "user_id", "amount", "balance_after", "reason")})
            assert verdicts(await load_rows(dsn)).failed() == []

            await conn.execute("ALTER TABLE users DROP CONSTRAINT users_balance_not_negative")
            await conn.execute("ALTER TABLE ledger DROP CONSTRAINT ledger_key_unique")
            await conn.execute("ALTER TABLE ledger DROP CONSTRAINT ledger_balance_after_check")
            await conn.execute("INSERT INTO ledger (key, user_id, amount, balance_after, reason, created_at) "
                               "VALUES ('launch:j1', 2, -1080, -80, 'launch', $1)", NOW)
            await conn.execute("UPDATE users SET balance = -80 WHERE id = 2")
        finally:
            await conn.close()
        names = failed_names(await load_rows(dsn))
    assert names == ["no negative balance", "no ledger key twice", "money"]


# --- answers matched to updates (bench/chaos_checks.py) -------------------------------------------------------------

def _api_with(events):
    from bench.common import ApiEvent, TimedBotApi

    api = TimedBotApi()
    for at, method, chat, callback_id, text in events:
        event = ApiEvent(at, method, chat, callback_id, text)
        api.events.append(event)
        api.by_chat.setdefault(chat, []).append(event)
    return api


def _posted():
    from bench.chaos_load import Posted

    press = {"update_id": 1, "callback_query": {"id": "cb1", "from": {"id": 5}, "data": "x"}}
    start = {"update_id": 2, "message": {"text": "/start", "chat": {"id": 5}, "from": {"id": 5}}}
    pay = {"update_id": 3, "message": {"chat": {"id": 5}, "from": {"id": 5},
                                       "successful_payment": {"telegram_payment_charge_id": "c1"}}}
    return {u["update_id"]: Posted(u, at, at, "a", "leader") for u, at in ((press, 1.0), (start, 2.0), (pay, 3.0))}


def test_answers_are_matched_per_update_and_repeats_are_told_apart_by_kills():
    from bench.chaos_checks import Answers, check_answers

    events = [(1.1, "answercallbackquery", 5, "cb1", None), (2.1, "sendmessage", 5, None, "👋 Привет, n2!"),
              (3.1, "sendmessage", 5, None, "✅ Оплата получена: 100 ⭐"),
              (4.0, "answercallbackquery", 5, "cb1", None)]  # the press answered again at 4.0
    for kills, ok in (([], False), ([2.5], True)):
        v = Verdicts()
        counts = check_answers(Answers(_api_with(events), _posted()), set(), kills, v)
        assert counts["missing"] == 0
        assert v.by_name("no update answered twice").ok is ok, (kills, v.checks)
        assert counts["repeats_documented" if ok else "repeats_unexplained"] == 1


def test_an_update_without_its_answer_is_reported_missing():
    from bench.chaos_checks import Answers, check_answers

    events = [(1.1, "answercallbackquery", 5, "cb1", None), (2.1, "sendmessage", 5, None, "👋 Привет, n999!")]
    v = Verdicts()
    counts = check_answers(Answers(_api_with(events), _posted()), set(), [], v)
    assert counts["missing"] == 2 and not v.by_name("every acknowledged update answered").ok


def test_the_failover_gap_counts_chats_waiting_at_the_hit():
    from bench.chaos_checks import Answers, failover_gaps

    events = [(1.1, "answercallbackquery", 5, "cb1", None), (6.0, "sendmessage", 5, None, "👋 Привет, n2!"),
              (6.5, "sendmessage", 5, None, "✅ Оплата получена")]
    gaps = failover_gaps(Answers(_api_with(events), _posted()), [(2.5, "kill9", "a", "leader"), (7.0, "kill9", "b", "follower")])
    assert (gaps[0].affected, gaps[0].worst, gaps[0].worst_update) == (1, 3.5, 2)  # /start posted at 2.0, answered at 6.0
    assert gaps[1].affected == 0
