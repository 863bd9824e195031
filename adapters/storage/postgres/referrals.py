"""ports.billing.Referrals on PostgreSQL: 0001's ``referrals`` table (``user_id`` is the invitee).

- link: one ``INSERT ... SELECT ... ON CONFLICT (user_id) DO NOTHING`` that inserts only when both users exist
  and differ: once per invitee, whoever links at the same time.
- reward: one transaction with a compare-and-set ``UPDATE ... WHERE rewarded_at IS NULL`` (of two racing
  rewards one wins, the other waits on the row lock, then misses) and both credits (money.move, keys
  ``ref:<invitee>:inviter`` / ``ref:<invitee>:invitee``), made in ascending user id so that two rewards
  touching the same two users always lock them in the same order.
"""

from __future__ import annotations

from datetime import datetime

from adapters.storage import billing_checks as checks
from adapters.storage.postgres import codec
from adapters.storage.postgres.db import Database
from adapters.storage.postgres.money import move
from ports.billing import ReferralStats

LINK = (
    "INSERT INTO referrals (user_id, referrer_id, created_at) SELECT $1::bigint, $2::bigint, $3::timestamptz "
    "WHERE $1 <> $2 AND EXISTS (SELECT 1 FROM users WHERE id = $1) AND EXISTS (SELECT 1 FROM users WHERE id = $2) "
    "ON CONFLICT (user_id) DO NOTHING"
)
REWARD = (
    "UPDATE referrals SET rewarded_at = $2, inviter_bonus = $3, invitee_bonus = $4 "
    "WHERE user_id = $1 AND rewarded_at IS NULL RETURNING referrer_id"
)
STATS = (
    "SELECT count(*) AS invited, count(rewarded_at) AS rewarded, "
    "coalesce(sum(inviter_bonus) FILTER (WHERE rewarded_at IS NOT NULL), 0)::bigint AS earned "
    "FROM referrals WHERE referrer_id = $1"
)


class PostgresReferrals:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def link(self, invitee_id: int, inviter_id: int, now: datetime) -> bool:
        invitee_id, inviter_id, now = codec.user_id(invitee_id), codec.user_id(inviter_id), codec.aware(now)
        async with self._db.connection() as conn:
            status = await conn.execute(LINK, invitee_id, inviter_id, now)
        return status == "INSERT 0 1"

    async def reward(self, invitee_id: int, inviter_bonus: int, invitee_bonus: int, now: datetime) -> int | None:
        invitee_id, now = codec.user_id(invitee_id), codec.aware(now)
        bonuses = checks.bonus(inviter_bonus, "inviter_bonus"), checks.bonus(invitee_bonus, "invitee_bonus")
        async with self._db.transaction() as conn:
            inviter_id = await conn.fetchval(REWARD, invitee_id, now, *bonuses)
            if inviter_id is None:
                return None
            credits = sorted([(inviter_id, bonuses[0], "inviter"), (invitee_id, bonuses[1], "invitee")])
            for user_id, amount, side in credits:
                if amount > 0:
                    await move(conn, user_id, amount, f"ref:{invitee_id}:{side}", "referral", now)
        return inviter_id

    async def stats(self, inviter_id: int) -> ReferralStats:
        async with self._db.connection() as conn:
            row = await conn.fetchrow(STATS, codec.user_id(inviter_id))
        return ReferralStats(invited=row["invited"], rewarded=row["rewarded"], earned=row["earned"])
