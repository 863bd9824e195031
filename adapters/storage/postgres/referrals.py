"""ports.billing.Referrals on PostgreSQL, as read: 0001's ``referrals`` table (``user_id`` is the invitee).
Links and rewards are written in a unit of work (uow.py), as the core decides (core/cashier.py)."""

from __future__ import annotations

from adapters.storage.postgres import codec
from adapters.storage.postgres.db import Database
from ports.billing import ReferralStats

STATS = (
    "SELECT count(*) AS invited, count(rewarded_at) AS rewarded, "
    "coalesce(sum(inviter_bonus) FILTER (WHERE rewarded_at IS NOT NULL), 0)::bigint AS earned "
    "FROM referrals WHERE referrer_id = $1"
)


class PostgresReferrals:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def stats(self, inviter_id: int) -> ReferralStats:
        async with self._db.connection() as conn:
            row = await conn.fetchrow(STATS, codec.user_id(inviter_id))
        return ReferralStats(invited=row["invited"], rewarded=row["rewarded"], earned=row["earned"])
