"""ports.admin.Stats on PostgreSQL: aggregates over users, jobs, payments and manual_topups, read in one
REPEATABLE READ read-only transaction so that every number comes from the same snapshot.

A window of ``d`` days is ``(now - d days, now]``; model ids tie-break in code point order (``COLLATE "C"``),
as the JSON storage sorts them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from adapters.storage import checks
from adapters.storage.postgres import codec
from adapters.storage.postgres.db import Database
from ports.admin import ModelCosts, Revenue, StatsSummary

USERS_TOTAL = "SELECT count(*) FROM users"
USERS_ACTIVE = "SELECT count(*) FROM users WHERE last_seen_at > $1 AND last_seen_at <= $2"
JOBS_BY_STATE = 'SELECT state, count(*) AS jobs FROM jobs GROUP BY state ORDER BY state COLLATE "C"'
TOP_MODELS = (
    'SELECT model_id, count(*) AS jobs FROM jobs GROUP BY model_id ORDER BY jobs DESC, model_id COLLATE "C" LIMIT $1'
)
STARS_IN = (
    "SELECT coalesce(sum(amount), 0)::bigint AS amount, coalesce(sum(stars), 0)::bigint AS stars, count(*) AS n "
    "FROM payments WHERE refunded_at IS NULL AND created_at > $1 AND created_at <= $2"
)
MANUAL_IN = (
    "SELECT coalesce(sum(amount), 0)::bigint AS amount, count(*) AS n FROM manual_topups "
    "WHERE state = 'approved' AND decided_at > $1 AND decided_at <= $2"
)
COSTS = (
    "SELECT model_id, count(*) AS jobs, coalesce(sum(price), 0)::bigint AS paid, count(cost_credits) AS costed, "
    "coalesce(sum(cost_credits), 0)::text AS credits, "
    "coalesce(sum(price) FILTER (WHERE cost_credits IS NOT NULL), 0)::bigint AS paid_costed "
    "FROM jobs WHERE state = 'delivered' AND created_at >= $1 "
    'GROUP BY model_id ORDER BY paid DESC, model_id COLLATE "C"'
)
REFUNDS = "SELECT count(*) AS jobs, coalesce(sum(price), 0)::bigint AS amount FROM jobs WHERE state = 'refunded'"


class PostgresStats:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def summary(self, now: datetime, top: int = 5) -> StatsSummary:
        now, top = codec.aware(now), checks.count(top, "top")
        since = {days: now - timedelta(days=days) for days in checks.STATS_DAYS}
        async with self._db.connection() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            users_total = await conn.fetchval(USERS_TOTAL)
            active = {days: await conn.fetchval(USERS_ACTIVE, start, now) for days, start in since.items()}
            states = {row["state"]: row["jobs"] for row in await conn.fetch(JOBS_BY_STATE)}  # those with jobs
            top_models = tuple((row["model_id"], row["jobs"]) for row in await conn.fetch(TOP_MODELS, top))
            revenue = {}
            for days, start in since.items():
                stars = await conn.fetchrow(STARS_IN, start, now)
                manual = await conn.fetchrow(MANUAL_IN, start, now)
                revenue[days] = Revenue(
                    amount=stars["amount"] + manual["amount"], stars=stars["stars"], payments=stars["n"] + manual["n"]
                )
            refunds = await conn.fetchrow(REFUNDS)
        return StatsSummary(
            users_total=users_total,
            users_active=active,
            jobs_by_state=states,
            top_models=top_models,
            revenue=revenue,
            refunds=refunds["jobs"],
            refunded_amount=refunds["amount"],
        )

    async def costs(self, since: datetime) -> list[ModelCosts]:
        async with self._db.connection() as conn:
            rows = await conn.fetch(COSTS, codec.aware(since))
        return [
            ModelCosts(row["model_id"], row["jobs"], row["paid"], row["costed"], Decimal(row["credits"]),
                       row["paid_costed"])
            for row in rows
        ]
