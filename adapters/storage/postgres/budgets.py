"""The shared budgets (ports/budgets.py) in PostgreSQL, one statement per decision, for any number of processes.

KIE's submit budget is a sliding-window log kept as a ring of ``limit`` rows (``submit_slots``): taking a slot
is one statement that picks a row whose last use has left the window (``FOR UPDATE SKIP LOCKED``: concurrent
takers never pick the same row) and stamps it. A row is reused only a whole window after its last use, so no
window holds more than ``limit`` uses, however many processes take at once.

Telegram's pace is GCRA (a theoretical arrival time per key, ``send_pace``): the chat's slot and the overall
one are reserved in one statement (data-modifying CTEs: the overall slot only when the chat's slot is now).

Time is the database's (``clock_timestamp()``), the one clock every process shares; tests may inject a Clock.
"""

from __future__ import annotations

from adapters.storage.postgres.db import Database
from ports.budgets import SLOW_FACTOR, PaceGrant, PaceSettings
from ports.clock import Clock

EPSILON = 1e-6  # seconds: float rounding never turns "now" into "later"
SHORTEST_WAIT = 0.001
PRUNE_EVERY = 500  # reservations between two deletions of idle chats' rows
IDLE_CHAT = 60.0  # seconds: a chat row whose slot is this far in the past carries nothing

ENSURE_SLOTS = (
    "INSERT INTO submit_slots (budget, slot) SELECT $1, g FROM generate_series(1, $2) AS g "
    "ON CONFLICT (budget, slot) DO NOTHING"
)
TAKE = """
WITH clock AS (SELECT coalesce($3::timestamptz, clock_timestamp()) AS now),
pick AS (
    SELECT s.slot FROM submit_slots s, clock
    WHERE s.budget = $1 AND s.slot <= $2 AND s.used_at <= clock.now - make_interval(secs => $4::float8)
    ORDER BY s.used_at, s.slot LIMIT 1
    FOR UPDATE OF s SKIP LOCKED
),
taken AS (
    UPDATE submit_slots s SET used_at = clock.now FROM pick, clock
    WHERE s.budget = $1 AND s.slot = pick.slot RETURNING s.slot
)
SELECT (SELECT slot FROM taken) AS slot,
       (SELECT extract(epoch FROM min(s.used_at) + make_interval(secs => $4::float8) - clock.now)::float8
        FROM submit_slots s WHERE s.budget = $1 AND s.slot <= $2) AS wait
FROM clock
"""
HOLD = """
WITH clock AS (SELECT coalesce($3::timestamptz, clock_timestamp()) AS now),
locked AS (SELECT slot FROM submit_slots WHERE budget = $1 AND slot <= $2 ORDER BY slot FOR UPDATE)
UPDATE submit_slots s
SET used_at = greatest(s.used_at, clock.now + make_interval(secs => $4::float8) - make_interval(secs => $5::float8))
FROM clock, locked WHERE s.budget = $1 AND s.slot = locked.slot
"""


class PgSubmitBudget:
    """``SubmitBudget`` over ``submit_slots``: at most ``limit`` takes in any ``span`` seconds."""

    def __init__(self, db: Database, *, limit: int, span: float, name: str = "kie", clock: Clock | None = None) -> None:
        if limit < 1 or span <= 0:
            raise ValueError("limit must be ≥ 1 and span positive")
        self._db, self._limit, self._span, self._name, self._clock = db, limit, span, name, clock
        self._ready = False

    async def take(self) -> float:
        async with self._db.connection() as conn:
            if not self._ready:
                await conn.execute(ENSURE_SLOTS, self._name, self._limit)
                self._ready = True
            row = await conn.fetchrow(TAKE, self._name, self._limit, self._now(), self._span)
        if row["slot"] is not None:
            return 0.0
        return max(float(row["wait"] or 0.0), SHORTEST_WAIT)  # ≤ 0: a free row was being taken: ask again soon

    async def hold(self, seconds: float) -> None:
        async with self._db.connection() as conn:
            if not self._ready:
                await conn.execute(ENSURE_SLOTS, self._name, self._limit)
                self._ready = True
            await conn.execute(HOLD, self._name, self._limit, self._now(), max(seconds, 0.0), self._span)

    def _now(self):  # noqa: ANN202 - a datetime or None (the database's clock)
        return self._clock.now() if self._clock is not None else None


