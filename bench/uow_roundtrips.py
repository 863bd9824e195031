"""PostgreSQL round trips per money operation: this tree against a baseline checkout, in one run.

Counts every asyncpg call (bench/pgcount.py: statements and BEGIN/COMMIT; pool resets are off in this
storage) for: an update from a known user (ensure), a new user with a welcome credit, a paid launch, a Stars
payment (referral bonuses off; on, for a payer nobody invited; on, paying a pair's bonus), a job refund. Each operation runs on a fresh throwaway
database (tests/pg.py's scratch_database), after its setup, so only the operation is counted.

    python -m bench.uow_roundtrips [--baseline /path/to/other/checkout]

With ``--baseline``, this script measures that checkout too (a subprocess importing its code, e.g. from
``git archive c93a1ad | tar -x -C /tmp/base``) and the table shows both and the ratio. The script speaks
both APIs: the storage's own rule methods (before issue 14) and core/cashier.py over the unit of work.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
OPERATIONS = ("ensure_known_user", "ensure_new_user_with_welcome", "launch_paid_job", "stars_payment_bonus_off",
              "stars_payment_bonus_on_not_invited", "stars_payment_paying_a_referral_bonus", "refund_failed_job")


def measure(root: Path) -> dict[str, int]:
    sys.path.insert(0, str(root))
    from adapters.storage.postgres import PostgresStorage  # noqa: E402 - from the checkout measured
    from bench import pgcount  # noqa: E402
    from ports.billing import StarsPayment  # noqa: E402
    from ports.events import UserRef  # noqa: E402
    from ports.storage import Job, JobState  # noqa: E402
    from tests.pg import scratch_database  # noqa: E402

    try:
        from core import cashier  # noqa: E402
    except ImportError:
        cashier = None
    pgcount.install()

    async def ensure(storage: Any, user_id: int, welcome: int = 0) -> None:
        if cashier is None:
            await storage.users.ensure(UserRef(user_id), welcome, NOW)
        else:
            await cashier.ensure_user(storage, UserRef(user_id), welcome, NOW)

    job = Job("j1", 1, 1, "m", {"prompt": "x"}, 30, JobState.CREATED, NOW, NOW, NOW + timedelta(minutes=10))
    payment = StarsPayment("ch-1", 1, 50, 100, "stars:50", NOW)

    async def launch(storage: Any) -> None:
        await (storage.jobs.launch(job) if cashier is None else cashier.launch(storage, job))

    async def pay(storage: Any, bonus: bool) -> None:
        if cashier is None:  # the handler of the time: record, then the referral reward, two operations
            await storage.payments.record_stars(payment)
            if bonus:
                await storage.referrals.reward(1, 10, 5, NOW)
        else:
            await cashier.pay_stars(storage, payment, cashier.Bonuses(10, 5) if bonus else cashier.Bonuses())

    async def link(storage: Any) -> None:
        await ensure(storage, 2)
        await (storage.referrals.link(1, 2, NOW) if cashier is None else cashier.link_referral(storage, 1, 2, NOW))

    async def refund(storage: Any) -> None:
        await (storage.jobs.refund("j1", NOW) if cashier is None else cashier.refund_job(storage, "j1", NOW))

    async def fail(storage: Any) -> None:
        await launch(storage)
        await storage.jobs.transition("j1", {JobState.CREATED}, JobState.FAILED, error="x")

    cases: dict[str, tuple[Any, Any]] = {
        "ensure_known_user": (lambda s: ensure(s, 1, 100), lambda s: ensure(s, 1, 100)),
        "ensure_new_user_with_welcome": (lambda s: asyncio.sleep(0), lambda s: ensure(s, 1, 100)),
        "launch_paid_job": (lambda s: ensure(s, 1, 100), launch),
        "stars_payment_bonus_off": (lambda s: ensure(s, 1, 0), lambda s: pay(s, False)),
        "stars_payment_bonus_on_not_invited": (lambda s: ensure(s, 1, 0), lambda s: pay(s, True)),
        "stars_payment_paying_a_referral_bonus": (lambda s: _then(ensure(s, 1, 0), link(s)), lambda s: pay(s, True)),
        "refund_failed_job": (lambda s: _then(ensure(s, 1, 100), fail(s)), refund),
    }

    async def run() -> dict[str, int]:
        result = {}
        for name in OPERATIONS:
            setup, operation = cases[name]
            async with scratch_database(migrated=True) as dsn:
                storage = await PostgresStorage.open(dsn, migrate=False)
                try:
                    await setup(storage)
                    before = pgcount.snapshot()
                    await operation(storage)
                    counted = pgcount.delta(before, pgcount.snapshot())["counts"]
                finally:
                    await storage.close()
            result[name] = counted.get("statement", 0) + counted.get("transaction", 0)
        return result

    return asyncio.run(run())


async def _then(first: Any, second: Any) -> None:
    await first
    await second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="another checkout to measure the same way")
    parser.add_argument("--json", type=Path, help="print the counts of this checkout as JSON (for --baseline)")
    args = parser.parse_args()
    if args.json:
        print(json.dumps(measure(args.json.resolve())))
        return
    baseline = None
    if args.baseline is not None:
        out = subprocess.run([sys.executable, __file__, "--json", str(args.baseline)], cwd=args.baseline,
                             capture_output=True, text=True, check=True).stdout
        baseline = json.loads(out.strip().splitlines()[-1])
    here = measure(ROOT)
    print(f"{'round trips per operation (statements + BEGIN/COMMIT)':<44} {'baseline':>8} {'this tree':>9} {'ratio':>6}")
    for name in OPERATIONS:
        base = baseline.get(name) if baseline else None
        ratio = f"{here[name] / base:.2f}" if base else "-"
        print(f"{name:<44} {base if base is not None else '-':>8} {here[name]:>9} {ratio:>6}")


if __name__ == "__main__":
    main()
