"""The burst of issue 17 at a small scale (bench/kie_burst.py runs the full one): launches beyond KIE's rate
on two instances sharing one PostgreSQL never exceed the rate at the fake KIE server (it answers 429 beyond
it, so none may be seen), none fails, and every user who waited was told the place. Real time, bounded (a few
seconds); the assertions are counts, not durations."""

from __future__ import annotations

from bench.kie_burst import most_in_any_window, run_burst
from tests import pg


async def test_a_burst_on_two_instances_keeps_to_the_shared_budget_and_tells_every_waiting_user(tmp_path):
    dsn = await pg.session_database()
    async with pg.open_pg():  # empties the session database
        pass
    result = await run_burst(dsn, tmp_path, launches=12, seconds=0.5, limit=4, window=1.0, timeout=60)
    assert result.notes == []
    assert result.refusals == 0 and result.max_in_window <= 4
    assert result.requests == 12 and result.delivered == 12 and result.failed == 0
    assert result.queued >= 4 and result.told == result.queued and result.places_only_move_up


def test_the_window_count_finds_the_busiest_window():
    from datetime import datetime, timedelta, timezone

    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    times = [start + timedelta(seconds=s) for s in (0, 1, 2, 9.9, 10, 10.5, 30)]
    assert most_in_any_window(times, 10.0) == 5  # 1, 2, 9.9, 10, 10.5 (0 and 10 are a whole window apart)