NOW = "coalesce($1::float8, extract(epoch FROM clock_timestamp())::float8)"
STEP = "CASE WHEN g.slow_until > clock.now THEN {interval} * %d ELSE {interval} END" % SLOW_FACTOR
ENSURE_OVERALL = "INSERT INTO send_pace (key, tat) VALUES ('overall', 0) ON CONFLICT (key) DO NOTHING"
# $1 now (or NULL), $2 chat key, $3 chat interval, $4 chat tolerance, $5 overall interval, $6 bulk, $7 lookahead
RESERVE = f"""
WITH clock AS (SELECT {NOW} AS now),
chat AS (
    INSERT INTO send_pace AS p (key, tat) SELECT $2, clock.now + $3::float8 FROM clock
    ON CONFLICT (key) DO UPDATE SET tat = greatest(p.tat, EXCLUDED.tat - $3::float8) + $3::float8
    RETURNING p.tat
),
overall AS (
    UPDATE send_pace AS g SET tat = greatest(g.tat, clock.now) + {STEP.format(interval="$5::float8")}
    FROM chat, clock
    WHERE g.key = 'overall' AND chat.tat - $3::float8 - $4::float8 <= clock.now + {EPSILON}
      AND (NOT $6::bool OR greatest(g.tat, clock.now) <= clock.now + $7::float8)
    RETURNING g.tat - {STEP.format(interval="$5::float8")} AS slot_at
)
SELECT chat.tat - $3::float8 - $4::float8 - clock.now AS chat_wait, overall.slot_at - clock.now AS overall_wait,
       (SELECT g.tat FROM send_pace g WHERE g.key = 'overall') - clock.now AS overall_ahead
FROM chat CROSS JOIN clock LEFT JOIN overall ON true
"""
# $1 now, $2 interval, $3 bulk, $4 lookahead
OVERALL = f"""
WITH clock AS (SELECT {NOW} AS now),
overall AS (
    UPDATE send_pace AS g SET tat = greatest(g.tat, clock.now) + {STEP.format(interval="$2::float8")}
    FROM clock
    WHERE g.key = 'overall' AND (NOT $3::bool OR greatest(g.tat, clock.now) <= clock.now + $4::float8)
    RETURNING g.tat - {STEP.format(interval="$2::float8")} AS slot_at
)
SELECT overall.slot_at - clock.now AS overall_wait,
       (SELECT g.tat FROM send_pace g WHERE g.key = 'overall') - clock.now AS overall_ahead
FROM clock LEFT JOIN overall ON true
"""
# $1 now, $2 chat key, $3 seconds, $4 chat tolerance
DEFER = f"""
WITH clock AS (SELECT {NOW} AS now),
chat AS (
    INSERT INTO send_pace AS p (key, tat) SELECT $2, clock.now + $3::float8 + $4::float8 FROM clock
    ON CONFLICT (key) DO UPDATE SET tat = greatest(p.tat, EXCLUDED.tat) RETURNING 1
)
UPDATE send_pace g SET slow_until = greatest(g.slow_until, clock.now + $3::float8)
FROM clock WHERE g.key = 'overall'
"""
PRUNE = f"DELETE FROM send_pace WHERE key <> 'overall' AND tat < {NOW} - $2::float8"


class PgSendPace:
    """``SendPace`` over ``send_pace``: usually one round trip per send (chat and overall slot together)."""

    def __init__(self, db: Database, settings: PaceSettings, clock: Clock | None = None) -> None:
        self._db, self._settings, self._clock = db, settings, clock
        self._ready = False
        self._reserves = 0

    async def reserve(self, chat_id: int, *, bulk: bool = False) -> PaceGrant:
        s = self._settings
        async with self._db.connection() as conn:
            await self._ensure(conn)
            row = await conn.fetchrow(RESERVE, self._now(), f"chat:{chat_id}", s.per_chat_interval,
                                      s.chat_tolerance, s.interval, bulk, s.bulk_lookahead)
            self._reserves += 1
            if self._reserves % PRUNE_EVERY == 0:
                await conn.execute(PRUNE, self._now(), IDLE_CHAT)
        chat_wait = float(row["chat_wait"])
        if chat_wait > EPSILON:
            return PaceGrant(False, chat_wait)
        return self._grant(row["overall_wait"], row["overall_ahead"], bulk)

    async def overall(self, *, bulk: bool = False) -> PaceGrant:
        s = self._settings
        async with self._db.connection() as conn:
            await self._ensure(conn)
            row = await conn.fetchrow(OVERALL, self._now(), s.interval, bulk, s.bulk_lookahead)
        return self._grant(row["overall_wait"], row["overall_ahead"], bulk)

    async def defer(self, chat_id: int, seconds: float) -> None:
        async with self._db.connection() as conn:
            await self._ensure(conn)
            await conn.execute(DEFER, self._now(), f"chat:{chat_id}", max(seconds, 0.0), self._settings.chat_tolerance)

    def _grant(self, overall_wait: float | None, ahead: float | None, bulk: bool) -> PaceGrant:
        s = self._settings
        if overall_wait is not None:  # taken: interactive sends may use the burst tolerance
            wait = float(overall_wait) if bulk else float(overall_wait) - s.tolerance
            return PaceGrant(True, max(wait, 0.0))
        return PaceGrant(False, max(float(ahead or 0.0) - s.bulk_lookahead, SHORTEST_WAIT))

    async def _ensure(self, conn) -> None:  # noqa: ANN001 - an asyncpg connection
        if not self._ready:
            await conn.execute(ENSURE_OVERALL)
            self._ready = True

    def _now(self) -> float | None:
        return self._clock.now().timestamp() if self._clock is not None else None
